import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KaiwoMonitor } from '../../src/api/types.js';
import type { Cluster } from '../../src/localcluster/backend.js';
import { toolBinary } from '../../src/localcluster/binaries.js';
import { ARGOCD_HEALTH_FILE } from '../../hack/gen/generated.js';
import { Monitors } from '../support/fakes/monitors.js';
import { repoRoot } from '../../src/localcluster/paths.js';
import { MonitorRecorder } from '../support/fakes/scenarios.js';
import { SimulatedStack } from '../support/fakes/simulate.js';
import { sharedCluster, skipWithoutBackend } from '../support/cluster.js';
import { OperatorProcess } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

interface Verdict {
  kstatus: string;
  kstatusMessage: string;
  argo: { status: string; message: string };
}

/** kstatus (sigs.k8s.io/cli-utils) and the Argo CD health script (gopher-lua), as the GitOps tools compute them. */
function judge(tool: string, obj: unknown): Promise<Verdict> {
  return new Promise((resolve, reject) => {
    const child = execFile(tool, ['--lua', join(repoRoot, ARGOCD_HEALTH_FILE)], (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}: ${stderr}`));
      else resolve(JSON.parse(stdout) as Verdict);
    });
    child.stdin?.end(JSON.stringify(obj));
  });
}

const cond = (m: KaiwoMonitor, type: string) => m.status?.conditions?.find((c) => c.type === type);

describe('integration: GitOps tools read a KaiwoMonitor right in every phase (kstatus, Argo CD health)', function () {
  this.timeout(240_000);
  before(skipWithoutBackend);
  let cluster: Cluster;
  let kc: KubeConfig;
  let tool: string;
  let sim: SimulatedStack;
  let monitors: Monitors;
  let recorder: MonitorRecorder;
  let op: OperatorProcess | undefined;
  const name = 'gitops';

  before(async function () {
    this.timeout(600_000); // builds gitops-health on a cold cache
    cluster = await sharedCluster();
    kc = cluster.kubeConfig();
    tool = await toolBinary('gitops', 'gitops-health');
    sim = new SimulatedStack(kc, { label: 'gitops', workloadNamespace: 'ml-gitops' });
    await sim.install();
    monitors = new Monitors(kc);
    recorder = new MonitorRecorder(kc, name);
    recorder.start();
  });

  after(async () => {
    await op?.stop();
    await recorder.stop();
    await sim.stop();
    await monitors.delete(name);
  });

  const latest = () => monitors.get(name);
  /** The monitor once `pred` holds for it; on timeout, names the conditions it last had. */
  const reached = (what: string, pred: (m: KaiwoMonitor) => boolean, timeoutMs = 60_000): Promise<KaiwoMonitor> => {
    let last: KaiwoMonitor | undefined;
    return waitFor(
      () => `${what} (last conditions: ${JSON.stringify(last?.status?.conditions)})`,
      async () => {
        last = await latest();
        return pred(last) ? last : undefined;
      },
      timeoutMs,
    );
  };

  it('created, before the operator saw it: observedGeneration defaults to 0 → kstatus InProgress, Argo Progressing', async () => {
    await monitors.create(name, sim.monitorSpec({ gpuNodes: { enabled: false }, operator: { scheduler: { enabled: false } } }));
    const m = await latest();
    expect(m.status?.observedGeneration, 'the CRD defaults status.observedGeneration').to.equal(0);
    const v = await judge(tool, m);
    expect(v.kstatus).to.equal('InProgress');
    expect(v.argo.status).to.equal('Progressing');
  });

  it('observing (Reconciling=True until every component is evaluated) → InProgress / Progressing; healthy → Current / Healthy', async () => {
    op = await OperatorProcess.start(cluster.kubeconfigPath);
    const healthy = await reached('Ready and Healthy', (m) => cond(m, 'Ready')?.status === 'True' && cond(m, 'Healthy')?.status === 'True');
    const first = recorder.seen.find((s) => s.conditions.length > 0);
    expect(first, 'the first status the operator wrote was recorded').to.not.equal(undefined);
    expect(first?.conditions.find((c) => c.type === 'Reconciling')?.status).to.equal('True');
    const early = await judge(tool, first?.monitor);
    expect([early.kstatus, early.argo.status]).to.deep.equal(['InProgress', 'Progressing']);
    const v = await judge(tool, healthy);
    expect([v.kstatus, v.argo.status]).to.deep.equal(['Current', 'Healthy']);
  });

  it('faulted (Healthy=False) → Current (the monitor is reconciled) / Degraded, and back on recovery', async () => {
    await sim.setClusterQueueActive(false);
    const faulted = await reached('Healthy=False', (m) => cond(m, 'Healthy')?.status === 'False');
    const v = await judge(tool, faulted);
    expect([v.kstatus, v.argo.status]).to.deep.equal(['Current', 'Degraded']);
    expect(v.argo.message).to.contain('ClusterQueue');
    await sim.setClusterQueueActive(true);
    const healed = await reached('Healthy=True', (m) => cond(m, 'Healthy')?.status === 'True');
    expect((await judge(tool, healed)).argo.status).to.equal('Healthy');
  });

  it('invalid spec (Ready=False, Stalled=True) → kstatus Failed, Argo Degraded', async () => {
    await monitors.patchSpec(name, { kueue: { podSelector: { matchLabels: { 'not a label key!': 'x' } } } });
    const invalid = await reached(
      'InvalidSpec',
      (m) => cond(m, 'Ready')?.reason === 'InvalidSpec' && m.status?.observedGeneration === m.metadata.generation,
    );
    const v = await judge(tool, invalid);
    expect([v.kstatus, v.argo.status]).to.deep.equal(['Failed', 'Degraded']);
    expect(v.argo.message).to.contain('InvalidSpec');
    await monitors.patchSpec(name, { kueue: { podSelector: { matchLabels: { 'not a label key!': null } } } });
    await reached('valid again', (m) => cond(m, 'Ready')?.status === 'True' && cond(m, 'Stalled') === undefined);
  });

  it('a component it cannot vouch for (Healthy=Unknown after observing) → Current / Degraded, never Progressing forever', async () => {
    await monitors.patchSpec(name, { gpuNodes: { enabled: true, resourceNames: ['example.com/no-such-gpu'] } });
    const unknown = await reached(
      'GPUNodesHealthy=Unknown/NoGPUNodes',
      (m) => cond(m, 'GPUNodesHealthy')?.reason === 'NoGPUNodes' && cond(m, 'Ready')?.status === 'True',
    );
    expect(cond(unknown, 'Healthy')?.status).to.equal('Unknown');
    const v = await judge(tool, unknown);
    expect([v.kstatus, v.argo.status]).to.deep.equal(['Current', 'Degraded']);
    expect(v.argo.message).to.contain('GPU nodes');
  });
});
