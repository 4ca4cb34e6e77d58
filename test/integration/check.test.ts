import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { KaiwoMonitorStatus } from '../../src/api/types.js';
import type { Cluster } from '../../src/localcluster/backend.js';
import { freePort } from '../../src/localcluster/ports.js';
import { SimulatedStack } from '../support/fakes/simulate.js';
import { kaiwoMonitor } from '../support/commands.js';
import { sharedCluster, skipWithoutBackend } from '../support/cluster.js';
import { Monitors } from '../support/fakes/monitors.js';
import { ApiProxy } from '../support/proxy.js';

const check = (args: string[], kubeconfig: string) => kaiwoMonitor(['check', `--kubeconfig=${kubeconfig}`, '--timeout=20s', ...args]);

describe('integration: kaiwo-monitor check (one-shot, nothing installed by it)', function () {
  this.timeout(120_000);
  before(skipWithoutBackend);
  let cluster: Cluster;
  let sim: SimulatedStack;
  let specFile: string;
  const dir = mkdtempSync(join(tmpdir(), 'kaiwo-monitor-check-'));

  before(async () => {
    cluster = await sharedCluster();
    sim = new SimulatedStack(cluster.kubeConfig(), { label: 'check', workloadNamespace: 'ml-check' });
    await sim.install();
    specFile = join(dir, 'monitor.yaml');
    writeFileSync(
      specFile,
      stringify({
        apiVersion: 'monitoring.kaiwo.silogen.ai/v1alpha1',
        kind: 'KaiwoMonitor',
        metadata: { name: 'x' },
        spec: sim.monitorSpec(),
      }),
    );
  });

  after(async () => {
    await sim.stop();
    await new Monitors(cluster.kubeConfig()).delete('check-by-name');
  });

  it('exits 0 and prints the conditions for a healthy stack', async () => {
    const r = await check(['-f', specFile, '-v'], cluster.kubeconfigPath);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^CONDITION\s+STATUS\s+REASON\s+MESSAGE/m);
    expect(r.stdout).to.match(/^Healthy\s+True\s+AllComponentsHealthy/m);
    expect(r.stderr, 'progress with -v').to.include('nodes:');
  });

  it('exits 1 and lists the finding for a broken stack', async () => {
    await sim.setClusterQueueActive(false);
    try {
      const r = await check(['-f', specFile], cluster.kubeconfigPath);
      expect(r.code).to.equal(1);
      expect(r.stdout).to.match(/^KueueHealthy\s+False\s+ClusterQueueInactive/m);
      expect(r.stdout).to.match(new RegExp(`Critical\\s+kueue\\s+ClusterQueueInactive\\s+clusterqueue/${sim.cq}`));
    } finally {
      await sim.setClusterQueueActive(true);
    }
  });

  it('prints JSON or YAML with -o, and reads the spec of an existing monitor by name', async () => {
    await new Monitors(cluster.kubeConfig()).create('check-by-name', sim.monitorSpec({ gpuNodes: { enabled: false } }));
    const r = await check(['check-by-name', '-o', 'json'], cluster.kubeconfigPath);
    expect(r.code, r.stderr).to.equal(0);
    const { kind, status } = JSON.parse(r.stdout) as { kind: string; status: KaiwoMonitorStatus };
    expect(kind).to.equal('KaiwoMonitor');
    expect(status.conditions?.map((c) => c.type)).to.not.include('GPUNodesHealthy');
    const y = await check(['-f', specFile, '-o', 'yaml'], cluster.kubeconfigPath);
    expect(y.stdout).to.match(/^kind: KaiwoMonitor$/m);
    expect(y.stdout).to.match(/^status:\n/m);
  });

  it("waits out a server's 'try again' on an optional source, and does without one it is refused", async () => {
    // Kueue's admission checks are optional (an older ClusterRole may not grant them). A CRD whose storage is being
    // re-initialized answers 429 for a moment: a one-shot must wait for it rather than report without it — or, as it
    // once did, hold the whole Kueue check in NotObserved and exit 2.
    const proxy = await ApiProxy.start(cluster.kubeConfig());
    try {
      const kubeconfig = join(dir, 'proxied');
      writeFileSync(kubeconfig, proxy.kubeConfig().exportConfig());
      const status = (code: number, message: string) =>
        JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, code });
      let busy = 3;
      proxy.answer = (_m, path) =>
        path.includes('/admissionchecks') && busy-- > 0 ? { status: 429, body: status(429, 'storage is (re)initializing') } : undefined;
      const waited = await check(['-f', specFile, '-v'], kubeconfig);
      expect(waited.code, waited.stderr).to.equal(0);
      expect(waited.stderr).to.match(/admissionChecks: \d+ listed/);
      expect(proxy.requests.filter((r) => r.path.includes('/admissionchecks') && r.status === 429)).to.have.length(3);

      proxy.answer = (_m, path) => (path.includes('/admissionchecks') ? { status: 403, body: status(403, 'forbidden') } : undefined);
      const without = await check(['-f', specFile, '-v'], kubeconfig);
      expect(without.code, without.stderr).to.equal(0);
      expect(without.stdout).to.match(/^KueueHealthy\s+True/m);
      expect(without.stderr).to.match(/admissionChecks: cannot be listed \(.*HTTP 403.*\), done without/);
    } finally {
      await proxy.stop();
    }
  });

  it('exits 2 when it cannot evaluate: unreachable cluster, invalid spec, bad flags', async () => {
    const port = await freePort();
    const bad = join(dir, 'unreachable');
    writeFileSync(
      bad,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'x',
        clusters: [{ name: 'x', cluster: { server: `https://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'x', user: { token: 't' } }],
        contexts: [{ name: 'x', context: { cluster: 'x', user: 'x' } }],
      }),
    );
    const unreachable = await check([], bad);
    expect(unreachable.code).to.equal(2);
    expect(unreachable.stderr).to.include('cannot connect');
    const invalidFile = join(dir, 'invalid.yaml');
    writeFileSync(invalidFile, 'spec:\n  kueue:\n    podSelector:\n      matchLabels:\n        "bad key!": x\n');
    const invalid = await check(['-f', invalidFile], cluster.kubeconfigPath);
    expect(invalid.code).to.equal(2);
    expect(invalid.stderr).to.include('spec.kueue.podSelector');
    const flag = await check(['-o', 'xml'], cluster.kubeconfigPath);
    expect(flag.code).to.equal(2);
    expect(flag.stderr.trim().split('\n')).to.have.length(1);
  });
});
