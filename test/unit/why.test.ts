import { expect } from 'chai';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeObject } from '../../src/runtime/objects.js';
import { repoRoot } from '../../src/localcluster/paths.js';
import { capacityFor } from '../../src/why/capacity.js';
import { explain } from '../../src/why/explain.js';
import { parseTarget, WhyError } from '../../src/why/gather.js';
import { byQueueOrder, computedPosition, ordinal, pendingEntry } from '../../src/why/position.js';
import { namedTaints } from '../../src/why/pods.js';
import { renderJson, renderText } from '../../src/why/render.js';
import type { Position, WhySnapshot } from '../../src/why/types.js';
import { clusterQueue, flavor, localQueue, node, workload } from '../support/capacity-fixtures.js';
import { ago, NOW } from '../support/fixtures.js';

const GOLDEN = join(repoRoot, 'test', 'golden', 'why');
const POOL = { 'kaiwo/nodepool': 'mi300x' };

function kaiwoJob(status: string, conds: object[] = [], spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'kaiwo.silogen.ai/v1alpha1',
    kind: 'KaiwoJob',
    metadata: { namespace: 'ml', name: 'train-7', uid: 'c0ffee' },
    spec,
    status: { status, conditions: conds },
  };
}
const admittedPending = { type: 'Admitted', status: 'False', reason: 'Pending', message: "Workload is pending admission into 'kaiwo'" };

/** A Kaiwo job pending in ClusterQueue kaiwo, with what `gather` would have read; `over` replaces parts. */
function pendingSnapshot(
  o: { cq?: KubeObject; rf?: KubeObject; nodes?: KubeObject[]; wl?: KubeObject; position?: Position } = {},
): WhySnapshot {
  const wl = o.wl ?? workload('ml', 'job-train-7-3f2a1', { queue: 'kaiwo', podSets: [{ count: 1, gpus: 8 }] });
  const cq =
    o.cq ??
    clusterQueue('kaiwo', {
      flavors: [{ name: 'mi300x', resources: [{ name: 'amd.com/gpu', nominal: 16 }] }],
      reserved: { mi300x: { 'amd.com/gpu': 16 } },
    });
  const rf = o.rf ?? flavor('mi300x', POOL);
  const nodes = o.nodes ?? [node('gpu-1', { labels: POOL }), node('gpu-2', { labels: POOL })];
  const lq = localQueue('ml', 'kaiwo', 'kaiwo');
  return {
    now: NOW,
    target: { kind: 'KaiwoJob', namespace: 'ml', name: 'train-7' },
    object: kaiwoJob('PENDING', [admittedPending]),
    kaiwo: kaiwoJob('PENDING', [admittedPending]),
    kaiwoQueue: 'kaiwo',
    child: { apiVersion: 'batch/v1', kind: 'Job', metadata: { namespace: 'ml', name: 'train-7', uid: 'j1' } },
    kueue: { served: ['v1beta1', 'v1beta2'], version: 'v1beta2' },
    kaiwoNeeds: 'v1beta1',
    workloads: [wl],
    localQueueName: 'ml/kaiwo',
    localQueue: lq,
    clusterQueueName: 'kaiwo',
    clusterQueue: cq,
    position: o.position ?? { source: 'computed', index: 0, pending: 3, aheadGpus: {}, strategy: 'BestEffortFIFO' },
    capacity: capacityFor(
      {
        clusterQueue: 'kaiwo',
        clusterQueues: [cq],
        resourceFlavors: [rf],
        localQueues: [lq],
        nodes,
        workloads: [wl],
        kaiwoConfig: [],
        version: 'v1beta2',
      },
      NOW,
    ),
    errors: [],
  };
}

function admittedSnapshot(wl: KubeObject, pods: WhySnapshot['pods']): WhySnapshot {
  const base = pendingSnapshot();
  const { position: _p, capacity: _c, ...rest } = base;
  return {
    ...rest,
    object: kaiwoJob('STARTING'),
    kaiwo: kaiwoJob('STARTING'),
    workloads: [wl],
    ...(pods ? { pods } : {}),
    largestNode: { 'amd.com/gpu': 8 },
  };
}

function withCondition(w: KubeObject, extra: object[], status: Record<string, unknown> = {}): KubeObject {
  const st = (w.status ?? {}) as { conditions?: object[] };
  return { ...w, status: { ...st, conditions: [...(st.conditions ?? []), ...extra], ...status } };
}

function pod(name: string, message: string, gpus = 8): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: 'ml', name },
    spec: { containers: [{ name: 'train', resources: { requests: { 'amd.com/gpu': String(gpus) } } }] },
    status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }] },
  };
}

