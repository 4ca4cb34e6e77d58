import { expect } from 'chai';
import type { KaiwoMonitor } from '../../src/api/types.js';
import { TestBed } from '../../src/localcluster/testbed/testbed.js';
import { scraperSecret } from '../../src/localcluster/testbed/monitor.js';
import { kueuePath as kueueCollection, quotaReserved, submitJob } from '../../src/localcluster/testbed/workloads.js';
import { pinned } from '../../src/localcluster/versions.js';
import { rawJson } from '../../src/runtime/rawrequest.js';
import { explain } from '../../src/why/explain.js';
import { gather, parseTarget } from '../../src/why/gather.js';
import {
  editQueueConfig,
  findingLines,
  observe,
  onlyChecks,
  stopTestBed,
  watchTestBed,
  type Watching,
} from '../support/testbed-monitor.js';
import { waitFor } from '../support/wait.js';

/**
 * Kueue's cohorts and its own metrics, on the test bed with the real Kueue (fair sharing on): a Cohort object with
 * GPUs of its own, a queue that lends nothing (lendingLimit 0) and one that borrows, batch Jobs the real Kueue admits
 * or holds by that arithmetic on kwok MI300X nodes; then the borrowing queue drained and released twice, so Kueue
 * evicts and re-admits its Workloads. On Kueue v0.12.3 the queues come from Kaiwo's KaiwoQueueConfig (Kaiwo deletes
 * queues it does not list) and the Cohort is v1alpha1; on v0.19.2 (which Kaiwo cannot sync) they are created directly.
 */
const MON = 'cohorts';
const NS = 'co';
const FLAVOR = 'co-mi300x';
const COHORT = 'co-pool';
const LENDER = 'co-lender';
const BORROWER = 'co-borrower';
const MI300X = { 'amd.com/gpu.product-name': 'AMD_Instinct_MI300X_OAM' };
const log = (m: string) => process.stderr.write(`      [testbed] ${m}\n`);

