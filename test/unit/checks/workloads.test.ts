import { expect } from 'chai';
import { applyDefaults } from '../../../src/api/defaults.js';
import { type KaiwoMonitorSpec, specSchema } from '../../../src/checks/registry.js';
import type { SourceView } from '../../../src/checks/types.js';
import { failedAt, UNSCHEDULABLE_REASONS, workloadsCheck } from '../../../src/checks/workloads.js';
import type { KubeObject } from '../../../src/runtime/objects.js';
import { ago, kaiwoWorkload, NOW, view } from '../../support/fixtures.js';

const spec = applyDefaults<KaiwoMonitorSpec>(specSchema, {}).workloads;
const data = (jobs: KubeObject[], services: KubeObject[] = [], events: KubeObject[] = []): Record<string, SourceView> => ({
  kaiwoJobs: view(jobs),
  kaiwoServices: view(services),
  jobEvents: view(events),
  serviceEvents: view([]),
});
const run = (d: Record<string, SourceView>) => workloadsCheck.evaluate({ spec, data: d, scrapes: {}, now: NOW, env: {} });
const HOUR = 3_600_000;

/**
 * A KaiwoJob as Kaiwo v0.1.9 writes it (status fields and condition shape of its CRD: startTime and duration in
 * seconds written with each transition, no completionTime, conditions with type/status/reason/message/
 * lastTransitionTime): Schedulable and Admitted set at admission, or Schedulable=False for ERROR.
 */
function kaiwoJob(
  name: string,
  status: string,
  o: {
    conditionsAgoMs?: number;
    startAgoMs?: number;
    durationS?: number;
    completionAgoMs?: number;
    unschedulable?: { reason: string; message: string };
  },
): KubeObject {
  const at = ago(o.conditionsAgoMs ?? 120_000);
  const conditions = o.unschedulable
    ? [{ type: 'Schedulable', status: 'False', reason: o.unschedulable.reason, message: o.unschedulable.message, lastTransitionTime: at }]
    : [
        { type: 'Schedulable', status: 'True', reason: 'Schedulable', message: 'enough GPUs', lastTransitionTime: at },
        { type: 'Admitted', status: 'True', reason: 'Admitted', message: 'Workload admitted', lastTransitionTime: at },
      ];
  return {
    apiVersion: 'kaiwo.silogen.ai/v1alpha1',
    kind: 'KaiwoJob',
    metadata: { name, namespace: 'ml', creationTimestamp: ago((o.conditionsAgoMs ?? 120_000) + 5000), generation: 1 },
    spec: { image: 'rocm/pytorch', gpus: 8 },
    status: {
      status,
      conditions,
      ...(o.startAgoMs !== undefined ? { startTime: ago(o.startAgoMs) } : {}),
      ...(o.durationS !== undefined ? { duration: o.durationS } : {}),
      ...(o.completionAgoMs !== undefined ? { completionTime: ago(o.completionAgoMs) } : {}),
    },
  };
}

const running = (n: number) => Array.from({ length: n }, (_, i) => kaiwoWorkload('KaiwoJob', 'ml', `job-${i}`, 'RUNNING'));