/** A batch Job queued in Kueue directly (no Kaiwo), labelled for LocalQueue `queue`, with what gather read. */
function batchJobSnapshot(queue: string, o: { workloads?: KubeObject[]; localQueue?: KubeObject | null } = {}): WhySnapshot {
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { namespace: 'ml', name: 'train-7', labels: { 'kueue.x-k8s.io/queue-name': queue } },
  };
  return {
    now: NOW,
    target: { kind: 'Job', namespace: 'ml', name: 'train-7' },
    object: job,
    child: job,
    kueue: { served: ['v1beta1', 'v1beta2'], version: 'v1beta2' },
    workloads: o.workloads ?? [],
    localQueueName: `ml/${queue}`,
    ...(o.localQueue !== undefined ? { localQueue: o.localQueue } : {}),
    errors: [],
  };
}

/** A KaiwoJob that Kaiwo has not turned into a Job (yet), on a Kueue serving `served`. */
function kaiwoOnlySnapshot(k: KubeObject, served = ['v1beta1', 'v1beta2']): WhySnapshot {
  return {
    now: NOW,
    target: { kind: 'KaiwoJob', namespace: 'ml', name: 'train-7' },
    object: k,
    kaiwo: k,
    kaiwoQueue: 'kaiwo',
    child: null,
    kueue: { served, version: 'v1beta2' },
    kaiwoNeeds: 'v1beta1',
    workloads: [],
    localQueueName: 'ml/kaiwo',
    errors: [],
  };
}

