import { expect } from 'chai';
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { startCluster } from '../../src/localcluster/backend.js';
import { repoRoot } from '../../src/localcluster/paths.js';
import { versions } from '../../src/localcluster/versions.js';
import { localControlPlane, skipWithoutBackend } from '../support/cluster.js';
import { alive } from '../../src/localcluster/pidfile.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);

async function waitGone(pids: number[], ms = 10_000): Promise<void> {
  await waitFor(
    () => `processes to exit (still alive: ${pids.filter(alive).join(', ')})`,
    () => pids.filter(alive).length === 0,
    ms,
  );
}

/** Starts test/fixtures/controlplane-child.ts and resolves with what it printed once its control plane is up. */
function startChild(mode: 'wait' | 'crash') {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'fixtures', 'controlplane-child.ts'), mode], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((r) =>
    child.once('exit', (code) => {
      r(code);
    }),
  );
  const info = new Promise<{ pids: number[]; dir: string }>((resolve, reject) => {
    let out = '';
    let errText = '';
    child.stderr.on('data', (c: Buffer) => (errText += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line) as { pids: number[]; dir: string });
    });
    void exited.then(() => {
      reject(new Error(`child exited before start-up: ${errText}`));
    });
  });
  return { child, info, exited };
}

describe('integration: local control plane harness', function () {
  this.timeout(180_000);
  before(skipWithoutBackend);

  it('reports the pinned Kubernetes version on /version', async function () {
    const local = await localControlPlane(this); // only meaningful for the binaries we build
    expect(local.serverVersion).to.equal(versions().K8S_VERSION);
  });

  it('removes processes and temp dir on Ctrl-C (SIGINT)', async () => {
    const { child, info, exited } = startChild('wait');
    const { pids, dir } = await info;
    expect(pids).to.have.length(2);
    expect(
      pids.filter((p) => !alive(p)),
      'control-plane processes not running',
    ).to.deep.equal([]);
    expect(existsSync(dir)).to.equal(true);
    child.kill('SIGINT');
    expect(await exited).to.equal(130);
    await waitGone(pids);
    expect(pids.filter(alive)).to.deep.equal([]);
    expect(existsSync(dir)).to.equal(false);
  });

  it('removes processes and temp dir when the test process crashes', async () => {
    const { info, exited } = startChild('crash');
    const { pids, dir } = await info;
    expect(await exited).to.not.equal(0);
    await waitGone(pids);
    expect(pids.filter(alive)).to.deep.equal([]);
    expect(existsSync(dir)).to.equal(false);
  });

  it('keeps data across a kube-apiserver restart and clients reconnect', async function () {
    const local = await localControlPlane(this);
    const core = local.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'survives-restart' } } });
    await local.restartApiServer();
    const got = await core.readNamespace({ name: 'survives-restart' });
    expect(got.metadata?.name).to.equal('survives-restart');
  });

  it(`serves Kueue ${versions().KUEUE_LEGACY_VERSION} CRDs as v1beta1 only (what Kaiwo v0.1.x speaks)`, async () => {
    const legacy = await startCluster({ backend: 'local', kueueVersion: versions().KUEUE_LEGACY_VERSION });
    try {
      const custom = legacy.kubeConfig().makeApiClient(CustomObjectsApi);
      const cq = { group: 'kueue.x-k8s.io', plural: 'clusterqueues' };
      await custom.createClusterCustomObject({
        ...cq,
        version: 'v1beta1',
        body: {
          apiVersion: 'kueue.x-k8s.io/v1beta1',
          kind: 'ClusterQueue',
          metadata: { name: 'kaiwo' },
          spec: { cohort: 'kaiwo', namespaceSelector: {} },
        },
      });
      const got = (await custom.getClusterCustomObject({ ...cq, version: 'v1beta1', name: 'kaiwo' })) as { spec: { cohort: string } };
      expect(got.spec.cohort).to.equal('kaiwo');
      let code = 0;
      try {
        await custom.getClusterCustomObject({ ...cq, version: 'v1beta2', name: 'kaiwo' });
      } catch (err) {
        code = (err as { code: number }).code;
      }
      expect(code).to.equal(404);
    } finally {
      await legacy.stop();
    }
  });
});

describe('integration: make cluster-up / cluster-down', function () {
  this.timeout(180_000);
  const stateDir = mkdtempSync(join(tmpdir(), 'kaiwo-monitor-cluster-test-'));
  const env = { ...process.env, KAIWO_MONITOR_CLUSTER_DIR: stateDir };
  const make = (target: string) => run('make', ['--no-print-directory', target], { cwd: repoRoot, env });

  after(async () => {
    await make('cluster-down').catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('starts in the background, prints a working kubeconfig, refuses a second start, and stops', async () => {
    const first = await make('cluster-up');
    const kubeconfig = first.stdout.trim().split('\n').pop() ?? '';
    expect(kubeconfig).to.equal(join(stateDir, 'data', 'kubeconfig'));
    const ns = await run('kubectl', ['get', 'ns', 'kube-system', '-o', 'name'], { env: { ...env, KUBECONFIG: kubeconfig } });
    expect(ns.stdout.trim()).to.equal('namespace/kube-system');
    const crds = await run('kubectl', ['get', 'crd', 'workloads.kueue.x-k8s.io', 'kaiwojobs.kaiwo.silogen.ai', '-o', 'name'], {
      env: { ...env, KUBECONFIG: kubeconfig },
    });
    expect(crds.stdout.trim().split('\n')).to.have.length(2);

    const second = await make('cluster-up');
    expect(second.stderr).to.include('already running');
    expect(second.stdout.trim().split('\n').pop()).to.equal(kubeconfig);

    const down = await make('cluster-down');
    expect(down.stdout).to.include('stopped');
    const status = await make('cluster-status').then(
      () => 0,
      (e: unknown) => (e as { code: number }).code,
    );
    expect(status).to.not.equal(0);
  });
});
