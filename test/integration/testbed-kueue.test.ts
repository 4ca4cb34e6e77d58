import { expect } from 'chai';
import type { Condition, Finding, KaiwoMonitor } from '../../src/api/types.js';
import { TestBed } from '../../src/localcluster/testbed/testbed.js';
import { b64 } from '../../src/localcluster/testbed/pki.js';
import { deleteJob, kueuePath as kueueCollection } from '../../src/localcluster/testbed/workloads.js';
import { pinned } from '../../src/localcluster/versions.js';
import { rawJson } from '../../src/runtime/rawrequest.js';
import { isoSeconds } from '../../src/api/time.js';
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
 * Kueue beyond ClusterQueues and LocalQueues, on the test bed with the real Kueue: admission checks (MultiKueue's own,
 * and one whose controller the test plays), MultiKueueClusters, and the Workload lifecycle (waitForPodsReady evicting
 * and then deactivating a Workload whose pods never become ready). On Kueue v0.12.3 the queues come from Kaiwo's
 * KaiwoQueueConfig (Kaiwo deletes queues it does not list); on v0.19.2, which Kaiwo cannot sync (see the misfit suite),
 * they are created directly, as a Kueue user without Kaiwo would.
 */
const MON = 'kueue-lifecycle';
const NS = 'kq';
const FLAVOR = 'kq-any';
const MK_CHECK = 'kq-multikueue';
const MK_CONFIG = 'kq-mk';
const MK_CLUSTER = 'kq-worker';
const MK_SECRET = 'kq-worker-kubeconfig';
const APPROVAL = 'kq-approval';
const REMOTE_CQ = 'kq-remote';
const APPROVAL_CQ = 'kq-approved';
const PLAIN_CQ = 'kq-plain';
const PODS_READY_TIMEOUT_S = 10;
const log = (m: string) => process.stderr.write(`      [testbed] ${m}\n`);