const admittedTrue = {
  type: 'Admitted',
  status: 'True',
  reason: 'Admitted',
  message: 'The workload is admitted',
  lastTransitionTime: ago(60_000),
};
const cases: Record<string, { snap: () => WhySnapshot; exit: number; heldBy?: string }> = {
  'next-in-line': { snap: () => pendingSnapshot(), exit: 0 },
  'quota-exhausted': {
    snap: () =>
      pendingSnapshot({
        cq: clusterQueue('kaiwo', {
          flavors: [{ name: 'mi300x', resources: [{ name: 'amd.com/gpu', nominal: 8 }] }],
          reserved: { mi300x: { 'amd.com/gpu': 8 } },
        }),
      }),
    exit: 1,
    heldBy: 'Capacity',
  },
  'gpus-lost': {
    snap: () =>
      pendingSnapshot({
        cq: clusterQueue('kaiwo', {
          flavors: [{ name: 'mi300x', resources: [{ name: 'amd.com/gpu', nominal: 16 }] }],
          reserved: { mi300x: { 'amd.com/gpu': 8 } },
        }),
        nodes: [node('gpu-1', { labels: POOL }), node('gpu-2', { labels: POOL, ready: false })],
        position: { source: 'computed', index: 1, pending: 2, aheadGpus: { 'amd.com/gpu': 8 }, strategy: 'BestEffortFIFO' },
      }),
    exit: 1,
    heldBy: 'Capacity',
  },
  'larger-than-any-node': {
    snap: () =>
      pendingSnapshot({
        wl: workload('ml', 'job-train-7-3f2a1', { queue: 'kaiwo', podSets: [{ count: 1, gpus: 12 }] }),
        cq: clusterQueue('kaiwo', { flavors: [{ name: 'mi300x', resources: [{ name: 'amd.com/gpu', nominal: 16 }] }] }),
      }),
    exit: 1,
    heldBy: 'Capacity',
  },
  'clusterqueue-stopped': {
    snap: () => {
      const s = pendingSnapshot();
      const cq = s.clusterQueue!;
      s.clusterQueue = {
        ...cq,
        spec: { ...(cq.spec as object), stopPolicy: 'Hold' },
        status: {
          conditions: [
            {
              type: 'Active',
              status: 'False',
              reason: 'Stopped',
              message: "Can't admit new workloads: is stopped.",
              lastTransitionTime: ago(60_000),
            },
          ],
        },
      };
      return s;
    },
    exit: 1,
    heldBy: 'ClusterQueue',
  },
  'flavor-without-nodes': {
    snap: () =>
      pendingSnapshot({
        rf: flavor('mi300x', { 'kaiwo/nodepool': 'mi355x' }),
        nodes: [],
        cq: clusterQueue('kaiwo', { flavors: [{ name: 'mi300x', resources: [{ name: 'amd.com/gpu', nominal: 16 }] }] }),
      }),
    exit: 1,
    heldBy: 'Capacity',
  },
  'localqueue-missing': {
    snap: () =>
      batchJobSnapshot('team-a', {
        workloads: [
          workload('ml', 'job-train-7-3f2a1', { queue: 'team-a', reason: 'Inadmissible', message: "LocalQueue team-a doesn't exist" }),
        ],
        localQueue: null,
      }),
    exit: 1,
    heldBy: 'LocalQueue',
  },
  'localqueue-missing-before-kueue-answers': {
    snap: () => batchJobSnapshot('team-a', { localQueue: null }),
    exit: 1,
    heldBy: 'LocalQueue',
  },
  'wrong-queue-namespace': {
    snap: () =>
      kaiwoOnlySnapshot(
        kaiwoJob('ERROR', [
          {
            type: 'Schedulable',
            status: 'False',
            reason: 'WrongQueueNamespace',
            message: "Cluster queue 'kaiwo' defines one or more namespaces, but workload namespace 'ml' is not one of them",
          },
        ]),
      ),
    exit: 1,
    heldBy: 'Kaiwo',
  },
  'admission-check-pending': {
    snap: () => {
      const wl = withCondition(
        workload('ml', 'job-train-7-3f2a1', { queue: 'kaiwo', admittedTo: 'kaiwo', flavor: 'mi300x' }),
        [{ type: 'Admitted', status: 'False', reason: 'UnsatisfiedAdmissionChecks', message: 'The workload has not all admission checks' }],
        {
          admissionChecks: [
            {
              name: 'capacity-reservation',
              state: 'Pending',
              message: 'waiting for the provisioning request',
              lastTransitionTime: ago(30_000),
            },
          ],
        },
      );
      const s = pendingSnapshot({ wl });
      const { position: _p, capacity: _c, ...rest } = s;
      return rest;
    },
    exit: 1,
    heldBy: 'Workload',
  },
  'pods-untolerated-taint': {
    snap: () =>
      admittedSnapshot(
        withCondition(workload('ml', 'job-train-7-3f2a1', { queue: 'kaiwo', admittedTo: 'kaiwo', flavor: 'mi300x' }), [admittedTrue]),
        [
          {
            pod: pod(
              'train-7-x2k9p',
              '0/2 nodes are available: 2 node(s) had untolerated taint {maintenance: true}. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.',
            ),
            events: [],
          },
        ],
      ),
    exit: 1,
    heldBy: 'Pods',
  },
  'pods-gpus-lost': {
    snap: () => ({
      ...admittedSnapshot(
        withCondition(workload('ml', 'job-train-7-3f2a1', { queue: 'kaiwo', admittedTo: 'kaiwo', flavor: 'mi300x' }), [admittedTrue]),
        [
          {
            pod: pod(
              'train-7-x2k9p',
              '0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 3 Insufficient amd.com/gpu.',
            ),
            events: [],
          },
        ],
      ),
      assigned: { flavors: ['mi300x'], nodes: 2, lost: ['gpu-2'], taints: [] },
    }),
    exit: 1,
    heldBy: 'Pods',
  },
  'pods-flavor-without-nodes': {
    snap: () => ({
      ...admittedSnapshot(
        withCondition(workload('ml', 'job-train-7-3f2a1', { queue: 'kaiwo', admittedTo: 'kaiwo', flavor: 'mi355x' }), [admittedTrue]),
        [{ pod: pod('train-7-x2k9p', "0/4 nodes are available: 4 node(s) didn't match Pod's node affinity/selector."), events: [] }],
      ),
      assigned: { flavors: ['mi355x'], nodes: 0, lost: [], taints: [] },
    }),
    exit: 1,
    heldBy: 'Pods',
  },
  'kueue-drops-v1beta1': {
    snap: () => kaiwoOnlySnapshot(kaiwoJob('', []), ['v1beta2']),
    exit: 1,
    heldBy: 'Workload',
  },
  'no-workload-cannot-tell': {
    snap: () => batchJobSnapshot('kaiwo', { localQueue: localQueue('ml', 'kaiwo', 'kaiwo') }),
    exit: 2,
  },
};

