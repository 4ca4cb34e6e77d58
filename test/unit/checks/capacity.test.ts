import { expect } from 'chai';
import { applyDefaults } from '../../../src/api/defaults.js';
import { sanitize } from '../../../src/api/clamp.js';
import { capacityCheck } from '../../../src/checks/capacity.js';
import { gpuNodesCheck } from '../../../src/checks/gpu-nodes.js';
import { kueueCheck } from '../../../src/checks/kueue.js';
import { type KaiwoMonitorSpec, specSchema, statusSchema } from '../../../src/checks/registry.js';
import { podRequests, slimWorkload } from '../../../src/checks/workload-projection.js';
import { sourceId } from '../../../src/controller/sources.js';
import type { KubeObject } from '../../../src/runtime/objects.js';
import { clusterQueue, flavor, localQueue, node, pendingPod, workload } from '../../support/capacity-fixtures.js';
import { cq, finding, POOL, reasons, run, world } from '../../support/capacity-world.js';
import { view } from '../../support/fixtures.js';

describe('check: capacity (why is it pending?)', () => {
  it('is healthy when quota, nodes and demand agree; reports the numbers as counts, a table and gauges', () => {
    const r = run(world({ cqs: [cq('team', 16, 8)], wls: [workload('ml', 'a', { admittedTo: 'team' })] }));
    expect(r).to.include({ status: 'True', reason: 'CapacityHealthy' });
    expect(r.findings).to.deep.equal([]);
    expect(r.summary?.counts).to.include({ gpusPromised: 16, gpusHealthy: 16, gpusLost: 0, gpusInUse: 8, gpusPending: 0 });
    expect(r.summary?.table?.rows).to.deep.equal([['team', 'mi300x', 'amd.com/gpu', '16', '16', '0', '8', '0', 'ok']]);
    const g = r.gauges?.kaiwo_monitor_capacity_gpus ?? [];
    expect(g.map((s) => `${s.labels.kind}=${s.value}`)).to.deep.equal(['promised=16', 'healthy=16', 'lost=0', 'in_use=8', 'pending=0']);
    expect(g[0]?.labels).to.deep.include({ cluster_queue: 'team', flavor: 'mi300x', resource: 'amd.com/gpu' });
  });

  it('QuotaExceedsHealthyCapacity: a Warning when nominal + borrowing limit exceed the healthy GPUs (v1beta1 ClusterQueue in a cohort)', () => {
    const r = run(world({ cqs: [cq('team', 16, 8, { borrowingLimit: 8, cohort: 'all', v: 'v1beta1' })] }), {}, 'v1beta1');
    expect(r.status).to.equal('True');
    expect(reasons(r)).to.deep.equal(['Warning:QuotaExceedsHealthyCapacity']);
    const f = finding(r, 'QuotaExceedsHealthyCapacity');
    expect(f?.message)
      .to.include('ClusterQueue team, flavor mi300x: promises 24 amd.com/gpu (nominal 16 + borrowing limit 8)')
      .and.include('16 healthy');
    expect(f?.object).to.deep.include({ apiVersion: 'kueue.x-k8s.io/v1beta1', kind: 'ClusterQueue', name: 'team' });
  });

  it('QuotaExceedsHealthyCapacity goes Critical when admitted work already exceeds hardware that never existed', () => {
    const r = run(world({ cqs: [cq('team', 32, 24)] }));
    expect(r).to.include({ status: 'False', reason: 'QuotaExceedsHealthyCapacity' });
    expect(r.message).to.include('24 amd.com/gpu reserved').and.include('only 16 and none lost').and.include('8 GPUs of admitted work');
  });

  it('FlavorHasNoNodes: Warning while nothing is admitted to it, Critical once admitted work waits on it', () => {
    const flavors = [flavor('mi300x', POOL), flavor('mi355x', { pool: 'mi355x' })];
    const cqs = (reserved: number) => [
      clusterQueue('team', {
        flavors: [
          { name: 'mi300x', resources: [{ name: 'amd.com/gpu', nominal: 16 }] },
          { name: 'mi355x', resources: [{ name: 'amd.com/gpu', nominal: 8 }] },
        ],
        reserved: { mi355x: { 'amd.com/gpu': reserved } },
      }),
    ];
    const idle = run(world({ flavors, cqs: cqs(0) }));
    expect(reasons(idle)).to.deep.equal(['Warning:FlavorHasNoNodes']);
    expect(finding(idle, 'FlavorHasNoNodes')?.message)
      .to.include('ResourceFlavor mi355x (nodeLabels pool=mi355x) matches no node')
      .and.include('promise 8 amd.com/gpu');
    const stuck = run(world({ flavors, cqs: cqs(8) }));
    expect(stuck).to.include({ status: 'False', reason: 'FlavorHasNoNodes' });
    expect(stuck.message).to.include('8 reserved by admitted Workloads that cannot start');
    expect(stuck.summary?.table?.rows.find((row) => row[1] === 'mi355x')?.[8]).to.equal('no nodes');
  });

  it('PendingOnLostCapacity: admitted work beyond the healthy GPUs waits for a NotReady node, named with the numbers and the pod', () => {
    const nodes = [node('gpu-0', { labels: POOL }), node('gpu-1', { labels: POOL, ready: false })];
    // The node's pods were evicted; the Job controller made a new one, which the scheduler cannot place.
    const pod = pendingPod('ml', 'b-q2w9z', {
      nodeSelector: POOL,
      message: '0/2 nodes are available: 1 Insufficient amd.com/gpu, 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }.',
    });
    const r = run(
      world({
        nodes,
        cqs: [cq('team', 16, 16)],
        wls: [workload('ml', 'a', { admittedTo: 'team' }), workload('ml', 'b', { admittedTo: 'team' })],
        pods: [pod],
      }),
    );
    expect(r).to.include({ status: 'False', reason: 'PendingOnLostCapacity' });
    expect(r.message).to.equal(
      'ResourceFlavor mi300x: 16 amd.com/gpu reserved by admitted Workloads (ClusterQueue team) but only 8 healthy; ' +
        '8 wait for the 8 GPUs lost on gpu-1 (NotReady/KubeletNotReady): a hardware problem, not quota; the scheduler cannot place 1 pod of admitted work ' +
        '(8 amd.com/gpu, Unschedulable): ml/b-q2w9z; the scheduler on ml/b-q2w9z: "0/2 nodes are available: 1 Insufficient amd.com/gpu, 1 node(s) had untolerated ' +
        'taint {node.kubernetes.io/unreachable: }."',
    );
    expect(r.summary?.table?.rows[0]).to.deep.equal(['team', 'mi300x', 'amd.com/gpu', '16', '8', '8', '16', '0', 'lost GPUs']);
  });

  it('PendingOnLostCapacity: pending Workloads that would fit if the lost GPUs were healthy (v1beta2 WaitingForQuota), numbers and nodes', () => {
    // Quota follows the healthy GPUs (Kaiwo rewrites it from the nodes): 2 of 8 GPUs on gpu-1 are unhealthy.
    const nodes = [node('gpu-0', { labels: POOL }), node('gpu-1', { labels: POOL, allocatable: 2 })];
    const wls = [
      workload('ml', 'a', { admittedTo: 'team' }),
      workload('ml', 'b', { admittedTo: 'team', podSets: [{ count: 1, gpus: 2 }] }),
      workload('ml', 'c', {
        podSets: [{ count: 2, gpus: 3 }],
        message: "couldn't assign flavors to pod set main: insufficient unused quota for amd.com/gpu in flavor mi300x, 6 more needed",
      }),
    ];
    const r = run(world({ nodes, cqs: [cq('team', 10, 10)], wls }));
    expect(r).to.include({ status: 'False', reason: 'PendingOnLostCapacity' });
    const f = finding(r, 'PendingOnLostCapacity');
    expect(f?.object).to.deep.include({ kind: 'ClusterQueue', name: 'team' });
    expect(f?.message)
      .to.include(
        'ClusterQueue team, flavor mi300x: 1 pending Workload need 6 amd.com/gpu; 0 healthy GPUs free (10 healthy, 10 in use) and 6 lost on gpu-1 (6 of 8 unhealthy)',
      )
      .and.include('a hardware problem, not quota')
      .and.include('Kueue: WaitingForQuota ×1');
    expect(r.summary?.counts).to.include({ gpusHealthy: 10, gpusLost: 6, gpusPending: 6, pendingWorkloads: 1 });
  });

  it('PendingOnQuota: healthy GPUs are free but the queue is at its quota (policy), unless its cohort can lend', () => {
    const wls = [workload('ml', 'a', { admittedTo: 'team' }), workload('ml', 'p1'), workload('ml', 'p2')];
    const r = run(world({ cqs: [cq('team', 8, 8)], wls }));
    expect(r.status).to.equal('True');
    expect(reasons(r)).to.deep.equal(['Warning:PendingOnQuota']);
    expect(finding(r, 'PendingOnQuota')?.message)
      .to.include(
        '2 pending Workloads need 16 amd.com/gpu (smallest 8); 8 healthy GPUs are free but the quota is exhausted (8 in use of nominal 8)',
      )
      .and.include('a policy limit, not hardware');
    expect(r.summary?.table?.rows[0]?.[8]).to.equal('quota (WaitingForQuota)');
    // A cohort peer with unused nominal quota and no borrowing limit: Kueue can lend, so not a quota problem.
    const lending = run(world({ cqs: [cq('team', 8, 8, { cohort: 'c' }), cq('other', 8, 0, { cohort: 'c' })], wls }));
    expect(reasons(lending)).to.deep.equal([]);
    // ...unless the borrowing limit is 0.
    const capped = run(world({ cqs: [cq('team', 8, 8, { cohort: 'c', borrowingLimit: 0 }), cq('other', 8, 0, { cohort: 'c' })], wls }));
    expect(reasons(capped)).to.deep.equal(['Warning:PendingOnQuota']);
  });

  it("PendingOnQuota by Kueue's cohort arithmetic: a peer's lending limit, a Cohort's own quota, unselected peers, the fair share", () => {
    const wls = [workload('ml', 'a', { admittedTo: 'team' }), workload('ml', 'p1')];
    const cohortObj = (name: string, gpus: number) => ({
      apiVersion: 'kueue.x-k8s.io/v1beta2',
      kind: 'Cohort',
      metadata: { name },
      spec: {
        resourceGroups: [
          {
            coveredResources: ['amd.com/gpu'],
            flavors: [{ name: 'mi300x', resources: [{ name: 'amd.com/gpu', nominalQuota: String(gpus) }] }],
          },
        ],
      },
    });
    // The peer's 8 idle GPUs would lend — but its lending limit 0 keeps them: the queue's quota is exhausted.
    const kept = run(world({ cqs: [cq('team', 8, 8, { cohort: 'c' }), cq('other', 8, 0, { cohort: 'c', lendingLimit: 0 })], wls }));
    expect(reasons(kept)).to.deep.equal(['Warning:PendingOnQuota']);
    expect(finding(kept, 'PendingOnQuota')?.message).to.include(
      '(8 in use of nominal 8; cohort c: 0 more can be admitted, at most 8 with nothing else in use)',
    );
    // A Cohort object with 8 GPUs of its own lends them: not a quota problem (Kueue admits; it waits for something else).
    const lent = run(world({ cqs: [cq('team', 8, 8, { cohort: 'c' })], cohorts: [cohortObj('c', 8)], wls }));
    expect(reasons(lent)).to.deep.equal([]);
    // A monitor that selects only `team` still counts the queues it does not select: their use leaves nothing.
    const busyPeer = cq('other', 0, 8, { cohort: 'c' });
    const selected = run(
      world({
        cqs: [cq('team', 8, 8, { cohort: 'c' })],
        allCqs: [cq('team', 8, 8, { cohort: 'c' }), busyPeer],
        cohorts: [cohortObj('c', 8)],
        wls,
      }),
    );
    expect(finding(selected, 'PendingOnQuota')?.message).to.include('cohort c (8 of its own): 0 more can be admitted, at most 16');
    // Kueue's fair sharing: the share it writes on the queue is quoted.
    const shared = cq('team', 8, 8, { cohort: 'c', borrowingLimit: 0 });
    shared.status = { ...(shared.status as object), fairSharing: { weightedShare: 0 } };
    expect(finding(run(world({ cqs: [shared], wls })), 'PendingOnQuota')?.message).to.include('fair sharing: weighted share 0');
  });

  it('counts a node tainted NoSchedule as lost unless the flavor tolerates the taint or lists it in nodeTaints', () => {
    const taint = { key: 'amd-gpu-unhealthy', value: 'true', effect: 'NoSchedule' };
    const nodes = [
      node('gpu-0', { labels: POOL }),
      node('gpu-1', { labels: POOL, taints: [taint, { key: 'x', effect: 'PreferNoSchedule' }] }),
    ];
    const plain = run(world({ nodes }));
    expect(plain.summary?.counts).to.include({ gpusHealthy: 8, gpusLost: 8 });
    expect(finding(plain, 'QuotaExceedsHealthyCapacity')?.message).to.include(
      '8 lost on gpu-1 (tainted amd-gpu-unhealthy=true:NoSchedule, not tolerated)',
    );
    const tolerated = run(
      world({
        nodes,
        flavors: [flavor('mi300x', POOL, { tolerations: [{ key: 'amd-gpu-unhealthy', operator: 'Exists', effect: 'NoSchedule' }] })],
      }),
    );
    expect(tolerated.summary?.counts).to.include({ gpusHealthy: 16, gpusLost: 0 });
    const listed = run(world({ nodes, flavors: [flavor('mi300x', POOL, { nodeTaints: [taint] })] }));
    expect(listed.summary?.counts).to.include({ gpusHealthy: 16, gpusLost: 0 });
    const cordoned = run(world({ nodes: [node('gpu-0', { labels: POOL }), node('gpu-1', { labels: POOL, cordoned: true })] }));
    expect(finding(cordoned, 'QuotaExceedsHealthyCapacity')?.message).to.include('gpu-1 (cordoned)');
  });

  it('WorkloadTooLargeForAnyNode: a pod set asking more GPUs per pod than the largest node of its flavors (not mistaken for lost capacity)', () => {
    const nodes = [node('gpu-0', { labels: POOL }), node('gpu-1', { labels: POOL, ready: false })];
    const r = run(world({ nodes, cqs: [cq('team', 16, 0)], wls: [workload('ml', 'huge', { podSets: [{ count: 1, gpus: 16 }] })] }));
    expect(reasons(r)).to.deep.equal(['Warning:QuotaExceedsHealthyCapacity', 'Warning:WorkloadTooLargeForAnyNode']);
    expect(finding(r, 'WorkloadTooLargeForAnyNode')?.message).to.include(
      '1 Workload in ClusterQueue team ask more amd.com/gpu per pod than any node of its flavors has (largest 8): ml/huge (16/pod)',
    );
    expect(r.summary?.table?.rows[0]?.[8]).to.include('too large');
  });

  it('DRA-style nodes without extended resources: supply is not reported, so quota is not compared with it', () => {
    const nodes = [node('gpu-0', { labels: POOL, dra: true }), node('gpu-1', { labels: POOL, dra: true })];
    const r = run(world({ nodes, wls: [workload('ml', 'p')] }));
    expect(r.status).to.equal('True');
    expect(reasons(r)).to.deep.equal(['Info:SupplyNotReported']);
    expect(r.summary?.table?.rows[0]?.slice(4, 6)).to.deep.equal(['-', '-']);
  });

  it("Kaiwo's view: GPU nodes without kaiwo/nodepool when others have it, and pool labels whose N disagrees with the node", () => {
    const label = (pool: string) => ({ ...POOL, 'kaiwo/nodepool': pool });
    const nodes = [
      node('gpu-0', { labels: label('amd-mi300x-8gpu-96core-1024gi') }),
      node('gpu-1', { labels: POOL }),
      node('gpu-2', { labels: POOL, cordoned: true }),
      node('gpu-3', { labels: label('amd-mi300x-8gpu-96core-1024gi'), gpus: 4 }),
      node('cpu-0', { dra: true }),
    ];
    const r = run(world({ nodes }));
    const f = r.findings.filter((x) => x.reason === 'NodeNotInKaiwoPool' || x.reason === 'KaiwoPoolLabelMismatch');
    expect(f.map((x) => `${x.reason}:${x.object?.name ?? ''}`)).to.deep.equal(['NodeNotInKaiwoPool:gpu-1', 'KaiwoPoolLabelMismatch:gpu-3']);
    expect(f[0]?.message).to.include('GPU node gpu-1 (8 amd.com/gpu) has no kaiwo/nodepool label while 2 other node(s) do');
    expect(f[1]?.message).to.include('(8 GPUs per node) but has 4 amd.com/gpu');
    expect(r.summary?.counts?.nodesNotInKaiwoPool).to.equal(1);
    expect(run(world()).findings).to.deep.equal([]); // nobody labelled: Kaiwo's labels are not in use
    expect(
      run(world({ nodes }), { kaiwoPool: { enabled: false } }).findings.filter((x) => x.reason === 'NodeNotInKaiwoPool'),
    ).to.deep.equal([]);
  });

  it('v1beta1: flavorsUsage without flavorsReservation, spec.cohort, reason Pending, and demand attributed to the flavor Kueue names', () => {
    const nodes = [node('a-0', { labels: { pool: 'a' } }), node('b-0', { labels: { pool: 'b' } })];
    const flavors = [flavor('a', { pool: 'a' }, {}, 'v1beta1'), flavor('b', { pool: 'b' }, {}, 'v1beta1')];
    const cqs = [
      clusterQueue('team', {
        v: 'v1beta1',
        usageOnly: true,
        cohort: 'c',
        flavors: [
          { name: 'a', resources: [{ name: 'amd.com/gpu', nominal: 8 }] },
          { name: 'b', resources: [{ name: 'amd.com/gpu', nominal: '8' }] },
        ],
        reserved: { a: { 'amd.com/gpu': 8 }, b: { 'amd.com/gpu': 0 } },
      }),
    ];
    const wls = [
      workload('ml', 'p', {
        v: 'v1beta1',
        reason: 'Pending',
        message: "couldn't assign flavors to pod set main: insufficient quota for amd.com/gpu in flavor b, 8 more needed",
      }),
    ];
    const r = run(world({ nodes, flavors, cqs, lqs: [localQueue('ml', 'team', 'team', 'v1beta1')], wls }), {}, 'v1beta1');
    const rows = r.summary?.table?.rows ?? [];
    expect(rows.map((x) => [x[1], x[6], x[7]])).to.deep.equal([
      ['a', '8', '0'],
      ['b', '0', '8'],
    ]);
    expect(rows[1]?.[8]).to.equal('Pending'); // quota and hardware both free: Kueue's own reason
  });

  it('ignores finished and deactivated Workloads and those of unselected namespaces', () => {
    const wls = [workload('ml', 'done', { finished: true }), workload('other', 'x', { queue: 'team' })];
    const r = run({
      ...world({ cqs: [cq('team', 8, 8)], wls, lqs: [localQueue('ml', 'team', 'team'), localQueue('other', 'team', 'team')] }),
      namespaces: view([{ metadata: { name: 'ml' } }]),
    });
    expect(r.summary?.counts?.gpusPending).to.equal(0);
  });

  it('keeps the table to tableRows, queues with the most pending GPUs first, within the status schema', () => {
    const cqs = Array.from({ length: 30 }, (_, i) =>
      clusterQueue(`q${String(i).padStart(2, '0')}-${'x'.repeat(80)}`, {
        flavors: [{ name: 'mi300x', resources: [{ name: 'amd.com/gpu', nominal: 1 }] }],
      }),
    );
    const lqs = cqs.map((c, i) => localQueue('ml', `lq${i}`, c.metadata.name));
    const wls = [workload('ml', 'w', { queue: 'lq7', podSets: [{ count: 1, gpus: 4 }] })];
    const r = run(world({ cqs, lqs, wls }), { tableRows: 5 });
    const rows = r.summary?.table?.rows ?? [];
    expect(rows).to.have.length(5);
    expect(rows[0]?.[0]).to.match(/^q07-/);
    const status = sanitize({ summary: { capacity: r.summary } }, statusSchema) as {
      summary: { capacity: { table: { rows: string[][] } } };
    };
    expect(status.summary.capacity.table.rows[0]?.[0]).to.have.length(64);
    expect(r.gauges?.kaiwo_monitor_capacity_gpus).to.have.length(30 * 5); // metrics are not cut to the table
  });

  it('is Unknown while a source is listing or when Kueue is not installed', () => {
    expect(run({ ...world(), workloads: view([], 'pending') })).to.include({ status: 'Unknown', reason: 'NotObserved' });
    expect(run({ ...world(), clusterQueues: view([], 'absent') })).to.include({ status: 'Unknown', reason: 'KueueNotInstalled' });
  });

  it('shares the node, ClusterQueue, LocalQueue and Workload informers with the GPU-node and Kueue checks (same source and projection)', () => {
    const defaults = applyDefaults<KaiwoMonitorSpec>(specSchema, {});
    for (const env of [{}, { storageVersion: 'v1beta1' }]) {
      const mine = capacityCheck.sources(defaults.capacity, env);
      const kueue = kueueCheck.sources(defaults.kueue, env);
      for (const k of ['clusterQueues', 'localQueues', 'workloads'] as const) {
        expect(sourceId(mine[k]!)).to.equal(sourceId(kueue[k]!));
        expect(mine[k]?.transform).to.equal(kueue[k]?.transform);
      }
      const nodes = gpuNodesCheck.sources(defaults.gpuNodes, env).nodes;
      expect(sourceId(mine.nodes!)).to.equal(sourceId(nodes!));
      expect(mine.nodes?.transform).to.equal(nodes?.transform);
    }
  });
});