for (const kueueVersion of [pinned('KUEUE_LEGACY_VERSION'), pinned('KUEUE_VERSION')].filter(
  (v) => !process.env.KAIWO_MONITOR_TESTBED_KUEUE || process.env.KAIWO_MONITOR_TESTBED_KUEUE === v,
)) {
  describe(`e2e on the test bed: Kueue ${kueueVersion}'s admission checks, MultiKueue clusters and Workload lifecycle`, function () {
    this.timeout(240_000);
    // waitForPodsReady as a platform team sets it to catch jobs that never start: a short timeout and no re-queuing.
    const tb = new TestBed({
      kueueVersion,
      log,
      kueueConfig: {
        waitForPodsReady: {
          enable: true,
          timeout: `${PODS_READY_TIMEOUT_S}s`,
          blockAdmission: false,
          requeuingStrategy: { timestamp: 'Eviction', backoffLimitCount: 0 },
        },
      },
    });
    const viaKaiwo = kueueVersion === pinned('KUEUE_LEGACY_VERSION');
    const state: Watching = {};
    const { seenSince, detected, report } = observe(state, { log, show: (m) => findingLines(m, 'kueue'), timeoutMs: 90_000 });
    const v = () => tb.kueue.apiVersion;
    const kueuePath = (plural: string, ns?: string) => kueueCollection(v(), plural, ns);
    const req = <T>(method: string, path: string, body?: unknown, contentType?: string) =>
      rawJson<T>(tb.kc, { method, path, ...(body !== undefined ? { body } : {}), ...(contentType ? { contentType } : {}) });
    const kueueObject = (kind: string, name: string, spec: Record<string, unknown>, namespace?: string) => ({
      apiVersion: `kueue.x-k8s.io/${v()}`,
      kind,
      metadata: { name, ...(namespace ? { namespace } : {}) },
      spec,
    });
    const findings = (m: KaiwoMonitor): Finding[] => (m.status?.findings ?? []).filter((f) => f.component === 'kueue');
    const kueueCond = (m: KaiwoMonitor): Condition | undefined => m.status?.conditions?.find((c) => c.type === 'KueueHealthy');
    const finding = (m: KaiwoMonitor, reason: string, name?: string) =>
      findings(m).find((f) => f.reason === reason && (name === undefined || f.object?.name === name));
    const setCheckActive = async (status: 'True' | 'False', reason: string, message: string) =>
      req(
        'PATCH',
        `${kueuePath('admissionchecks')}/${APPROVAL}/status`,
        { status: { conditions: [{ type: 'Active', status, reason, message, lastTransitionTime: isoSeconds(new Date()) }] } },
        'application/merge-patch+json',
      );
    interface Wl {
      metadata: { name: string };
      spec: { active?: boolean };
      status?: { conditions?: Condition[]; admissionChecks?: { name: string; state: string }[] };
    }
    const workloadOfJob = async (job: string): Promise<Wl | undefined> =>
      (await req<{ items: Wl[] }>('GET', kueuePath('workloads', NS))).items.find((w) => w.metadata.name.startsWith(`job-${job}-`));
    /** A suspended batch Job for LocalQueue `queue` asking 1 CPU; `nowhere` keeps its pod from ever being scheduled. */
    const job = (name: string, queue: string, nowhere = false) =>
      req('POST', `/apis/batch/v1/namespaces/${NS}/jobs`, {
        metadata: { name, labels: { 'kueue.x-k8s.io/queue-name': queue } },
        spec: {
          suspend: true,
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: 'Never',
              ...(nowhere ? { nodeSelector: { 'kaiwo-monitor.test/nowhere': 'true' } } : {}),
              containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '1' } } }],
            },
          },
        },
      });
    const clusterQueue = (name: string, checks: string[]) => ({
      namespaceSelector: {},
      ...(checks.length
        ? v() === 'v1beta1'
          ? { admissionChecks: checks }
          : { admissionChecksStrategy: { admissionChecks: checks.map((n) => ({ name: n })) } }
        : {}),
      resourceGroups: [{ coveredResources: ['cpu'], flavors: [{ name: FLAVOR, resources: [{ name: 'cpu', nominalQuota: '100' }] }] }],
    });
    const queues: [string, string[]][] = [
      [REMOTE_CQ, [MK_CHECK]],
      [APPROVAL_CQ, [APPROVAL]],
      [PLAIN_CQ, []],
    ];
    let checksCreatedAt = 0;

    before(async function () {
      this.timeout(900_000);
      await tb.start();
      log(
        `test bed started in ${(tb.startupMs / 1000).toFixed(1)}s: ${tb.phases.map(([n, ms]) => `${n} ${(ms / 1000).toFixed(1)}s`).join(', ')}`,
      );
      await req('POST', '/api/v1/namespaces', { metadata: { name: NS } });
      checksCreatedAt = Date.now();
      // MultiKueue's own admission check, its config and a worker cluster whose kubeconfig Secret does not exist yet.
      await req('POST', kueuePath('multikueueclusters'), {
        ...kueueObject(
          'MultiKueueCluster',
          MK_CLUSTER,
          v() === 'v1beta1'
            ? { kubeConfig: { locationType: 'Secret', location: MK_SECRET } }
            : { clusterSource: { kubeConfig: { locationType: 'Secret', location: MK_SECRET } } },
        ),
      });
      await req('POST', kueuePath('multikueueconfigs'), kueueObject('MultiKueueConfig', MK_CONFIG, { clusters: [MK_CLUSTER] }));
      await req(
        'POST',
        kueuePath('admissionchecks'),
        kueueObject('AdmissionCheck', MK_CHECK, {
          controllerName: 'kueue.x-k8s.io/multikueue',
          parameters: { apiGroup: 'kueue.x-k8s.io', kind: 'MultiKueueConfig', name: MK_CONFIG },
        }),
      );
      // An approval check whose controller is the test: it marks the check Active, as its controller would.
      await req('POST', kueuePath('admissionchecks'), kueueObject('AdmissionCheck', APPROVAL, { controllerName: 'example.com/approval' }));
      await setCheckActive('True', 'Active', 'the approval controller is up');
      if (viaKaiwo) {
        await editQueueConfig(tb.kc, (qc) => {
          qc.spec.resourceFlavors = [...(qc.spec.resourceFlavors ?? []), { name: FLAVOR }];
          qc.spec.clusterQueues = [
            ...(qc.spec.clusterQueues ?? []),
            ...queues.map(([name, checks]) => ({ name, namespaces: [NS], spec: clusterQueue(name, checks) })),
          ];
        });
      } else {
        await req('POST', kueuePath('resourceflavors'), kueueObject('ResourceFlavor', FLAVOR, {}));
        for (const [name, checks] of queues) {
          await req('POST', kueuePath('clusterqueues'), kueueObject('ClusterQueue', name, clusterQueue(name, checks)));
          await req('POST', kueuePath('localqueues', NS), kueueObject('LocalQueue', name, { clusterQueue: name }, NS));
        }
      }
      for (const [name] of queues)
        await waitFor(
          `LocalQueue ${NS}/${name}`,
          async () => (await req('GET', `${kueuePath('localqueues', NS)}/${name}`).catch(() => undefined)) !== undefined,
          120_000,
          200,
        );
      await watchTestBed(
        tb,
        MON,
        onlyChecks({ kueue: { maxAdmissionCheckWait: '5s', maxEvictions: 0, maxPendingAge: '10m', metrics: { enabled: false } } }),
        state,
      );
    });

    after(async function () {
      this.timeout(120_000);
      await stopTestBed(tb, state);
      report(`Kueue ${kueueVersion} on the test bed, cause → status`);
    });

    it("MultiKueue's check without a reachable worker: Critical AdmissionCheckInactive naming Kueue's reason and the queue it stops, the cluster's own Warning; healed when the kubeconfig Secret arrives", async () => {
      const hit = await seenSince(
        'AdmissionCheckInactive for the MultiKueue check',
        checksCreatedAt,
        (m) => finding(m, 'AdmissionCheckInactive', MK_CHECK) !== undefined,
      );
      // The check and the cluster are new: they get the 30 s grace their controller may need, then it is Critical.
      detected(
        'MultiKueue check with no usable cluster (created) → Critical AdmissionCheckInactive (after the 30 s grace)',
        checksCreatedAt,
        hit,
      );
      const m = hit.monitor;
      const f = finding(m, 'AdmissionCheckInactive', MK_CHECK);
      expect(f?.severity).to.equal('Critical');
      expect(f?.message).to.match(
        new RegExp(
          `^admission check ${MK_CHECK} \\(controller kueue.x-k8s.io/multikueue\\) is not Active \\(NoUsableClusters\\): .*${MK_CLUSTER}.*: ClusterQueue ${REMOTE_CQ} admit no Workloads$`,
        ),
      );
      // The queue Kueue stopped is reported too; the root cause is the condition's reason.
      expect(finding(m, 'ClusterQueueInactive', REMOTE_CQ)?.message).to.include('AdmissionCheckInactive');
      expect(kueueCond(m)).to.include({ status: 'False', reason: 'AdmissionCheckInactive' });
      const cluster = await seenSince(
        'MultiKueueClusterInactive',
        checksCreatedAt,
        (x) => finding(x, 'MultiKueueClusterInactive', MK_CLUSTER) !== undefined,
      );
      // Kueue's reason: BadConfig (v0.12), BadKubeConfig (v0.19).
      expect(finding(cluster.monitor, 'MultiKueueClusterInactive', MK_CLUSTER)?.message).to.match(
        new RegExp(`^MultiKueueCluster ${MK_CLUSTER} is not connected \\((BadConfig|BadKubeConfig)\\): .*${MK_SECRET}.*not found`),
      );
      // The checks the queues do not require, and the approval check marked Active, raise nothing.
      expect(finding(m, 'AdmissionCheckInactive', APPROVAL)).to.equal(undefined);

      // The fix: the worker's kubeconfig (this loopback cluster stands in for the worker) in Kueue's namespace.
      const fixedAt = Date.now();
      const kubeconfig = tb.cluster.local?.kubeconfigYaml() ?? '';
      await req('POST', '/api/v1/namespaces/kueue-system/secrets', {
        metadata: { name: MK_SECRET },
        type: 'Opaque',
        data: { kubeconfig: b64(kubeconfig) },
      });
      const healed = await seenSince(
        'the MultiKueue check, its cluster and its queue healthy',
        fixedAt,
        (x) => !['AdmissionCheckInactive', 'MultiKueueClusterInactive', 'ClusterQueueInactive'].some((r) => finding(x, r) !== undefined),
      );
      detected(
        'kubeconfig Secret created → AdmissionCheckInactive, MultiKueueClusterInactive and ClusterQueueInactive gone',
        fixedAt,
        healed,
      );
      expect(kueueCond(healed.monitor)?.status).to.equal('True');
    });

    it('an approval check holding a Workload with reserved quota past maxAdmissionCheckWait (5s): Warning naming check and Workload; cleared on approval; its controller turning it off is Critical', async () => {
      const t0 = Date.now();
      await job('needs-approval', APPROVAL_CQ);
      try {
        const wl = await waitFor(
          'the Workload waiting on the approval check',
          async () => {
            // Kueue v0.19 may list the check's Pending state a moment before it writes QuotaReserved: wait for both.
            const w = await workloadOfJob('needs-approval');
            const pending = w?.status?.admissionChecks?.some((c) => c.name === APPROVAL && c.state === 'Pending');
            const reserved = w?.status?.conditions?.some((c) => c.type === 'QuotaReserved' && c.status === 'True');
            return pending && reserved ? w : undefined;
          },
          60_000,
          200,
        );
        const stuck = await seenSince('AdmissionCheckStuck', t0, (m) => finding(m, 'AdmissionCheckStuck', APPROVAL) !== undefined);
        detected('Workload held Pending by the approval check → Warning AdmissionCheckStuck (bound 5 s)', t0, stuck);
        const f = finding(stuck.monitor, 'AdmissionCheckStuck', APPROVAL);
        expect(f?.severity).to.equal('Warning');
        expect(f?.message).to.match(
          new RegExp(
            `^admission check ${APPROVAL} holds 1 Workload with reserved quota in Pending longer than 5s: ${NS}/${wl.metadata.name}; oldest since `,
          ),
        );
        expect(kueueCond(stuck.monitor)?.status, JSON.stringify(stuck.monitor.status?.conditions)).to.equal('True');

        // The controller approves: Kueue admits the Workload.
        const approvedAt = Date.now();
        await req(
          'PATCH',
          `${kueuePath('workloads', NS)}/${wl.metadata.name}/status`,
          {
            status: {
              admissionChecks: [{ name: APPROVAL, state: 'Ready', message: 'approved', lastTransitionTime: isoSeconds(new Date()) }],
            },
          },
          'application/merge-patch+json',
        );
        await waitFor(
          'Kueue admits the approved Workload',
          async () =>
            (await workloadOfJob('needs-approval'))?.status?.conditions?.some((c) => c.type === 'Admitted' && c.status === 'True'),
          60_000,
          200,
        );
        const cleared = await seenSince('AdmissionCheckStuck cleared', approvedAt, (m) => finding(m, 'AdmissionCheckStuck') === undefined);
        detected('approved → AdmissionCheckStuck gone', approvedAt, cleared);
      } finally {
        await deleteJob(tb.kc, NS, 'needs-approval');
      }

      // The controller marks its check inactive (say it lost its backend): Kueue stops the queue, and the monitor says why.
      const offAt = Date.now();
      await setCheckActive('False', 'BackendUnreachable', 'approval service at approvals.example:443 unreachable');
      try {
        const off = await seenSince(
          'AdmissionCheckInactive for the approval check',
          offAt,
          (m) => finding(m, 'AdmissionCheckInactive', APPROVAL) !== undefined,
        );
        detected('approval check marked Active=False by its controller → Critical AdmissionCheckInactive', offAt, off);
        expect(finding(off.monitor, 'AdmissionCheckInactive', APPROVAL)?.message).to.equal(
          `admission check ${APPROVAL} (controller example.com/approval) is not Active (BackendUnreachable): approval service at approvals.example:443 unreachable: ClusterQueue ${APPROVAL_CQ} admit no Workloads`,
        );
      } finally {
        await setCheckActive('True', 'Active', 'the approval controller is up');
      }
      await seenSince(
        'the approval check healthy again',
        Date.now(),
        (m) => finding(m, 'AdmissionCheckInactive') === undefined && kueueCond(m)?.status === 'True',
      );
    });

    it(`a Workload whose pods never become ready: Kueue evicts and deactivates it past waitForPodsReady (${PODS_READY_TIMEOUT_S}s, backoffLimitCount 0) → Warning RequeuingLimitExceeded naming it, evictions by Kueue's reason; gone with the Job`, async () => {
      const t0 = Date.now();
      await job('never-ready', PLAIN_CQ, true);
      try {
        const wl = await waitFor(
          'Kueue deactivates the Workload',
          async () => {
            const w = await workloadOfJob('never-ready');
            return w?.spec.active === false && w.status?.conditions?.some((c) => c.type === 'Evicted' && c.status === 'True')
              ? w
              : undefined;
          },
          90_000,
          250,
        );
        const evicted = wl.status?.conditions?.find((c) => c.type === 'Evicted');
        log(`Kueue ${kueueVersion} evicted it: ${evicted?.reason ?? ''}: ${evicted?.message ?? ''}`);
        const hit = await seenSince('RequeuingLimitExceeded', t0, (m) => finding(m, 'RequeuingLimitExceeded') !== undefined);
        detected(
          `Job with pods never ready → Warning RequeuingLimitExceeded (Kueue's timeout ${PODS_READY_TIMEOUT_S} s included)`,
          t0,
          hit,
        );
        const f = finding(hit.monitor, 'RequeuingLimitExceeded');
        expect(f).to.deep.include({
          severity: 'Warning',
          object: { apiVersion: `kueue.x-k8s.io/${v()}`, kind: 'Workload', namespace: NS, name: wl.metadata.name },
        });
        expect(f?.message).to.equal(
          `1 Workload deactivated by Kueue: exceeded the re-queuing limit (their pods did not become ready within waitForPodsReady.timeout, requeuingStrategy.backoffLimitCount times): ${NS}/${wl.metadata.name}; they stay inactive until spec.active is set to true`,
        );
        const evictions = await seenSince('FrequentEvictions', t0, (m) => finding(m, 'FrequentEvictions') !== undefined);
        expect(finding(evictions.monitor, 'FrequentEvictions')?.message).to.equal(
          `1 Workload evicted in the last 15m (threshold 0): ${evicted?.reason ?? ''} 1`,
        );
        expect(evictions.monitor.status?.summary?.kueue?.counts).to.include({ deactivatedWorkloads: 1, evictions: 1 });
      } finally {
        await deleteJob(tb.kc, NS, 'never-ready');
      }
      const goneAt = Date.now();
      const gone = await seenSince(
        'RequeuingLimitExceeded and FrequentEvictions gone with the Job',
        goneAt,
        (m) => finding(m, 'RequeuingLimitExceeded') === undefined && finding(m, 'FrequentEvictions') === undefined,
      );
      expect(gone.monitor.status?.summary?.kueue?.counts).to.include({ deactivatedWorkloads: 0, evictions: 0 });
    });
  });
}