describe('check: Kaiwo workloads', () => {
  it('is healthy with running jobs and services', () => {
    const r = run(data(running(3), [kaiwoWorkload('KaiwoService', 'ml', 'llm', 'RUNNING')]));
    expect(r).to.include({ status: 'True', reason: 'WorkloadsHealthy' });
    expect(r.summary?.display).to.equal('0 failed / 4');
  });

  it('goes False when recently failed workloads reach maxFailedPercent, and forgets old failures', () => {
    const r = run(data([...running(2), kaiwoWorkload('KaiwoJob', 'ml', 'bad', 'FAILED')]));
    expect(r).to.include({ status: 'False', reason: 'WorkloadsFailing' });
    expect(r.findings.find((f) => f.reason === 'WorkloadFailed')?.object).to.deep.include({
      kind: 'KaiwoJob',
      namespace: 'ml',
      name: 'bad',
    });
    const old = run(data([...running(2), kaiwoWorkload('KaiwoJob', 'ml', 'bad', 'FAILED', 2 * 3_600_000)]));
    expect(old.status).to.equal('True');
    const few = run(data([...running(9), kaiwoWorkload('KaiwoJob', 'ml', 'bad', 'FAILED')]));
    expect(few.status, '10% < 20%').to.equal('True');
    expect(few.findings[0]?.reason).to.equal('WorkloadFailed');
  });

  it('counts a job that ran longer than failedWindow and then failed, from startTime + duration (Kaiwo writes no completionTime)', () => {
    // Admitted and scheduled 3 h ago, RUNNING for 3 h, FAILED 5 min ago: no condition changed at the failure.
    const failed = kaiwoJob('long', 'FAILED', { conditionsAgoMs: 3 * HOUR, startAgoMs: 3 * HOUR, durationS: 3 * 3600 - 300 });
    const r = run(data([...running(2), failed]));
    expect(r).to.include({ status: 'False', reason: 'WorkloadsFailing' });
    const f = r.findings.find((x) => x.reason === 'WorkloadFailed');
    expect(f?.since).to.equal(ago(300_000));
    expect(r.summary?.counts?.failed).to.equal(1);
    // Failed 2 h ago (ran 1 h): outside the 1 h window.
    const old = run(data([...running(2), kaiwoJob('old', 'FAILED', { conditionsAgoMs: 3 * HOUR, startAgoMs: 3 * HOUR, durationS: 3600 })]));
    expect(old.status).to.equal('True');
    expect(old.summary?.counts?.failed).to.equal(0);
  });

  it('dates a failure by completionTime when present, by startTime when startTime + duration is in the future, else by the newest known time', () => {
    expect(failedAt(kaiwoJob('c', 'FAILED', { startAgoMs: HOUR, durationS: 10, completionAgoMs: 120_000 }), NOW)).to.equal(ago(120_000));
    expect(failedAt(kaiwoJob('s', 'FAILED', { startAgoMs: 600_000, durationS: 7200 }), NOW), 'startTime rewritten at the failure').to.equal(
      ago(600_000),
    );
    expect(failedAt(kaiwoJob('n', 'FAILED', { conditionsAgoMs: 900_000, startAgoMs: 2 * HOUR }), NOW), 'no duration').to.equal(
      ago(900_000),
    );
    expect(
      failedAt(kaiwoJob('g', 'FAILED', { conditionsAgoMs: 900_000, startAgoMs: HOUR, durationS: -5 }), NOW),
      'garbage duration',
    ).to.equal(ago(900_000));
    const bare: KubeObject = {
      metadata: { name: 'x', namespace: 'ml', creationTimestamp: ago(50_000) },
      status: { status: 'FAILED', duration: 'x', startTime: 'never' },
    };
    expect(failedAt(bare, NOW)).to.equal(ago(50_000));
    expect(failedAt({ metadata: { name: 'y' }, status: { status: 'FAILED' } }, NOW)).to.equal(undefined);
  });

  it("reports ERROR (Schedulable=False) as WorkloadUnschedulable with Kaiwo's reason and message, and never as a failure", () => {
    const jobs = [
      ...running(1),
      ...['NoGPUs', 'InsufficientGPUs', 'WrongQueueNamespace', 'ClusterQueueNotFound'].map((reason) =>
        kaiwoJob(`big-${reason.toLowerCase()}`, 'ERROR', {
          unschedulable: { reason, message: `${reason}: requested 16 GPUs, cluster has 8` },
        }),
      ),
    ];
    const r = run(data(jobs));
    expect(r).to.include({ status: 'True', reason: 'WorkloadsHealthy' });
    expect(r.summary?.counts).to.include({ failed: 0, unschedulable: 4 });
    const u = r.findings.filter((f) => f.reason === 'WorkloadUnschedulable');
    expect(u.map((f) => f.severity)).to.deep.equal(['Warning', 'Warning', 'Warning', 'Warning']);
    expect(u[1]?.message).to.match(
      /^KaiwoJob ml\/big-insufficientgpus is not schedulable \(InsufficientGPUs\): InsufficientGPUs: requested 16 GPUs, cluster has 8 — /,
    );
    expect(u[1]?.object).to.deep.include({ kind: 'KaiwoJob', namespace: 'ml', name: 'big-insufficientgpus' });
    expect(u[1]?.since).to.equal(ago(120_000));
    expect(UNSCHEDULABLE_REASONS).to.include.members(['NoGPUs', 'InsufficientGPUs', 'WrongQueueNamespace', 'ClusterQueueNotFound']);
    // ERROR for another cause (a Deployment past its progress deadline) keeps Kaiwo's status as the finding.
    const other = run(data([kaiwoJob('svc', 'ERROR', {})]));
    expect(other.findings.map((f) => f.reason)).to.deep.equal(['WorkloadError']);
    expect(other.status).to.equal('True');
  });

  it("explains each of Kaiwo's Schedulable=False reasons (pkg/workloads/common/scheduling.go) with Kaiwo's own message", () => {
    // Kaiwo's messages, verbatim (v0.1.9 and v0.2.0-rc12).
    const cases: [string, string, RegExp][] = [
      [
        'NoGPUs',
        'Cluster has 0 GPUs (vendor: nvidia)',
        /counts no GPU of this vendor: .*kaiwo\/nodepool=<vendor>-<model>-<N>gpu.*none is left/,
      ],
      [
        'InsufficientGPUs',
        'Cluster has 16 GPUs, but requested for 32 GPUs (vendor: amd)',
        /requests more GPUs than Kaiwo counts in the whole cluster for its vendor/,
      ],
      [
        'WrongQueueNamespace',
        "Cluster queue 'kaiwo' defines one or more namespaces, but workload namespace 'ml' is not one of them",
        /namespace is not in the namespaces the KaiwoQueueConfig lists for its ClusterQueue/,
      ],
      [
        'ClusterQueueNotFound',
        "Cluster queue 'team-a' is not defined in KaiwoQueueConfig 'kaiwo'",
        /is not defined in the KaiwoQueueConfig; add it to spec.clusterQueues/,
      ],
    ];
    for (const [reason, message, hint] of cases) {
      const r = run(data([kaiwoJob('j', 'ERROR', { unschedulable: { reason, message } })]));
      const f = r.findings.find((x) => x.reason === 'WorkloadUnschedulable');
      expect(f?.message, reason).to.satisfy((m: string) => m.startsWith(`KaiwoJob ml/j is not schedulable (${reason}): ${message} — `));
      expect(f?.message, reason).to.match(hint);
      // Each reason gets its own hint, never another's: NoGPUs is not "insufficient".
      for (const [other, , otherHint] of cases) if (other !== reason) expect(f?.message, `${reason} vs ${other}`).to.not.match(otherHint);
    }
    expect(UNSCHEDULABLE_REASONS).to.have.members(cases.map(([r]) => r));
  });

  it('keeps an unknown Schedulable=False reason as Kaiwo wrote it, without a hint', () => {
    const r = run(data([kaiwoJob('j', 'ERROR', { unschedulable: { reason: 'SomethingNew', message: 'new in a later Kaiwo' } })]));
    expect(r.findings.find((x) => x.reason === 'WorkloadUnschedulable')?.message).to.equal(
      'KaiwoJob ml/j is not schedulable (SomethingNew): new in a later Kaiwo',
    );
    // A reason that happens to be an Object.prototype key is not a hint either.
    const proto = run(data([kaiwoJob('k', 'ERROR', { unschedulable: { reason: 'toString', message: 'm' } })]));
    expect(proto.findings.find((x) => x.reason === 'WorkloadUnschedulable')?.message).to.equal(
      'KaiwoJob ml/k is not schedulable (toString): m',
    );
  });

  it("does not repeat Kaiwo's WorkloadFailed Event as a second finding for the same object", () => {
    const ev: KubeObject = {
      metadata: { name: 'e1', namespace: 'ml' },
      type: 'Warning',
      reason: 'WorkloadFailed',
      message: 'failed',
      involvedObject: { kind: 'KaiwoJob', namespace: 'ml', name: 'bad' },
      lastTimestamp: ago(60_000),
    };
    const r = run(data([...running(9), kaiwoJob('bad', 'FAILED', { startAgoMs: HOUR, durationS: 3540 })], [], [ev]));
    expect(r.findings.map((f) => f.reason)).to.deep.equal(['WorkloadFailed']);
  });

  it('warns about long PENDING and stuck TERMINATING, and tolerates unknown or legacy statuses', () => {
    const r = run(
      data([
        kaiwoWorkload('KaiwoJob', 'ml', 'p', 'PENDING', 3_600_000),
        kaiwoWorkload('KaiwoJob', 'ml', 't', 'TERMINATING', 3_600_000),
        kaiwoWorkload('KaiwoJob', 'ml', 'legacy', 'READY'),
        kaiwoWorkload('KaiwoJob', 'ml', 'future', 'HIBERNATING'),
      ]),
    );
    expect(r.status).to.equal('True');
    expect(r.findings.map((f) => f.reason).sort()).to.deep.equal(['WorkloadPendingTooLong', 'WorkloadStuckTerminating']);
    expect(r.summary?.counts?.other).to.equal(2);
  });

  it('reports recent Warning Events on Kaiwo objects once per object and reason', () => {
    const ev = (reason: string, when: string): KubeObject => ({
      metadata: { name: `e-${reason}-${when}`, namespace: 'ml' },
      type: 'Warning',
      reason,
      message: 'GPU utilization below 1%',
      involvedObject: { kind: 'KaiwoJob', namespace: 'ml', name: 'job-0' },
      lastTimestamp: when,
    });
    const r = run(
      data(
        running(1),
        [],
        [ev('GpuUtilizationLow', ago(60_000)), ev('GpuUtilizationLow', ago(30_000)), ev('WorkloadFailed', ago(7_200_000))],
      ),
    );
    expect(r.findings.map((f) => f.reason)).to.deep.equal(['GpuUtilizationLow']);
  });

  it('drops Warning Events about a workload that is gone or was replaced by another of the same name', () => {
    const job = kaiwoWorkload('KaiwoJob', 'ml', 'job-0', 'RUNNING');
    job.metadata.uid = 'uid-now';
    const ev = (name: string, uid?: string): KubeObject => ({
      metadata: { name: `e-${name}-${uid ?? ''}`, namespace: 'ml' },
      type: 'Warning',
      reason: 'WorkloadFailed',
      message: 'Workload has failed',
      involvedObject: { kind: 'KaiwoJob', namespace: 'ml', name, ...(uid ? { uid } : {}) },
      lastTimestamp: ago(60_000),
    });
    expect(run(data([job], [], [ev('deleted', 'uid-x')])).findings).to.deep.equal([]);
    expect(run(data([job], [], [ev('job-0', 'uid-before')])).findings).to.deep.equal([]);
    expect(run(data([job], [], [ev('job-0', 'uid-now')])).findings.map((f) => f.object?.name)).to.deep.equal(['job-0']);
    expect(run(data([job], [], [ev('job-0')])).findings.map((f) => f.object?.name)).to.deep.equal(['job-0']);
  });

  it('is Unknown when the Kaiwo CRDs are not installed', () => {
    const r = run({ kaiwoJobs: view([], 'absent'), kaiwoServices: view([], 'absent'), jobEvents: view([]), serviceEvents: view([]) });
    expect(r).to.include({ status: 'Unknown', reason: 'KaiwoNotInstalled' });
  });
});
