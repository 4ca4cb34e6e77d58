import { expect } from 'chai';
import { applyDefaults } from '../../../src/api/defaults.js';
import { specSchema } from '../../../src/api/schema.js';
import type { KaiwoMonitorSpec } from '../../../src/api/types.js';
import type { SourceView } from '../../../src/checks/types.js';
import { workloadsCheck } from '../../../src/checks/workloads.js';
import type { KubeObject } from '../../../src/runtime/objects.js';
import { ago, kaiwoWorkload, NOW, view } from '../../support/fixtures.js';

const spec = applyDefaults<KaiwoMonitorSpec>(specSchema, {}).workloads;
const data = (jobs: KubeObject[], services: KubeObject[] = [], events: KubeObject[] = []): Record<string, SourceView> =>
  ({ kaiwoJobs: view(jobs), kaiwoServices: view(services), jobEvents: view(events), serviceEvents: view([]) });
const run = (d: Record<string, SourceView>) => workloadsCheck.evaluate({ spec, data: d, scrapes: {}, now: NOW });
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
    expect(r.findings.find((f) => f.reason === 'WorkloadFailed')?.object).to.deep.include({ kind: 'KaiwoJob', namespace: 'ml', name: 'bad' });
    const old = run(data([...running(2), kaiwoWorkload('KaiwoJob', 'ml', 'bad', 'FAILED', 2 * 3_600_000)]));
    expect(old.status).to.equal('True');
    const few = run(data([...running(9), kaiwoWorkload('KaiwoJob', 'ml', 'bad', 'ERROR')]));
    expect(few.status, '10% < 20%').to.equal('True');
    expect(few.findings[0]?.reason).to.equal('WorkloadError');
  });

  it('warns about long PENDING and stuck TERMINATING, and tolerates unknown or legacy statuses', () => {
    const r = run(data([
      kaiwoWorkload('KaiwoJob', 'ml', 'p', 'PENDING', 3_600_000),
      kaiwoWorkload('KaiwoJob', 'ml', 't', 'TERMINATING', 3_600_000),
      kaiwoWorkload('KaiwoJob', 'ml', 'legacy', 'READY'),
      kaiwoWorkload('KaiwoJob', 'ml', 'future', 'HIBERNATING'),
    ]));
    expect(r.status).to.equal('True');
    expect(r.findings.map((f) => f.reason).sort()).to.deep.equal(['WorkloadPendingTooLong', 'WorkloadStuckTerminating']);
    expect(r.summary?.counts?.other).to.equal(2);
  });

  it('reports recent Warning Events on Kaiwo objects once per object and reason', () => {
    const ev = (reason: string, when: string): KubeObject => ({ metadata: { name: `e-${reason}-${when}`, namespace: 'ml' }, type: 'Warning', reason, message: 'GPU utilization below 1%', involvedObject: { kind: 'KaiwoJob', namespace: 'ml', name: 'job-0' }, lastTimestamp: when });
    const r = run(data(running(1), [], [ev('GpuUtilizationLow', ago(60_000)), ev('GpuUtilizationLow', ago(30_000)), ev('WorkloadFailed', ago(7_200_000))]));
    expect(r.findings.map((f) => f.reason)).to.deep.equal(['GpuUtilizationLow']);
  });

  it('is Unknown when the Kaiwo CRDs are not installed', () => {
    const r = run({ kaiwoJobs: view([], 'absent'), kaiwoServices: view([], 'absent'), jobEvents: view([]), serviceEvents: view([]) });
    expect(r).to.include({ status: 'Unknown', reason: 'KaiwoNotInstalled' });
  });
});
