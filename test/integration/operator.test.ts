import { expect } from 'chai';
import { applyDefaults } from '../../src/api/defaults.js';
import { CHECKS, specSchema } from '../../src/checks/registry.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Cluster } from '../../src/localcluster/backend.js';
import { rawJson } from '../../src/runtime/rawrequest.js';
import { watchOnce } from '../../src/runtime/watch.js';
import { localControlPlane, sharedCluster, skipWithoutBackend, uniqueName } from '../support/cluster.js';
import { Monitors } from '../support/fakes/monitors.js';
import { OperatorProcess } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);

interface CoreEvent {
  reason: string;
  type: string;
  message: string;
  action?: string;
  involvedObject: { name: string };
  series?: { count: number };
}

async function eventsFor(kc: KubeConfig, name: string, reason?: string): Promise<CoreEvent[]> {
  const sel = `involvedObject.name=${name}${reason ? `,reason=${reason}` : ''}`;
  const list = await rawJson<{ items: CoreEvent[] }>(kc, {
    method: 'GET',
    path: `/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent(sel)}`,
  });
  return list.items;
}

describe('integration: KaiwoMonitor operator', function () {
  this.timeout(120_000);
  before(skipWithoutBackend);
  let cluster: Cluster;
  let kc: KubeConfig;
  let monitors: Monitors;
  let op: OperatorProcess;
  const created: string[] = [];
  const create = async (name: string, spec: unknown = {}) => {
    created.push(name);
    return monitors.create(name, spec);
  };

  /**
   * One key is never reconciled twice at once, so once `generation` (a harmless spec change made here) is
   * observed, every earlier reconcile of the monitor has finished, Events included.
   */
  const reconciledPast = async (name: string, generation: number) => {
    await monitors.patchSpec(name, { interval: `${40 + generation}s` });
    await waitFor(`generation ${generation} observed`, async () => (await monitors.get(name)).status?.observedGeneration === generation);
  };

  before(async () => {
    cluster = await sharedCluster();
    kc = cluster.kubeConfig();
    monitors = new Monitors(kc);
    op = await OperatorProcess.start(cluster.kubeconfigPath, [], { metrics: 'plain' });
    await op.waitForLog((l) => l.msg === 'serving');
  });

  after(async () => {
    await op.stop();
    for (const n of created) await monitors.delete(n);
  });

  it('writes Ready and every component condition as Unknown first, with observedGeneration, and follows spec changes', async () => {
    const name = uniqueName('first');
    const firstStatuses: string[] = [];
    // Record the first status ever written, before the operator can overwrite it.
    const seen = new AbortController();
    // A just-installed CRD's watch cache may answer 429 for a moment: wait until a short watch succeeds.
    await waitFor('watchable kaiwomonitors', async () => {
      await watchOnce(kc, '/apis/monitoring.kaiwo.silogen.ai/v1alpha1/kaiwomonitors?watch=1&timeoutSeconds=1', () => undefined, {
        idleMs: 5000,
        signal: new AbortController().signal,
      });
      return true;
    });
    const firstWrite = watchOnce(
      kc,
      `/apis/monitoring.kaiwo.silogen.ai/v1alpha1/kaiwomonitors?watch=1&fieldSelector=metadata.name=${name}`,
      (ev) => {
        const conds = (ev.object.status as { conditions?: { type: string; status: string; observedGeneration: number }[] } | undefined)
          ?.conditions;
        if (conds?.length && !firstStatuses.length) {
          firstStatuses.push(...conds.map((c) => `${c.type}=${c.status}@${c.observedGeneration}`));
          seen.abort();
        }
      },
      { idleMs: 30_000, signal: seen.signal },
    );
    await create(name);
    await firstWrite;
    // Every check enabled by default (from the registry), Unknown, and Reconciling=True until observed.
    const defaults = applyDefaults<Record<string, { enabled?: boolean }>>(specSchema, {});
    const enabledByDefault = CHECKS.filter((c) => defaults[c.component]?.enabled).map((c) => `${c.conditionType}=Unknown@1`);
    expect(enabledByDefault).to.include.members(['KaiwoOperatorHealthy=Unknown@1', 'KueueHealthy=Unknown@1', 'GPUNodesHealthy=Unknown@1']);
    expect(firstStatuses).to.deep.equal(['Ready=Unknown@1', 'Healthy=Unknown@1', 'Reconciling=True@1', ...enabledByDefault]);
    await waitFor('Ready=True', async () => (await monitors.condition(name, 'Ready'))?.status === 'True');
    const m = await monitors.get(name);
    // Ready=True means every enabled component was observed (whatever the shared cluster's health is).
    expect(m.status?.conditions?.filter((c) => c.reason === 'NotObserved' || c.reason === 'Observing')).to.deep.equal([]);

    await monitors.patchSpec(name, { kueue: { enabled: false } });
    const after = await waitFor('observedGeneration 2', async () => {
      const x = await monitors.get(name);
      return x.status?.observedGeneration === 2 ? x : undefined;
    });
    expect(after.metadata.generation).to.equal(2);
    expect(after.status?.conditions?.map((c) => c.type)).to.not.include('KueueHealthy');
    expect(
      after.status?.conditions?.filter((c) => c.observedGeneration !== 2).map((c) => `${c.type}@${c.observedGeneration ?? '-'}`),
      'conditions not at observedGeneration 2',
    ).to.deep.equal([]);
  });

  it('shows the printer columns in kubectl get, and LAST-CHECK/MESSAGE with -o wide', async () => {
    const name = uniqueName('cols');
    await create(name);
    await waitFor('Ready', async () => (await monitors.condition(name, 'Ready'))?.status === 'True');
    const env = { ...process.env, KUBECONFIG: cluster.kubeconfigPath };
    const plain = await run('kubectl', ['get', 'kaiwomonitors', name], { env });
    const header = ['NAME', 'READY', 'HEALTHY', ...CHECKS.map((c) => c.column.toUpperCase()), 'AGE'];
    expect(plain.stdout.split('\n')[0]?.split(/\s+/)).to.deep.equal(header);
    const wide = await run('kubectl', ['get', 'kmon', name, '-o', 'wide'], { env });
    expect(wide.stdout.split('\n')[0]?.split(/\s+/)).to.deep.equal([...header, 'LAST-CHECK', 'MESSAGE']);
    const m = await monitors.get(name);
    const st = (t: string) => m.status?.conditions?.find((c) => c.type === t)?.status ?? '';
    const row = wide.stdout.split('\n')[1]?.split(/\s{2,}/) ?? [];
    expect(row.slice(0, 3)).to.deep.equal([name, st('Ready'), st('Healthy')]);
    // Each component column: its condition's status, then the short summary (e.g. "True 1/1 available").
    const defaults = applyDefaults<Record<string, { enabled?: boolean }>>(specSchema, {});
    CHECKS.forEach((c, i) => {
      if (!defaults[c.component]?.enabled) return; // a disabled component's column is empty
      const text = row[3 + i] ?? '';
      expect(text.split(' ')[0], `${c.component} column`).to.equal(st(c.conditionType));
      expect(text).to.equal(m.status?.summary?.[c.component]?.display);
    });
    expect(row.at(-1)).to.equal(m.status?.conditions?.find((c) => c.type === 'Healthy')?.message);
    const byCategory = await run('kubectl', ['get', 'kaiwo', '-o', 'name'], { env });
    expect(byCategory.stdout).to.include(`kaiwomonitor.monitoring.kaiwo.silogen.ai/${name}`);
  });

  it('satisfies kubectl wait --for=condition=Ready', async () => {
    const name = uniqueName('wait');
    await create(name);
    const r = await run('kubectl', ['wait', `kaiwomonitor/${name}`, '--for=condition=Ready', '--timeout=30s'], {
      env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath },
    });
    expect(r.stdout).to.include('condition met');
  });

  it('rejects invalid specs with 422 naming the field, or reports Ready=False/InvalidSpec, and other monitors keep working', async () => {
    const bystander = uniqueName('bystander');
    await create(bystander);
    await waitFor('bystander Ready', async () => (await monitors.condition(bystander, 'Ready'))?.status === 'True');
    const rejected: [string, unknown, string][] = [
      ['interval not a duration', { interval: 'soon' }, 'spec.interval'],
      ['interval too short', { interval: '0s' }, 'spec.interval'],
      ['interval too long', { interval: '2h' }, 'spec.interval'],
      ['unknown enum', { operator: { metrics: { bearerToken: { source: 'Kerberos' } } } }, 'spec.operator.metrics.bearerToken.source'],
      ['metrics without url', { operator: { metrics: { enabled: true } } }, 'spec.operator.metrics'],
      ['url not http', { kueue: { metrics: { enabled: true, url: 'ftp://x' } } }, 'spec.kueue.metrics.url'],
      ['percent above 100', { gpuNodes: { minReadyPercent: 150 } }, 'spec.gpuNodes.minReadyPercent'],
      ['negative count', { kueue: { maxEvictions: -1 } }, 'spec.kueue.maxEvictions'],
      ['wrong type', { events: { enabled: 'yes' } }, 'spec.events.enabled'],
      ['bad namespace name', { operator: { namespace: 'Kaiwo_System' } }, 'spec.operator.namespace'],
      ['no way to find GPU nodes', { gpuNodes: { resourceNames: [] } }, 'spec.gpuNodes'],
      ['nothing enabled', Object.fromEntries(CHECKS.map((c) => [c.component, { enabled: false }])), 'spec'],
      ['secret source without ref', { kueue: { metrics: { bearerToken: { source: 'Secret' } } } }, 'spec.kueue.metrics.bearerToken'],
      [
        'caBundle with insecureSkipVerify',
        { operator: { metrics: { tls: { insecureSkipVerify: true, caBundle: 'x' } } } },
        'spec.operator.metrics.tls',
      ],
      [
        'In without values',
        { workloads: { namespaceSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } } },
        'spec.workloads.namespaceSelector.matchExpressions[0]',
      ],
      [
        'timeout above interval',
        { operator: { metrics: { enabled: true, url: 'https://x/metrics', interval: '5s', timeout: '10s' } } },
        'spec.operator.metrics',
      ],
      ['prometheus without url', { gpuNodes: { utilization: { enabled: true } } }, 'spec.gpuNodes.utilization'],
    ];
    for (const [what, spec, field] of rejected) {
      const r = await monitors.tryCreate(uniqueName('bad'), spec);
      expect(r.status, what).to.equal(422);
      const causes = (JSON.parse(r.body) as { details?: { causes?: { field?: string }[] } }).details?.causes ?? [];
      expect(
        causes.map((c) => c.field),
        what,
      ).to.include(field);
    }
    // Admission cannot check label syntax inside selector maps: the operator reports it on the object.
    const accepted: [unknown, string][] = [
      [{ kueue: { podSelector: { matchLabels: { 'bad key!': 'x' } } } }, 'spec.kueue.podSelector'],
      [{ gpuNodes: { nodeSelector: { matchLabels: { gpu: 'not valid!' } } } }, 'spec.gpuNodes.nodeSelector'],
      [
        { workloads: { namespaceSelector: { matchExpressions: [{ key: 'a/b/c', operator: 'Exists' }] } } },
        'spec.workloads.namespaceSelector',
      ],
    ];
    for (const [spec, field] of accepted) {
      const name = uniqueName('invalid');
      await create(name, spec);
      const ready = await waitFor(`InvalidSpec for ${field}`, async () => {
        const c = await monitors.condition(name, 'Ready');
        return c?.reason === 'InvalidSpec' ? c : undefined;
      });
      expect(ready.status).to.equal('False');
      expect(ready.message).to.include(field);
    }
    // The bystander still gets reconciled.
    await monitors.patchSpec(bystander, { workloads: { enabled: false } });
    await waitFor('bystander follows its spec', async () => (await monitors.get(bystander)).status?.observedGeneration === 2);
    expect((await monitors.condition(bystander, 'Ready'))?.status).to.equal('True');
    expect(op.exitCode).to.equal(null);
  });

  it('writes no status PATCH and re-runs no check while nothing changes, across 8 reconciles 2s apart', async function () {
    this.timeout(90_000);
    const name = uniqueName('quiet');
    // Scoped to objects no other suite touches, so "nothing changes" holds on the shared cluster.
    const none = { matchLabels: { 'kaiwo-monitor.dev/quiet': 'nothing' } };
    await create(name, {
      interval: '2s',
      operator: { namespace: 'quiet-none', queueConfigName: 'quiet-none', scheduler: { enabled: false } },
      kueue: { namespace: 'quiet-none', clusterQueueSelector: none, localQueueNamespaceSelector: none },
      workloads: { namespaceSelector: none },
      ...Object.fromEntries(
        CHECKS.filter((c) => !['operator', 'kueue', 'workloads'].includes(c.component)).map((c) => [c.component, { enabled: false }]),
      ),
    });
    const settled = await waitFor('all checks settled', async () => {
      const m = await monitors.get(name);
      const c = m.status?.conditions ?? [];
      const settledConditions = c.find((x) => x.type === 'Ready')?.status === 'True' && !c.some((x) => x.type === 'Reconciling');
      return settledConditions && c.every((x) => x.reason !== 'NotObserved' && x.reason !== 'Observing') ? m : undefined;
    });
    const lastCheck = () => op.metric('kaiwo_monitor_last_check_timestamp_seconds', { monitor: name });
    const patchesBefore = await op.metric('kaiwo_monitor_status_patches_total', { monitor: name });
    const firstCheck = await lastCheck();
    const components = ['operator', 'kueue', 'workloads'];
    const runs = () =>
      Promise.all(components.map((component) => op.metric('kaiwo_monitor_check_runs_total', { monitor: name, component })));
    const runsBefore = await runs();
    let modified = 0;
    const ctl = new AbortController();
    const watching = watchOnce(
      kc,
      `/apis/monitoring.kaiwo.silogen.ai/v1alpha1/kaiwomonitors?watch=1&fieldSelector=metadata.name=${name}&resourceVersion=${settled.metadata.resourceVersion ?? ''}`,
      (ev) => {
        if (ev.type === 'MODIFIED') modified++;
      },
      { idleMs: 60_000, signal: ctl.signal },
    );
    // Measured, not slept: count evaluations by the operator's last-check gauge, then look for writes.
    const checks = new Set<number>();
    await waitFor(
      '8 more evaluations',
      async () => {
        const t = await lastCheck();
        if (t !== undefined && t !== firstCheck) checks.add(t);
        return checks.size >= 8;
      },
      60_000,
      250,
    );
    ctl.abort();
    await watching;
    expect(modified, 'status PATCHes while nothing changed').to.equal(0);
    expect((await monitors.get(name)).metadata.resourceVersion).to.equal(settled.metadata.resourceVersion);
    expect(await op.metric('kaiwo_monitor_status_patches_total', { monitor: name })).to.equal(patchesBefore);
    // Nothing a check reads changed and no deadline came: every reconcile reused the last outcomes.
    expect(
      components.filter((_, i) => !((runsBefore[i] ?? 0) > 0)),
      'components whose checks had not run',
    ).to.deep.equal([]);
    expect(await runs(), 'checks re-run although nothing they read changed').to.deep.equal(runsBefore);
  });

  it('emits exactly one Event for a transition', async () => {
    const name = uniqueName('flip');
    await create(name);
    await waitFor('Ready', async () => (await monitors.condition(name, 'Ready'))?.status === 'True');
    await monitors.patchSpec(name, { kueue: { podSelector: { matchLabels: { 'no good!': 'x' } } } });
    await waitFor('InvalidSpec', async () => (await monitors.condition(name, 'Ready'))?.reason === 'InvalidSpec');
    // More reconciles of the same invalid state (a spec change that keeps it invalid) must not add Events.
    await monitors.patchSpec(name, { interval: '45s' });
    await waitFor('generation 3 observed', async () => (await monitors.get(name)).status?.observedGeneration === 3);
    await reconciledPast(name, 4);
    const events = await eventsFor(kc, name, 'InvalidSpec');
    expect(events).to.have.length(1);
    expect(events[0]).to.include({ type: 'Warning' });
    expect(events[0]?.message).to.include('spec.kueue.podSelector');
    await monitors.patchSpec(name, {
      kueue: { podSelector: { matchLabels: { 'no good!': null, 'control-plane': 'controller-manager' } } },
    });
    await waitFor('Ready again', async () => (await monitors.condition(name, 'Ready'))?.status === 'True');
    await reconciledPast(name, 6);
    expect(await eventsFor(kc, name, 'InvalidSpec')).to.have.length(1);
    // One Event per real change: Ready turning True on the first observation is not news, its recovery from
    // InvalidSpec is (one Event, no series).
    const reconciled = await eventsFor(kc, name, 'Reconciled');
    expect(reconciled).to.have.length(1);
    expect(reconciled[0]?.series).to.equal(undefined);
  });

  it('reconnects after a kube-apiserver restart and keeps working', async function () {
    const local = await localControlPlane(this); // needs control over the API server process
    const name = uniqueName('restart');
    await create(name);
    await waitFor('Ready', async () => (await monitors.condition(name, 'Ready'))?.status === 'True');
    await local.restartApiServer();
    await monitors.patchSpec(name, { gpuNodes: { enabled: false } });
    const m = await waitFor(
      'spec change after restart observed',
      async () => {
        const x = await monitors.get(name);
        return x.status?.observedGeneration === 2 ? x : undefined;
      },
      60_000,
    );
    expect(m.status?.conditions?.map((c) => c.type)).to.not.include('GPUNodesHealthy');
    expect(op.exitCode).to.equal(null);
  });
});
