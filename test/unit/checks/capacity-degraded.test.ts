import { expect } from 'chai';
import { applyDefaults } from '../../../src/api/defaults.js';
import { capacityCheck } from '../../../src/checks/capacity.js';
import { PENDING_PODS_SELECTOR, slimPendingPod, unplacedPod } from '../../../src/checks/pending-pods.js';
import { checksFor, type KaiwoMonitorSpec, specSchema } from '../../../src/checks/registry.js';
import type { SourceSpec, SourceView } from '../../../src/checks/types.js';
import { runChecks } from '../../../src/controller/evaluate.js';
import type { KubeObject } from '../../../src/runtime/objects.js';
import { clusterQueue, flavor, node, pendingPod, workload } from '../../support/capacity-fixtures.js';
import { cq, finding, POOL, reasons, run, world } from '../../support/capacity-world.js';
import { NOW, view } from '../../support/fixtures.js';

// gpu-1's device plugin marks its 8 GPUs unhealthy while both Workloads are admitted (16 of 16 reserved).
const lostNodes = [node('gpu-0', { labels: POOL }), node('gpu-1', { labels: POOL, allocatable: 0 })];
const admitted = (name: string, podsReady?: boolean, namespace = 'ml') =>
  workload(namespace, name, { admittedTo: 'team', flavor: 'mi300x', ...(podsReady !== undefined ? { podsReady } : {}) });
const degraded = (wls: KubeObject[], pods: KubeObject[] | SourceView = []) =>
  run(world({ nodes: lostNodes, cqs: [cq('team', 16, 16)], wls, pods }));
const row = (r: ReturnType<typeof run>) => r.summary?.table?.rows[0];
const FORBIDDEN: SourceView = {
  state: 'pending',
  objects: [],
  error: 'HTTP 403: pods is forbidden: User "system:serviceaccount:kaiwo:kaiwo-monitor" cannot list resource "pods"',
};
const RESERVED = 'ResourceFlavor mi300x: 16 amd.com/gpu reserved by admitted Workloads (ClusterQueue team) but only 8 healthy';
const LOST =
  'while 8 GPUs are lost on gpu-1 (8 of 8 unhealthy); nothing waits for them now, but the quota this work frees when it ends admits work ' +
  'that cannot start until the nodes are serviced';