for (const kueueVersion of [pinned('KUEUE_LEGACY_VERSION'), pinned('KUEUE_VERSION')].filter(
  (v) => !process.env.KAIWO_MONITOR_TESTBED_KUEUE || process.env.KAIWO_MONITOR_TESTBED_KUEUE === v,
)) {
  describe(`e2e on the test bed: Kueue ${kueueVersion}'s cohorts (lending, a Cohort's own quota, fair sharing) and its eviction counter`, function () {
    this.timeout(240_000);
    const tb = new TestBed({ kueueVersion, log, kueueConfig: { fairSharing: { enable: true } } });
    const viaKaiwo = kueueVersion === pinned('KUEUE_LEGACY_VERSION');
    const state: Watching = {};
    const { seenSince, detected, report } = observe(state, { log, show: (m) => findingLines(m), timeoutMs: 90_000 });
    const v = () => tb.kueue.apiVersion;
    const kueuePath = (plural: string, ns?: string) => kueueCollection(v(), plural, ns);
    const req = <T>(method: string, path: string, body?: unknown, contentType?: string) =>
      rawJson<T>(tb.kc, { method, path, ...(body !== undefined ? { body } : {}), ...(contentType ? { contentType } : {}) });
    const inadmissible = (m: KaiwoMonitor) => m.status?.summary?.kueue?.counts?.inadmissibleWorkloads;
    const finding = (m: KaiwoMonitor, component: string, reason: string, name?: string) =>
      (m.status?.findings ?? []).find(
        (f) => f.component === component && f.reason === reason && (name === undefined || f.object?.name === name),
      );
    /** GPUs of flavor FLAVOR (and CPUs enough for anything), with the limits given. */
    const gpuGroup = (gpus: number, limits: { lendingLimit?: string } = {}) => [
      {
        coveredResources: ['cpu', 'amd.com/gpu'],
        flavors: [
          {
            name: FLAVOR,
            resources: [
              { name: 'cpu', nominalQuota: '1000' },
              { name: 'amd.com/gpu', nominalQuota: String(gpus), ...limits },
            ],
          },
        ],
      },
    ];
    const cohortField = () => (v() === 'v1beta1' ? { cohort: COHORT } : { cohortName: COHORT });
    const queueSpec = (gpus: number, limits: { lendingLimit?: string } = {}, extra: Record<string, unknown> = {}) => ({
      namespaceSelector: {},
      ...cohortField(),
      resourceGroups: gpuGroup(gpus, limits),
      ...extra,
    });
    /** Changes a queue the way its owner would: in Kaiwo's KaiwoQueueConfig on v0.12.3, on the ClusterQueue on v0.19.2. */
    const editQueue = async (name: string, f: (spec: Record<string, unknown>) => void) => {
      if (viaKaiwo) {
        await editQueueConfig(tb.kc, (qc) => {
          const q = qc.spec.clusterQueues?.find((x) => x.name === name);
          if (q?.spec) f(q.spec);
        });
        return;
      }
      await waitFor(
        `ClusterQueue ${name} updated`,
        async () => {
          const cq = await req<{ spec: Record<string, unknown> }>('GET', `${kueuePath('clusterqueues')}/${name}`);
          f(cq.spec);
          return req('PUT', `${kueuePath('clusterqueues')}/${name}`, cq).then(
            () => true,
            () => false,
          );
        },
        30_000,
        200,
      );
    };
    const lendingLimit = (n: string) => (spec: Record<string, unknown>) => {
      const gpu = (spec.resourceGroups as ReturnType<typeof gpuGroup>)[0]?.flavors[0]?.resources[1] as { lendingLimit?: string };
      gpu.lendingLimit = n;
    };
    const job = (name: string) =>
      submitJob(tb.kc, NS, name, { queue: BORROWER, resource: 'amd.com/gpu', gpus: 4, runFor: '1h', requests: { cpu: '1' } });
    const admitted = (name: string) => quotaReserved(tb.kc, v(), NS, name);

    before(async function () {
      this.timeout(900_000);
      await tb.start();
      log(`test bed started in ${(tb.startupMs / 1000).toFixed(1)}s`);
      await req('POST', '/api/v1/namespaces', { metadata: { name: NS } });
      // The Cohort with 4 GPUs of its own: v1alpha1 on Kueue v0.12 (served only so), the queues' version on v0.19.
      const cohortVersion = viaKaiwo ? 'v1alpha1' : v();
      await req('POST', `/apis/kueue.x-k8s.io/${cohortVersion}/cohorts`, {
        apiVersion: `kueue.x-k8s.io/${cohortVersion}`,
        kind: 'Cohort',
        metadata: { name: COHORT },
        spec: { resourceGroups: gpuGroup(4) },
      });
      const queues: [string, ReturnType<typeof queueSpec>][] = [
        [LENDER, queueSpec(8, { lendingLimit: '0' })],
        [BORROWER, queueSpec(0)],
      ];
      if (viaKaiwo) {
        await editQueueConfig(tb.kc, (qc) => {
          qc.spec.resourceFlavors = [...(qc.spec.resourceFlavors ?? []), { name: FLAVOR, nodeLabels: MI300X }];
          qc.spec.clusterQueues = [...(qc.spec.clusterQueues ?? []), ...queues.map(([name, spec]) => ({ name, namespaces: [NS], spec }))];
        });
      } else {
        await req('POST', kueuePath('resourceflavors'), {
          apiVersion: `kueue.x-k8s.io/${v()}`,
          kind: 'ResourceFlavor',
          metadata: { name: FLAVOR },
          spec: { nodeLabels: MI300X },
        });
        for (const [name, spec] of queues) {
          await req('POST', kueuePath('clusterqueues'), {
            apiVersion: `kueue.x-k8s.io/${v()}`,
            kind: 'ClusterQueue',
            metadata: { name },
            spec,
          });
          await req('POST', kueuePath('localqueues', NS), {
            apiVersion: `kueue.x-k8s.io/${v()}`,
            kind: 'LocalQueue',
            metadata: { name, namespace: NS },
            spec: { clusterQueue: name },
          });
        }
      }
      await waitFor(
        `LocalQueue ${NS}/${BORROWER}`,
        async () => (await req('GET', `${kueuePath('localqueues', NS)}/${BORROWER}`).catch(() => undefined)) !== undefined,
        120_000,
        200,
      );
      const secretRef = await scraperSecret(tb.kc);
      await watchTestBed(
        tb,
        MON,
        onlyChecks({
          capacity: {},
          kueue: {
            maxEvictions: 1,
            maxPendingAge: '10m',
            metrics: {
              enabled: true,
              url: tb.kueue.metricsUrl,
              interval: '1s',
              timeout: '900ms',
              tls: { insecureSkipVerify: true },
              bearerToken: { source: 'Secret', secretRef },
              maxInadmissibleAttemptsPerMinute: 1000,
            },
          },
        }),
        state,
      );
    });

    after(async function () {
      this.timeout(120_000);
      await stopTestBed(tb, state);
      report(`Kueue ${kueueVersion} cohorts on the test bed, cause → status`);
    });

    it("a queue borrowing its Cohort's own GPUs, the peer lending none: PendingOnQuota by Kueue's arithmetic, with the fair share; gone when the peer lends", async () => {
      await job('first');
      await waitFor("the first job admitted on the Cohort's own 4 GPUs", () => admitted('first'), 60_000, 200);
      const t0 = Date.now();
      await job('second');
      const hit = await seenSince(
        'PendingOnQuota on the borrowing queue',
        t0,
        (m) => finding(m, 'capacity', 'PendingOnQuota', BORROWER) !== undefined,
      );
      detected('4 GPUs asked beyond the cohort, the peer lends none → Warning PendingOnQuota', t0, hit);
      expect(await admitted('second'), 'Kueue holds it too').to.equal(false);
      const f = finding(hit.monitor, 'capacity', 'PendingOnQuota', BORROWER);
      // 16 MI300X GPUs, 4 in use: 12 free — the quota holds it, as Kueue's own arithmetic says (the peer's 8 idle GPUs
      // are not lent: lendingLimit 0). Fair sharing is on: Kueue's share for the borrowing queue is quoted.
      expect(f?.message).to.match(
        new RegExp(
          `^ClusterQueue ${BORROWER}, flavor ${FLAVOR}: 1 pending Workload need 4 amd.com/gpu; 12 healthy GPUs are free but the quota is exhausted ` +
            `\\(4 in use of nominal 0; cohort ${COHORT} \\(4 of its own\\): 0 more can be admitted, at most 4 with nothing else in use; ` +
            `fair sharing: weighted share \\d+ `,
        ),
      );

      // `kaiwo-monitor why` reads the Cohort too and says the same.
      const a = explain(await gather(tb.kc, parseTarget('job/second', NS)));
      expect(a.heldBy, a.cause).to.equal('Capacity');
      expect(a.cause).to.include(`cohort ${COHORT} (4 of its own): 0 more can be admitted, at most 4 with nothing else in use`);

      // Kueue parks the held Job as inadmissible (a failed admission attempt): its own gauge, read from its metrics.
      const parked = await seenSince("Kueue's gauge: the held Job inadmissible", t0, (m) => (inadmissible(m) ?? 0) >= 1);
      detected("the held Job → inadmissibleWorkloads ≥ 1 from Kueue's metrics (1 s scrapes)", t0, parked);

      // The fix: the peer lends 4.
      const fixedAt = Date.now();
      await editQueue(LENDER, lendingLimit('4'));
      await waitFor('the second job admitted on the lent GPUs', () => admitted('second'), 60_000, 200);
      const healed = await seenSince('PendingOnQuota gone', fixedAt, (m) => finding(m, 'capacity', 'PendingOnQuota') === undefined);
      detected('the peer lends 4 → PendingOnQuota gone', fixedAt, healed);
      await seenSince('no Workload inadmissible once admitted', fixedAt, (m) => inadmissible(m) === 0);
    });

    it("the borrowing queue drained and released twice: FrequentEvictions from Kueue's counter stays after the Workloads are admitted again", async () => {
      const both = async () => (await admitted('first')) && (await admitted('second'));
      await waitFor('both jobs admitted', both, 60_000, 200);
      // Kueue's counter gets its ClusterQueueStopped series at the first drain (a series' first value is its baseline,
      // as for PromQL's increase()); the second drain is counted.
      let readmittedAt = 0;
      for (let round = 1; round <= 2; round++) {
        await editQueue(BORROWER, (spec) => {
          spec.stopPolicy = 'HoldAndDrain';
        });
        await waitFor(
          `both jobs evicted (round ${round})`,
          async () => !(await admitted('first')) && !(await admitted('second')),
          60_000,
          200,
        );
        await editQueue(BORROWER, (spec) => {
          spec.stopPolicy = 'None';
        });
        await waitFor(`both jobs admitted again (round ${round})`, both, 60_000, 200);
        readmittedAt = Date.now();
      }
      // Their Evicted conditions are False now (Kueue resets them at admission): only the counter remembers.
      const wls = await req<{ items: { status?: { conditions?: { type: string; status: string }[] } }[] }>(
        'GET',
        kueuePath('workloads', NS),
      );
      expect(wls.items.flatMap((w) => w.status?.conditions ?? []).filter((c) => c.type === 'Evicted' && c.status === 'True')).to.deep.equal(
        [],
      );
      const hit = await seenSince(
        'FrequentEvictions after re-admission',
        readmittedAt,
        // A status the monitor evaluated before it saw the re-admission may land just after it: wait for the counter's.
        (m) => finding(m, 'kueue', 'FrequentEvictions')?.message.includes('kueue_evicted_workloads_total') === true,
      );
      expect(finding(hit.monitor, 'kueue', 'FrequentEvictions')?.message).to.match(
        /^\d+ Workloads evicted in the last 15m \(threshold 1\): ClusterQueueStopped \d+ \(Kueue's kueue_evicted_workloads_total over the last /,
      );
    });
  });
}