describe('why: the chain for one job, golden outputs (test/golden/why; UPDATE_GOLDEN=1 rewrites them)', () => {
  for (const [name, c] of Object.entries(cases)) {
    it(`${name}: exit ${c.exit}${c.heldBy ? `, held by ${c.heldBy}` : ''}`, () => {
      const answer = explain(c.snap());
      const text = renderText(answer);
      const file = join(GOLDEN, `${name}.txt`);
      if (process.env.UPDATE_GOLDEN === '1') {
        mkdirSync(GOLDEN, { recursive: true });
        writeFileSync(file, text);
      }
      expect({ exit: answer.exitCode, heldBy: answer.heldBy }).to.deep.equal({ exit: c.exit, heldBy: c.heldBy });
      expect(text).to.equal(readFileSync(file, 'utf8'));
      expect(JSON.parse(renderJson(answer))).to.include({ kind: 'WhyAnswer', exitCode: c.exit });
    });
  }

  it('names the nodes whose GPUs are lost and the numbers behind it', () => {
    const a = explain(cases['gpus-lost']!.snap());
    expect(a.cause).to.include('gpu-2').and.include('lost');
    expect(a.links.map((l) => `${l.step}:${l.state}`)).to.deep.equal([
      'Kaiwo:ok',
      'Workload:wait',
      'LocalQueue:ok',
      'ClusterQueue:ok',
      'Position:wait',
      'Capacity:hold',
    ]);
  });

  it('a hostile object cannot move the terminal: control characters are blanked and messages cut', () => {
    const s = cases['clusterqueue-stopped']!.snap();
    const cq = s.clusterQueue!;
    s.clusterQueue = {
      ...cq,
      status: { conditions: [{ type: 'Active', status: 'False', reason: 'Stopped', message: `\u001b[2J\u001b[H${'x'.repeat(100_000)}` }] },
    };
    const text = renderText(explain(s));
    expect(text).not.to.include('\u001b');
    expect(text.length).to.be.lessThan(6000);
  });
});

describe('why: position like Kueue orders a ClusterQueue', () => {
  const entry = (name: string, priority: number, atMs: number) => ({
    namespace: 'ml',
    name,
    priority,
    at: atMs,
    gpus: { 'amd.com/gpu': 8 },
  });

  it('priority first, then the queue-ordering time; the GPUs ahead are summed', () => {
    const p = computedPosition(
      [entry('old-low', 0, 1), entry('new-high', 10, 5), entry('me', 0, 3), entry('older-same', 0, 2)],
      { namespace: 'ml', name: 'me' },
      'BestEffortFIFO',
    );
    expect(p).to.deep.include({ index: 3, pending: 4, aheadGpus: { 'amd.com/gpu': 24 } });
    expect([entry('b', 0, 1), entry('a', 0, 1)].sort(byQueueOrder).map((e) => e.name)).to.deep.equal(['a', 'b']);
  });

  it('a Workload evicted by PodsReady timeout queues from its eviction, not its creation; reserved ones are not pending', () => {
    const w = withCondition(workload('ml', 'w', {}), [
      { type: 'Evicted', status: 'True', reason: 'PodsReadyTimeout', message: '', lastTransitionTime: ago(1000) },
    ]);
    expect(pendingEntry(w)?.at).to.equal(Date.parse(ago(1000)));
    expect(pendingEntry(workload('ml', 'r', { admittedTo: 'kaiwo' }))).to.equal(undefined);
    expect([0, 1, 2, 3, 10, 11, 12, 20, 21, 101, 110].map(ordinal)).to.deep.equal([
      '1st',
      '2nd',
      '3rd',
      '4th',
      '11th',
      '12th',
      '13th',
      '21st',
      '22nd',
      '102nd',
      '111th',
    ]);
  });
});

describe("why: the scheduler's word", () => {
  it("names the taints its message lists, not the control plane's", () => {
    expect(
      namedTaints(
        '0/5 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 node(s) had untolerated taint {maintenance: true}, 2 Insufficient amd.com/gpu.',
      ),
    ).to.deep.equal(['maintenance: true']);
    expect(
      namedTaints(
        '0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/master: }, 2 Insufficient amd.com/gpu.',
      ),
    ).to.deep.equal([]);
  });
});

describe('why: the question', () => {
  it('takes kubectl-style kinds and names; an unknown kind or a bad name is one clear line', () => {
    expect(parseTarget('kaiwojob/train-7', 'ml')).to.deep.equal({ kind: 'KaiwoJob', namespace: 'ml', name: 'train-7' });
    expect(parseTarget('wl/job-train-7-3f2a1', 'ml').kind).to.equal('Workload');
    expect(parseTarget('deploy/svc', 'ml').kind).to.equal('Deployment');
    expect(() => parseTarget('pod/x', 'ml')).to.throw(
      WhyError,
      /unknown kind "pod".*kaiwojob, kaiwoservice, workload, job, rayjob or deployment/,
    );
    expect(() => parseTarget('train-7', 'ml')).to.throw(WhyError, /expected <kind>\/<name>/);
    expect(() => parseTarget('job/Bad_Name', 'ml')).to.throw(WhyError);
  });
});