describe('check: capacity when admitted work sits on lost GPUs (unbound pending pods, PodsReady)', () => {
  it('RunningOnDegradedCapacity without PodsReady (Kueue v0.12, waitForPodsReady off): no pod the scheduler cannot place, so the work runs — a Warning', () => {
    const r = degraded(
      [admitted('a'), admitted('b')],
      [pendingPod('ml', 'cpu-only-x', { gpus: 0 }), pendingPod('other', 'web-0', { resource: 'example.com/foo' })],
    );
    expect(r).to.include({ status: 'True', reason: 'CapacityHealthy' });
    expect(reasons(r)).to.deep.equal(['Warning:RunningOnDegradedCapacity']);
    const f = finding(r, 'RunningOnDegradedCapacity');
    expect(f?.object).to.deep.include({ kind: 'ResourceFlavor', name: 'mi300x' });
    expect(f?.message).to.equal(`${RESERVED}: its admitted Workloads run (none has a pod the scheduler cannot place): ml/a, ml/b, ${LOST}`);
    expect(row(r)?.[8]).to.equal('degraded');
  });

  it('PendingOnLostCapacity (Critical) when a pod of admitted work on the flavor is Unschedulable: names the pod and what the scheduler said', () => {
    const pod = pendingPod('ml', 'b-x7k2p', { nodeSelector: { ...POOL, 'kubernetes.io/arch': 'amd64' } });
    const r = degraded([admitted('a'), admitted('b')], [pod]);
    expect(r).to.include({ status: 'False', reason: 'PendingOnLostCapacity' });
    expect(r.message).to.equal(
      `${RESERVED}; 8 wait for the 8 GPUs lost on gpu-1 (8 of 8 unhealthy): a hardware problem, not quota; ` +
        'the scheduler cannot place 1 pod of admitted work (8 amd.com/gpu, Unschedulable): ml/b-x7k2p; the scheduler on ml/b-x7k2p: ' +
        '"0/2 nodes are available: 2 Insufficient amd.com/gpu."',
    ); // its preemption report left out
    expect(reasons(r)).to.deep.equal(['Critical:PendingOnLostCapacity']); // no Info: the pods tell
    expect(row(r)?.[8]).to.equal('lost GPUs');
    // Several: the GPUs they ask (at most what is reserved beyond the healthy ones wait), a bounded list of names.
    const many = degraded(
      [admitted('a'), admitted('b')],
      ['b-0', 'b-1', 'b-2', 'b-3', 'b-4'].map((n) => pendingPod('ml', n, { gpus: 2, nodeSelector: POOL })),
    );
    expect(many.message)
      .to.include('; 8 wait for the 8 GPUs lost')
      .and.include(
        'cannot place 5 pods of admitted work (10 amd.com/gpu, Unschedulable): ml/b-0, ml/b-1, ml/b-2 and 2 more; the scheduler on ml/b-0: "0/2',
      );
  });

  it('does not count an Unschedulable pod of another flavor, of a narrower flavor, of another resource or of a namespace without admitted work there', () => {
    const wls = [admitted('a'), admitted('b')];
    const other = pendingPod('ml', 'elsewhere-0', { nodeSelector: { pool: 'mi355x' } });
    const none = pendingPod('ml', 'no-selector-0');
    const nvidia = pendingPod('ml', 'nvidia-0', { resource: 'nvidia.com/gpu', nodeSelector: POOL });
    const stranger = pendingPod('web', 'stranger-0', { nodeSelector: POOL });
    expect(reasons(degraded(wls, [other, none, nvidia, stranger]))).to.deep.equal(['Warning:RunningOnDegradedCapacity']);
    // Flavors nested by their nodeLabels: a pod selecting the narrower one's labels was admitted to it.
    const flavors = [flavor('mi300x', POOL), flavor('mi300x-hbm', { ...POOL, hbm: '192' })];
    // gpu-2 is a node of both (16 of mi300x's 24 GPUs healthy, 24 reserved).
    const cqs = [
      clusterQueue('team', {
        flavors: [
          { name: 'mi300x', resources: [{ name: 'amd.com/gpu', nominal: 24 }] },
          { name: 'mi300x-hbm', resources: [{ name: 'amd.com/gpu', nominal: 8 }] },
        ],
        reserved: { mi300x: { 'amd.com/gpu': 24 } },
      }),
    ];
    const nodes = [...lostNodes, node('gpu-2', { labels: { ...POOL, hbm: '192' } })];
    const narrower = pendingPod('ml', 'hbm-0', { nodeSelector: { ...POOL, hbm: '192' } });
    const nested = run(world({ nodes, flavors, cqs, wls, pods: [narrower] }));
    expect(
      nested.findings
        .filter((x) => x.reason === 'RunningOnDegradedCapacity' || x.reason === 'PendingOnLostCapacity')
        .map((x) => `${x.severity}:${x.reason}`),
    ).to.deep.equal(['Warning:RunningOnDegradedCapacity']);
    const mine = run(world({ nodes, flavors, cqs, wls, pods: [pendingPod('ml', 'b-0', { nodeSelector: POOL })] }));
    expect(finding(mine, 'PendingOnLostCapacity')?.message).to.include('ml/b-0');
  });

  it('a SchedulingGated pod, or one the scheduler has not tried yet (just admitted), never makes it Critical by itself', () => {
    const gated = pendingPod('ml', 'b-gated', { nodeSelector: POOL, scheduled: 'SchedulingGated' });
    const fresh = pendingPod('ml', 'b-fresh', { nodeSelector: POOL, scheduled: 'none' });
    const r = degraded([admitted('a'), admitted('b')], [gated, fresh]);
    expect(reasons(r)).to.deep.equal(['Warning:RunningOnDegradedCapacity']);
  });

  it('with PodsReady (waitForPodsReady): all True says they run; not True without an Unschedulable pod is starting, not waiting; Unschedulable is Critical', () => {
    const ready = degraded([admitted('a', true), admitted('b', true)]);
    expect(finding(ready, 'RunningOnDegradedCapacity')?.message).to.equal(
      `${RESERVED}: its admitted Workloads run (PodsReady): ml/a, ml/b, ${LOST}`,
    );
    // ml/b pulls its image: PodsReady False (WaitForStart) for minutes, but its pod is placed — no wait for the lost GPUs.
    const starting = degraded([admitted('a', true), admitted('b', false)]);
    expect(reasons(starting)).to.deep.equal(['Warning:RunningOnDegradedCapacity']);
    expect(finding(starting, 'RunningOnDegradedCapacity')?.message).to.include(
      'run (none has a pod the scheduler cannot place): ml/a, ml/b (PodsReady not True yet: ml/b), while 8 GPUs',
    );
    const stuck = degraded([admitted('a', true), admitted('b', false)], [pendingPod('ml', 'b-0', { nodeSelector: POOL })]);
    expect(stuck).to.include({ status: 'False', reason: 'PendingOnLostCapacity' });
    expect(stuck.message).to.include('cannot place 1 pod of admitted work (8 amd.com/gpu, Unschedulable): ml/b-0');
  });

  it('counts on a flavor only the Workloads Kueue assigned to it (a ClusterQueue with two flavors of the same GPU)', () => {
    const nodes = [...lostNodes, node('gpu-2', { labels: { pool: 'mi355x' } })];
    const flavors = [flavor('mi300x', POOL), flavor('mi355x', { pool: 'mi355x' })];
    const cqs = [
      clusterQueue('team', {
        flavors: [
          { name: 'mi300x', resources: [{ name: 'amd.com/gpu', nominal: 16 }] },
          { name: 'mi355x', resources: [{ name: 'amd.com/gpu', nominal: 8 }] },
        ],
        reserved: { mi300x: { 'amd.com/gpu': 16 }, mi355x: { 'amd.com/gpu': 8 } },
      }),
    ];
    const wls = [admitted('a', true), admitted('b', true), workload('ml', 'c', { admittedTo: 'team', flavor: 'mi355x', podsReady: false })];
    const r = run(world({ nodes, flavors, cqs, wls, pods: [pendingPod('ml', 'c-0', { nodeSelector: { pool: 'mi355x' } })] }));
    expect(reasons(r)).to.deep.equal(['Warning:RunningOnDegradedCapacity']);
    expect(finding(r, 'RunningOnDegradedCapacity')?.message).to.include('run (PodsReady): ml/a, ml/b,');
  });

  it('a pending Workload that would fit if the lost GPUs were healthy stays Critical beside running work', () => {
    const nodes = [node('gpu-0', { labels: POOL }), node('gpu-1', { labels: POOL, allocatable: 0 }), node('gpu-2', { labels: POOL })];
    const r = run(
      world({ nodes, cqs: [cq('team', 24, 8)], wls: [admitted('a', true), workload('ml', 'p', { podSets: [{ count: 2, gpus: 8 }] })] }),
    );
    expect(r).to.include({ status: 'False', reason: 'PendingOnLostCapacity' });
    expect(r.message).to.include('ClusterQueue team, flavor mi300x: 1 pending Workload need 16 amd.com/gpu; 8 healthy GPUs free');
  });

  describe("when the pods cannot be read (the list is forbidden): Kueue's PodsReady, where Kueue writes it", () => {
    it('PodsReady True for all: the Warning; PodsReady False (or not written while Kueue tracks it): Critical, naming the Workloads', () => {
      expect(reasons(degraded([admitted('a', true), admitted('b', true)], FORBIDDEN))).to.deep.equal(['Warning:RunningOnDegradedCapacity']);
      const r = degraded([admitted('a', true), admitted('b', false)], FORBIDDEN);
      expect(r).to.include({ status: 'False', reason: 'PendingOnLostCapacity' });
      expect(r.message).to.equal(
        `${RESERVED}; 8 wait for the 8 GPUs lost on gpu-1 (8 of 8 unhealthy): a hardware problem, not quota; not running (PodsReady not True): ml/b`,
      );
      const fresh = degraded([admitted('a', true), admitted('b')], FORBIDDEN);
      expect(fresh.message).to.include('not running (PodsReady not True): ml/b');
      expect(reasons(fresh)).to.deep.equal(['Critical:PendingOnLostCapacity']);
    });

    it('neither signal: Critical as before, and an Info says why and what to grant', () => {
      const r = degraded([admitted('a'), admitted('b')], FORBIDDEN);
      expect(r).to.include({ status: 'False', reason: 'PendingOnLostCapacity' });
      expect(r.message).to.equal(`${RESERVED}; 8 wait for the 8 GPUs lost on gpu-1 (8 of 8 unhealthy): a hardware problem, not quota`);
      expect(reasons(r)).to.deep.equal(['Critical:PendingOnLostCapacity', 'Info:PendingPodsUnreadable']);
      expect(finding(r, 'PendingPodsUnreadable')?.message)
        .to.include('pending Pods cannot be read (HTTP 403: pods is forbidden')
        .and.include('waitForPodsReady')
        .and.include('grant list and watch on pods');
    });

    it('in the controller too (runChecks): a forbidden pods or KaiwoConfig list is not waited for, a forbidden Workload list is', () => {
      const spec = applyDefaults<KaiwoMonitorSpec>(specSchema, {
        operator: { enabled: false },
        kueue: { enabled: false },
        gpuNodes: { enabled: false },
        workloads: { enabled: false },
      });
      const checks = checksFor(spec as unknown as Record<string, unknown>).filter((c) => c.component === 'capacity');
      const data = world({ nodes: lostNodes, cqs: [cq('team', 16, 16)], wls: [admitted('a'), admitted('b')] });
      const forbidden = (plurals: string[]) => ({
        view: (s: SourceSpec): SourceView =>
          plurals.includes(s.plural)
            ? { ...FORBIDDEN, error: `HTTP 403: ${s.plural} is forbidden` }
            : (Object.values(data).find((v) => v.objects[0]?.kind === s.kind) ?? view([])),
      });
      const [outcome] = runChecks(checks, forbidden(['pods', 'kaiwoconfigs']), { view: () => ({ state: 'ok', history: [] }) }, NOW);
      expect(outcome?.pending).to.equal(undefined);
      expect(outcome?.result).to.include({ status: 'False', reason: 'PendingOnLostCapacity' });
      expect(outcome?.result?.findings.map((f) => f.reason)).to.include.members(['PendingPodsUnreadable', 'KaiwoConfigUnreadable']);
      expect(
        runChecks(checks, forbidden(['pods', 'workloads']), { view: () => ({ state: 'ok', history: [] }) }, NOW)[0]?.pending,
      ).to.deep.equal(['workloads']);
    });

    it('waits for the first list of the pods, but not when it fails; a pods list that fails later keeps its last objects', () => {
      expect(degraded([admitted('a')], view([], 'pending'))).to.include({ status: 'Unknown', reason: 'NotObserved' });
      expect(degraded([admitted('a')], view([], 'pending')).message).to.include('pendingPods');
      expect(degraded([admitted('a'), admitted('b')], FORBIDDEN).status).to.equal('False');
      const failing: SourceView = {
        state: 'failing',
        error: 'watch: connection reset',
        objects: [pendingPod('ml', 'b-0', { nodeSelector: POOL })],
      };
      expect(finding(degraded([admitted('a'), admitted('b')], failing), 'PendingOnLostCapacity')?.message).to.include('ml/b-0');
    });
  });

  it('reads the unbound pending pods through a source of its own (field selector, projection) with its RBAC rule', () => {
    const defaults = applyDefaults<KaiwoMonitorSpec>(specSchema, {});
    const src = capacityCheck.sources(defaults.capacity, {}).pendingPods;
    expect(src).to.include({ apiVersion: 'v1', plural: 'pods', kind: 'Pod', fieldSelector: 'status.phase=Pending,spec.nodeName=' });
    expect(src?.fieldSelector).to.equal(PENDING_PODS_SELECTOR);
    expect(src?.transform).to.equal(slimPendingPod);
    expect(
      capacityCheck.rbac.some(
        (r) => r.apiGroups?.includes('') && r.resources?.includes('pods') && r.verbs.includes('watch') && !r.resourceNames,
      ),
    ).to.equal(true);
  });
});

