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