describe('Workload projection (shared by the Kueue and capacity checks)', () => {
  it('keeps per pod set its count and the extended resources one pod requests, and drops the pod template', () => {
    const slim = slimWorkload({
      metadata: { name: 'w', namespace: 'ml' },
      spec: {
        queueName: 'team',
        active: true,
        podSets: [
          {
            name: 'main',
            count: 2,
            template: {
              spec: {
                initContainers: [{ name: 'init', resources: { requests: { 'amd.com/gpu': '8' } } }],
                containers: [
                  { name: 'a', resources: { requests: { cpu: '4', 'amd.com/gpu': '2' } } },
                  { name: 'b', resources: { limits: { 'amd.com/gpu': '3' } } },
                ],
              },
            },
          },
          'not a pod set',
        ],
      },
    });
    expect(slim.spec).to.deep.equal({
      queueName: 'team',
      active: true,
      podSets: [
        { name: 'main', count: 2, requests: { 'amd.com/gpu': 8 } },
        { name: '', count: 1, requests: {} },
      ],
    });
    expect(
      podRequests({
        spec: {
          containers: [{ resources: { requests: { 'nvidia.com/gpu': '1' } } }, { resources: { requests: { 'nvidia.com/gpu': '1' } } }],
        },
      }),
    ).to.deep.equal({ 'nvidia.com/gpu': 2 });
    expect(podRequests('garbage')).to.deep.equal({});
  });

  it('keeps of metadata and status only what the checks read', () => {
    const at = '2026-06-01T00:00:00Z';
    const slim = slimWorkload({
      apiVersion: 'kueue.x-k8s.io/v1beta2',
      kind: 'Workload',
      metadata: {
        name: 'w',
        namespace: 'ml',
        uid: 'u',
        resourceVersion: '7',
        generation: 1,
        creationTimestamp: at,
        labels: { 'kueue.x-k8s.io/job-uid': 'j' },
        ownerReferences: [{ kind: 'Job', name: 'w' }],
      },
      spec: { queueName: 'team', podSets: [] },
      status: {
        conditions: [
          {
            type: 'QuotaReserved',
            status: 'True',
            reason: 'QuotaReserved',
            message: 'Quota reserved in ClusterQueue cq',
            lastTransitionTime: at,
            observedGeneration: 1,
          },
          'junk',
        ],
        admission: {
          clusterQueue: 'cq',
          podSetAssignments: [{ name: 'main', count: 1, flavors: { 'amd.com/gpu': 'f' }, resourceUsage: { 'amd.com/gpu': '1' } }],
        },
        admissionChecks: [
          { name: 'prov', state: 'Rejected', message: 'no capacity', lastTransitionTime: at, podSetUpdates: [{ name: 'main' }] },
        ],
        unhealthyNodes: [{ name: 'n1', extra: 1 }, 'junk'],
        requeueState: { count: 3 },
        resourceRequests: [{ name: 'main', resources: { 'amd.com/gpu': '1' } }],
      },
    });
    expect(slim.metadata).to.deep.equal({
      name: 'w',
      namespace: 'ml',
      uid: 'u',
      resourceVersion: '7',
      generation: 1,
      creationTimestamp: at,
    });
    expect(slim.status).to.deep.equal({
      conditions: [
        {
          type: 'QuotaReserved',
          status: 'True',
          reason: 'QuotaReserved',
          message: 'Quota reserved in ClusterQueue cq',
          lastTransitionTime: at,
        },
        {},
      ],
      admission: { clusterQueue: 'cq', podSetAssignments: [{ name: 'main', flavors: { 'amd.com/gpu': 'f' } }] },
      admissionChecks: [{ name: 'prov', state: 'Rejected', message: 'no capacity', lastTransitionTime: at }],
      unhealthyNodes: [{ name: 'n1' }, {}],
    });
    expect(slimWorkload({ metadata: { name: 'x' }, status: 'garbage' }).status).to.deep.equal({});
  });

  it('keeps per pod set its tolerations and per admitted pod set the flavors of extended resources, one shared value for equal ones', () => {
    const raw = (name: string, tolerations: unknown): KubeObject => ({
      metadata: { name, namespace: 'ml' },
      spec: {
        queueName: 'team',
        podSets: [
          {
            name: 'main',
            count: 1,
            template: { spec: { tolerations, containers: [{ resources: { requests: { 'amd.com/gpu': '8' } } }] } },
          },
          { name: 'head', count: 1, template: { spec: { containers: [{ resources: { requests: { cpu: '1' } } }] } } },
        ],
      },
      status: {
        admission: {
          clusterQueue: 'cq',
          podSetAssignments: [
            { name: 'main', count: 1, flavors: { cpu: 'default', 'amd.com/gpu': 'mi300x' } },
            { name: 'head', count: 1, flavors: { cpu: 'default' } },
          ],
        },
      },
    });
    const tol = [
      { key: 'kaiwo.silogen.ai/gpu', operator: 'Exists', effect: 'NoSchedule' },
      { key: 'a', value: 'b', effect: 'NoExecute', tolerationSeconds: 300 },
    ];
    const a = slimWorkload(raw('a', tol));
    const b = slimWorkload(raw('b', [...tol].reverse()));
    expect(a.spec).to.deep.equal({
      queueName: 'team',
      active: undefined,
      podSets: [
        {
          name: 'main',
          count: 1,
          requests: { 'amd.com/gpu': 8 },
          tolerations: [
            { key: 'a', operator: 'Equal', value: 'b', effect: 'NoExecute' },
            { key: 'kaiwo.silogen.ai/gpu', operator: 'Exists', value: '', effect: 'NoSchedule' },
          ],
        },
        { name: 'head', count: 1, requests: {} },
      ],
    });
    expect(a.status).to.deep.equal({
      admission: { clusterQueue: 'cq', podSetAssignments: [{ name: 'main', flavors: { 'amd.com/gpu': 'mi300x' } }] },
    });
    const tolerationsOf = (w: KubeObject) => (w.spec as { podSets: { tolerations?: unknown }[] }).podSets[0]?.tolerations;
    expect(tolerationsOf(b)).to.equal(tolerationsOf(a)); // the same object, not a copy
    expect((b.status as { admission: unknown }).admission).to.not.equal((a.status as { admission: unknown }).admission);
    expect((b.status as { admission: { podSetAssignments: unknown } }).admission.podSetAssignments).to.equal(
      (a.status as { admission: { podSetAssignments: unknown } }).admission.podSetAssignments,
    );
  });

  it('survives hostile tolerations and assignments: wrong types, huge arrays and strings', () => {
    const huge = Array.from({ length: 100_000 }, (_, i) => ({ key: `k${i}`, operator: 'Exists' }));
    const slim = slimWorkload({
      metadata: { name: 'w', namespace: 'ml' },
      spec: {
        podSets: [
          { name: 'a', template: { spec: { tolerations: huge } } },
          {
            name: 'b',
            template: {
              spec: { tolerations: [null, 7, 'x', { key: 42, operator: ['Exists'], value: { a: 1 }, effect: 'x'.repeat(10_000) }] },
            },
          },
          { name: 'c', template: { spec: { tolerations: 'all' } } },
          { name: 'd', template: 'garbage' },
          { name: 'e', template: { spec: null } },
        ],
      },
      status: {
        admission: {
          clusterQueue: 'cq',
          podSetAssignments: [
            null,
            { name: 'a', flavors: 'x' },
            { name: 'b', flavors: { 'amd.com/gpu': 7, 'x/y': 'f'.repeat(10_000) } },
            ...Array.from({ length: 1000 }, () => ({ name: 'a', flavors: { 'amd.com/gpu': 'f' } })),
          ],
        },
      },
    });
    const sets = (slim.spec as { podSets: { tolerations?: unknown[] }[] }).podSets;
    expect(sets[0]?.tolerations).to.have.length(32);
    expect(sets[1]?.tolerations).to.deep.equal([{ key: '', operator: 'Equal', value: '', effect: 'x'.repeat(32) }]);
    expect(sets.slice(2).map((p) => p.tolerations)).to.deep.equal([undefined, undefined, undefined]);
    const assigned = (slim.status as { admission: { podSetAssignments: { flavors: Record<string, string> }[] } }).admission
      .podSetAssignments;
    expect(assigned).to.have.length(14); // of the first 16 entries, two are not assignments
    expect(assigned[0]?.flavors).to.deep.equal({ 'x/y': 'f'.repeat(253) });
  });
});