describe("pending pod projection (the capacity check's unbound pending pods)", () => {
  const at = '2026-06-01T00:00:00Z';
  const raw = (spec: unknown, status: unknown = { phase: 'Pending' }): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'p',
      namespace: 'ml',
      uid: 'u',
      resourceVersion: '7',
      creationTimestamp: at,
      labels: { a: 'b' },
      annotations: { big: 'x'.repeat(10_000) },
    },
    spec,
    status,
  });

  it('keeps the identity, per-pod extended requests, nodeSelector and PodScheduled; a pod without extended resources only its identity', () => {
    const slim = slimPendingPod(
      raw(
        {
          nodeSelector: { pool: 'mi300x', 'kubernetes.io/arch': 'amd64' },
          initContainers: [{ resources: { requests: { 'amd.com/gpu': '1' } } }],
          containers: [{ resources: { requests: { cpu: '4', 'amd.com/gpu': '4' } } }, { resources: { limits: { 'amd.com/gpu': '4' } } }],
          volumes: [{ name: 'v', emptyDir: {} }],
          tolerations: [{ operator: 'Exists' }],
        },
        {
          phase: 'Pending',
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: `0/9 nodes are available: ${'x'.repeat(500)}`,
              lastProbeTime: null,
              lastTransitionTime: at,
            },
          ],
        },
      ),
    );
    expect(slim.metadata).to.deep.equal({ name: 'p', namespace: 'ml', resourceVersion: '7', creationTimestamp: at });
    expect(slim.spec).to.deep.equal({ requests: { 'amd.com/gpu': 8 }, nodeSelector: { pool: 'mi300x', 'kubernetes.io/arch': 'amd64' } });
    const cond = (slim.status as { conditions: { message: string }[] }).conditions[0];
    expect(cond).to.deep.include({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' });
    expect(cond?.message).to.have.length(160);
    expect(JSON.stringify(slim).length).to.be.below(500); // 160 of them the message
    expect(unplacedPod(slim)).to.deep.include({ namespace: 'ml', name: 'p', requests: { 'amd.com/gpu': 8 } });
    // A gated pod keeps no message; a pod without extended resources keeps only its identity.
    const gated = slimPendingPod(
      raw(
        { containers: [{ resources: { requests: { 'amd.com/gpu': '1' } } }] },
        {
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'SchedulingGated',
              message: 'Scheduling is blocked due to non-empty scheduling gates',
            },
          ],
        },
      ),
    );
    expect(gated.status).to.deep.equal({ conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] });
    expect(unplacedPod(gated)).to.equal(undefined);
    expect(slimPendingPod(raw({ nodeSelector: { a: 'b' }, containers: [{ resources: { requests: { cpu: '1' } } }] }))).to.deep.equal({
      metadata: { name: 'p', namespace: 'ml', resourceVersion: '7', creationTimestamp: at },
    });
  });

  it('survives hostile shapes: no spec, wrong types, non-string or over-long selectors, huge requests, huge lists', () => {
    const unschedulable = { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] };
    for (const spec of [
      undefined,
      null,
      'garbage',
      7,
      [],
      { containers: 'all' },
      { containers: [null, 1, { resources: 'x' }, { resources: { requests: [] } }] },
    ]) {
      expect(slimPendingPod(raw(spec, unschedulable)).spec).to.equal(undefined);
    }
    for (const status of [
      undefined,
      null,
      'x',
      { conditions: 'x' },
      { conditions: [null, 3, { type: 'PodScheduled', status: 7, reason: { a: 1 }, message: ['m'] }] },
    ]) {
      const slim = slimPendingPod(raw({ containers: [{ resources: { requests: { 'amd.com/gpu': '1' } } }] }, status));
      expect(unplacedPod(slim)).to.equal(undefined);
    }
    const selector: Record<string, unknown> = { ok: 'yes', num: 7, obj: { a: 1 }, long: 'v'.repeat(64), ['k'.repeat(318)]: 'x' };
    for (let i = 0; i < 10_000; i++) selector[`s${i}`] = 'v';
    const slim = slimPendingPod(
      raw(
        {
          nodeSelector: selector,
          containers: [
            { resources: { requests: { 'amd.com/gpu': '1e300', 'nvidia.com/gpu': 'Infinity', 'x.com/neg': '-4', 'y.com/nan': 'NaN' } } },
            { resources: { requests: { 'amd.com/gpu': '1e300' } } },
            ...Array.from({ length: 100 }, (_, i) => ({ resources: { requests: { [`r${i}.com/x`]: '1' } } })),
          ],
        },
        unschedulable,
      ),
    );
    const spec = slim.spec as { requests: Record<string, number>; nodeSelector: Record<string, string> };
    expect(spec.requests['amd.com/gpu']).to.equal(1_000_000);
    expect(Object.keys(spec.requests)).to.have.length(16);
    expect(spec.requests).to.not.have.property('x.com/neg');
    expect(Object.keys(spec.nodeSelector)).to.have.length(32);
    expect(spec.nodeSelector).to.include({ ok: 'yes' }).and.not.have.any.keys('num', 'obj', 'long', 'k'.repeat(318));
    expect(JSON.stringify(slim).length).to.be.below(1500);
    // Raw objects that skipped the projection are read defensively too.
    expect(
      unplacedPod({ metadata: { name: 'x' }, spec: { requests: { 'amd.com/gpu': '8' }, nodeSelector: 'pool' }, status: unschedulable }),
    ).to.deep.include({ nodeSelector: {} });
  });

  it('10,000 Unschedulable pods on a degraded flavor: one bounded message, evaluated quickly; huge requests stay finite', () => {
    const pods = Array.from({ length: 10_000 }, (_, i) =>
      pendingPod('ml', `b-${String(i).padStart(5, '0')}`, { nodeSelector: POOL, gpus: i === 0 ? '1e300' : 8 }),
    );
    const t0 = performance.now();
    const r = degraded([admitted('a'), admitted('b')], pods);
    expect(performance.now() - t0).to.be.below(2000);
    expect(r).to.include({ status: 'False', reason: 'PendingOnLostCapacity' });
    expect(r.message).to.include(
      'cannot place 10000 pods of admitted work (1079992 amd.com/gpu, Unschedulable): ml/b-00000, ml/b-00001, ml/b-00002 and 9997 more',
    );
    expect(r.message.length).to.be.below(1024);
    // None of them Unschedulable (just created): the Warning, and as quickly.
    const fresh = pods.map((p) => ({ ...p, status: {} }));
    expect(reasons(degraded([admitted('a'), admitted('b')], fresh))).to.deep.equal(['Warning:RunningOnDegradedCapacity']);
    // A healthy cluster does not look at them at all.
    expect(run(world({ cqs: [cq('team', 16, 8)], wls: [admitted('a')], pods })).findings).to.deep.equal([]);
  });
});
