import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Condition } from '../../src/api/types.js';
import { TestBed } from '../../src/localcluster/testbed/testbed.js';
import {
  deleteJob,
  jobPod,
  kueuePath as kueueCollection,
  quotaReserved,
  submitJob,
  submitKaiwoJob,
  workloadOf,
} from '../../src/localcluster/testbed/workloads.js';
import { rawJson } from '../../src/runtime/rawrequest.js';
import { explain } from '../../src/why/explain.js';
import { gather, parseTarget } from '../../src/why/gather.js';
import type { Answer } from '../../src/why/types.js';
import { kaiwoMonitor } from '../support/commands.js';
import { editQueueConfig, type QueueConfig, QUEUE_CONFIG_PATH } from '../support/testbed-monitor.js';
import { waitFor } from '../support/wait.js';

/**
 * `kaiwo-monitor why` on the full test bed: the real Kaiwo operator syncs the queues from its KaiwoQueueConfig, the
 * real Kueue admits (or holds) batch Jobs and KaiwoJobs by quota, the real scheduler places (or cannot place) their
 * pods on kwok GPU nodes. Each cause is made the way it happens on a cluster, and `why` must name it.
 */
const NS = 'ml-why';
const OTHER_NS = 'ml-why-other';
const FLAVOR = 'why-mi300x';
const CQ = 'why-q';
const EMPTY_CQ = 'why-empty';
const AC_CQ = 'why-ac';
const CHECK = 'why-manual-check';
const SMALL_CQ = 'why-small';
const POOL = { 'kaiwo/nodepool': 'amd-mi300x-8gpu-86core-900gi' };
const log = (m: string) => process.stderr.write(`      [testbed] ${m}\n`);

describe('e2e on the test bed: kaiwo-monitor why, with the real Kaiwo and Kueue', function () {
  this.timeout(300_000);
  const tb = new TestBed({ log });
  const kueuePath = (plural: string, ns?: string) => kueueCollection(tb.kueue.apiVersion, plural, ns);
  const req = <T>(method: string, path: string, body?: unknown, contentType?: string) =>
    rawJson<T>(tb.kc, { method, path, ...(body !== undefined ? { body } : {}), ...(contentType ? { contentType } : {}) });
  const why = async (ref: string, ns = NS): Promise<Answer> => explain(await gather(tb.kc, parseTarget(ref, ns)));
  const job = (name: string, queue = CQ, gpus = 8) =>
    submitJob(tb.kc, NS, name, { queue, resource: 'amd.com/gpu', gpus, runFor: '1h', requests: { cpu: '8' } });
  const admitted = (name: string) => quotaReserved(tb.kc, tb.kueue.apiVersion, NS, name);
  const deleteJobs = async (...names: string[]) => {
    for (const j of names) await deleteJob(tb.kc, NS, j);
    await waitFor(
      `the pods of ${names.join(', ')} gone`,
      async () => {
        const pods = await req<{ items: { metadata: { labels?: Record<string, string> } }[] }>('GET', `/api/v1/namespaces/${NS}/pods`);
        return !pods.items.some((p) => names.includes(p.metadata.labels?.['job-name'] ?? ''));
      },
      60_000,
      200,
    );
  };
  const cqActive = async (name: string) =>
    (
      await req<{ status?: { conditions?: Condition[] } }>('GET', `${kueuePath('clusterqueues')}/${name}`).catch(() => undefined)
    )?.status?.conditions?.some((c) => c.type === 'Active' && c.status === 'True') === true;
  const clusterQueue = (name: string, flavor: string, gpus: number, extra: Record<string, unknown> = {}) => ({
    name,
    namespaces: [NS],
    spec: {
      namespaceSelector: {},
      ...extra,
      resourceGroups: [
        {
          coveredResources: ['cpu', 'amd.com/gpu'],
          flavors: [
            {
              name: flavor,
              resources: [
                { name: 'cpu', nominalQuota: '1000' },
                { name: 'amd.com/gpu', nominalQuota: String(gpus) },
              ],
            },
          ],
        },
      ],
    },
  });
  const setTaint = async (node: string, taints: object[]) => {
    await req('PATCH', `/api/v1/nodes/${node}`, { spec: { taints } }, 'application/merge-patch+json');
  };

  before(async function () {
    this.timeout(900_000);
    await tb.start();
    for (const ns of [NS, OTHER_NS]) await req('POST', '/api/v1/namespaces', { metadata: { name: ns } });
    await waitFor(
      'KaiwoQueueConfig kaiwo READY',
      async () => (await req<QueueConfig>('GET', QUEUE_CONFIG_PATH).catch(() => undefined))?.status?.status === 'READY',
      120_000,
      250,
    );
    // An admission check whose controller is "a person": the test plays it and marks the check Active, as its controller would.
    await req('POST', kueuePath('admissionchecks'), {
      apiVersion: `kueue.x-k8s.io/${tb.kueue.apiVersion}`,
      kind: 'AdmissionCheck',
      metadata: { name: CHECK },
      spec: { controllerName: 'example.com/manual' },
    });
    await req(
      'PATCH',
      `${kueuePath('admissionchecks')}/${CHECK}/status`,
      {
        status: {
          conditions: [
            {
              type: 'Active',
              status: 'True',
              reason: 'Active',
              message: 'the manual check controller is up',
              lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
            },
          ],
        },
      },
      'application/merge-patch+json',
    );
    // A platform engineer's queues, in Kaiwo's config (Kaiwo deletes the ones it does not list): 16 GPUs on the two MI300X
    // nodes; a queue on a flavor whose nodes are gone (a pool renamed); a queue behind the admission check.
    await editQueueConfig(tb.kc, (qc) => {
      qc.spec.resourceFlavors = [
        ...(qc.spec.resourceFlavors ?? []),
        { name: FLAVOR, nodeLabels: POOL },
        { name: 'why-retired-pool', nodeLabels: { 'kaiwo/nodepool': 'amd-mi250-8gpu-retired' } },
      ];
      qc.spec.clusterQueues = [
        ...(qc.spec.clusterQueues ?? []),
        clusterQueue(CQ, FLAVOR, 16),
        clusterQueue(SMALL_CQ, FLAVOR, 8),
        clusterQueue(EMPTY_CQ, 'why-retired-pool', 8),
        clusterQueue(AC_CQ, FLAVOR, 16, {
          [tb.kueue.apiVersion === 'v1beta1' ? 'admissionChecks' : 'admissionChecksStrategy']:
            tb.kueue.apiVersion === 'v1beta1' ? [CHECK] : { admissionChecks: [{ name: CHECK }] },
        }),
      ];
    });
    for (const q of [CQ, SMALL_CQ, EMPTY_CQ, AC_CQ]) await waitFor(`ClusterQueue ${q} Active`, () => cqActive(q), 120_000, 200);
    await waitFor(
      `LocalQueue ${CQ} in ${NS}`,
      async () => (await req('GET', `${kueuePath('localqueues', NS)}/${CQ}`).catch(() => undefined)) !== undefined,
      60_000,
      200,
    );
  });

  after(async function () {
    this.timeout(120_000);
    await tb.stop();
  });

  it('bad questions get one line and exit 2: an unknown kind, a missing object', async () => {
    const unknown = await kaiwoMonitor(['why', 'pod/x', '-n', NS, '--kubeconfig', tb.kubeconfigPath]);
    expect(unknown).to.deep.include({ code: 2, stdout: '' });
    expect(unknown.stderr.trim()).to.match(/^kaiwo-monitor why: unknown kind "pod"/);
    const missing = await kaiwoMonitor(['why', 'kaiwojob/nope', '-n', NS, '--kubeconfig', tb.kubeconfigPath]);
    expect(missing).to.deep.include({ code: 2, stdout: '' });
    expect(missing.stderr.trim()).to.equal(`kaiwo-monitor why: KaiwoJob ${NS}/nope not found`);
  });

  it('no permission to read the job: one line and exit 2', async () => {
    // A ServiceAccount with no RBAC at all, through a token the API server issues (TokenRequest).
    await req('POST', `/api/v1/namespaces/${NS}/serviceaccounts`, { metadata: { name: 'why-nobody' } });
    const token = (
      await req<{ status: { token: string } }>('POST', `/api/v1/namespaces/${NS}/serviceaccounts/why-nobody/token`, { spec: {} })
    ).status.token;
    const file = join(mkdtempSync(join(tmpdir(), 'why-nobody-')), 'kubeconfig');
    const server = tb.kc.getCurrentCluster()?.server ?? '';
    writeFileSync(
      file,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]\n` +
        `users: [{name: u, user: {token: "${token}"}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
    );
    await submitKaiwoJob(tb.kc, NS, 'secret-plan', { gpus: 8, gpuVendor: 'amd', runFor: '1h', clusterQueue: CQ });
    const r = await kaiwoMonitor(['why', 'kaiwojob/secret-plan', '-n', NS, '--kubeconfig', file]);
    expect(r).to.deep.include({ code: 2, stdout: '' });
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    expect(r.stderr).to.match(/^kaiwo-monitor why: cannot read KaiwoJob ml-why\/secret-plan: .*HTTP 403.*forbidden/);
    await req('DELETE', `/apis/kaiwo.silogen.ai/v1alpha1/namespaces/${NS}/kaiwojobs/secret-plan`);
  });

  it('quota exhausted while GPUs are free (PendingOnQuota): held by Capacity, a policy limit, not hardware', async () => {
    try {
      await job('small-1', SMALL_CQ);
      await waitFor('small-1 admitted', () => admitted('small-1'), 60_000, 200);
      await job('small-2', SMALL_CQ);
      const a = await waitFor(
        'why says quota',
        async () => {
          const x = await why('job/small-2');
          return x.heldBy ? x : undefined;
        },
        60_000,
        500,
      );
      expect(a.heldBy, a.cause).to.equal('Capacity');
      expect(a.cause).to.match(
        /^the quota is exhausted while GPUs are free: ClusterQueue why-small, flavor why-mi300x: .*8 healthy GPUs are free but the quota is exhausted \(8 in use of nominal 8\)/,
      );
      expect(a.action).to.include('raise nominalQuota (or borrowingLimit) of ClusterQueue why-small in KaiwoQueueConfig kaiwo');
    } finally {
      await deleteJobs('small-1', 'small-2');
    }
  });

  it('a job simply next in line: exit 0 with its position; a KaiwoJob behind it is 2nd with the GPUs ahead', async () => {
    await job('a');
    await job('b');
    await waitFor('a and b admitted', async () => (await admitted('a')) && admitted('b'), 60_000, 200);
    await job('c');
    await waitFor(
      'Kueue holds c for quota',
      async () =>
        (await workloadOf(tb.kc, tb.kueue.apiVersion, NS, 'c'))?.status?.conditions?.some(
          (x) => x.type === 'QuotaReserved' && x.status === 'False',
        ),
      60_000,
      200,
    );
    const c = await why('job/c');
    expect(c.exitCode, JSON.stringify(c.links)).to.equal(0);
    expect(c.position).to.deep.include({ source: 'computed', index: 0, pending: 1 });
    expect(c.cause).to.equal(`it is 1st in line in ClusterQueue ${CQ} and starts when the work ahead of it frees quota`);
    const cli = await kaiwoMonitor(['why', 'job/c', '-n', NS, '--kubeconfig', tb.kubeconfigPath]);
    expect(cli.code, cli.stderr).to.equal(0);
    expect(cli.stdout).to.include(`ok    Position      1st of 1 pending`);
    const json = await kaiwoMonitor(['why', 'job/c', '-n', NS, '-o', 'json', '--kubeconfig', tb.kubeconfigPath]);
    expect(JSON.parse(json.stdout)).to.deep.include({ kind: 'WhyAnswer', exitCode: 0 });

    await submitKaiwoJob(tb.kc, NS, 'train-k', { gpus: 8, gpuVendor: 'amd', runFor: '1h', clusterQueue: CQ });
    const k = await waitFor(
      'KaiwoJob train-k queued behind c',
      async () => {
        const a = await why('kaiwojob/train-k');
        return a.position?.index === 1 ? a : undefined;
      },
      60_000,
      500,
    );
    expect(k.exitCode).to.equal(0);
    expect(k.links.map((l) => l.step)).to.deep.equal(['Kaiwo', 'Workload', 'LocalQueue', 'ClusterQueue', 'Position', 'Capacity']);
    expect(k.position?.aheadGpus).to.deep.equal({ 'amd.com/gpu': 8 });
  });

  it("the ClusterQueue held (stopPolicy Hold in Kaiwo's config): held by ClusterQueue, with the patch to release it", async () => {
    await editQueueConfig(tb.kc, (qc) => {
      const q = qc.spec.clusterQueues?.find((x) => x.name === CQ);
      if (q?.spec) q.spec.stopPolicy = 'Hold';
    });
    try {
      const a = await waitFor(
        'why names the stopped queue',
        async () => {
          const x = await why('job/c');
          return x.heldBy === 'ClusterQueue' ? x : undefined;
        },
        60_000,
        500,
      );
      expect(a.exitCode).to.equal(1);
      expect(a.cause).to.equal(`ClusterQueue ${CQ} is held (stopPolicy Hold): it admits nothing`);
      expect(a.action).to.include(`kubectl patch clusterqueue ${CQ} --type merge -p '{"spec":{"stopPolicy":"None"}}'`);
    } finally {
      await editQueueConfig(tb.kc, (qc) => {
        const q = qc.spec.clusterQueues?.find((x) => x.name === CQ);
        if (q?.spec) delete q.spec.stopPolicy;
      });
      await waitFor(`ClusterQueue ${CQ} active again`, () => cqActive(CQ), 60_000, 200);
    }
  });

  it('GPUs lost on a named node: the admitted job whose pod waits and the job queued behind it both name it; healed when the GPUs are back', async () => {
    const b = await waitFor('b running', async () => (await jobPod(tb.kc, NS, 'b'))?.node, 60_000, 200);
    // The device plugin marks all 8 GPUs of b's node unhealthy (b's pod runs on), then b ends: its quota goes to c,
    // whose pod finds no GPUs (in that order, so c's pod cannot start on the node before its GPUs are gone).
    await tb.nodes.setAllocatableGpus(b, 0);
    try {
      await deleteJobs('b');
      await waitFor('c admitted into the freed quota', () => admitted('c'), 60_000, 200);
      const c = await waitFor(
        "c's pod found unschedulable",
        async () => {
          const x = await why('job/c');
          return x.heldBy === 'Pods' ? x : undefined;
        },
        60_000,
        500,
      );
      expect(c.cause).to.include(`GPUs are lost on ${b}`);
      const k = await waitFor(
        'the KaiwoJob behind it held by lost capacity',
        async () => {
          const x = await why('kaiwojob/train-k');
          return x.heldBy === 'Capacity' ? x : undefined;
        },
        60_000,
        500,
      );
      expect(k.exitCode).to.equal(1);
      expect(k.cause)
        .to.match(/^GPUs are lost: /)
        .and.include(b);
    } finally {
      await tb.nodes.setAllocatableGpus(b, 8);
    }
    await waitFor('c running once the GPUs are back', async () => (await jobPod(tb.kc, NS, 'c'))?.phase === 'Running', 60_000, 200);
    const healed = await why('job/c');
    expect(healed.exitCode).to.equal(0);
    expect(healed.cause).to.equal('it is admitted and its pods are placed');
  });

  it('larger than any node: 12 GPUs in one pod on 8-GPU nodes', async () => {
    await job('huge', CQ, 12);
    const a = await waitFor(
      'why says too large',
      async () => {
        const x = await why('job/huge');
        return x.heldBy ? x : undefined;
      },
      60_000,
      500,
    );
    expect(a.heldBy).to.equal('Capacity');
    expect(a.cause).to.include('more GPUs per pod than any node').and.include('largest 8');
    await deleteJobs('huge');
  });

  it('a ResourceFlavor whose nodes are gone: Kueue admits by quota, the pods can never be placed', async () => {
    await job('orphan', EMPTY_CQ);
    await waitFor('orphan admitted', () => admitted('orphan'), 60_000, 200);
    const a = await waitFor(
      'why names the flavor',
      async () => {
        const x = await why('job/orphan');
        return x.heldBy === 'Pods' ? x : undefined;
      },
      60_000,
      500,
    );
    expect(a.cause).to.equal('ResourceFlavor why-retired-pool (where Kueue admitted it) matches no node: its pods can never be placed');
    await deleteJobs('orphan');
  });

  it('a LocalQueue that does not exist: held by LocalQueue', async () => {
    await job('lost-queue', 'no-such-queue');
    const a = await waitFor(
      'why names the missing LocalQueue',
      async () => {
        const x = await why('job/lost-queue');
        return x.heldBy ? x : undefined;
      },
      60_000,
      500,
    );
    expect(a.heldBy).to.equal('LocalQueue');
    expect(a.cause).to.equal(`LocalQueue ${NS}/no-such-queue does not exist`);
    await deleteJobs('lost-queue');
  });

  it("a KaiwoJob in a namespace its queue does not serve: Kaiwo's ERROR/WrongQueueNamespace", async () => {
    await submitKaiwoJob(tb.kc, OTHER_NS, 'stray', { gpus: 8, gpuVendor: 'amd', runFor: '1h', clusterQueue: CQ });
    const a = await waitFor(
      'Kaiwo refuses it',
      async () => {
        const x = await why('kaiwojob/stray', OTHER_NS);
        return x.heldBy ? x : undefined;
      },
      60_000,
      500,
    );
    expect(a.heldBy).to.equal('Kaiwo');
    expect(a.cause).to.include('WrongQueueNamespace');
    expect(a.action).to.include(`add namespace ${OTHER_NS} to clusterQueues[name=${CQ}].namespaces in KaiwoQueueConfig kaiwo`);
  });

  it('an admission check pending: quota reserved, held by the check until its controller says Ready', async () => {
    await job('checked', AC_CQ);
    const a = await waitFor(
      'why names the check',
      async () => {
        const x = await why('job/checked');
        return x.heldBy ? x : undefined;
      },
      60_000,
      500,
    );
    expect(a.heldBy).to.equal('Workload');
    expect(a.cause).to.match(new RegExp(`^admission check ${CHECK} is Pending`));
    await deleteJobs('checked');
  });

  it('admitted, but its pod does not tolerate a taint on the GPU nodes: held by Pods, the taint named', async () => {
    await deleteJobs('a', 'c');
    const taint = { key: 'example.com/maintenance', value: 'true', effect: 'NoSchedule' };
    const nodes = ['mi300x-0', 'mi300x-1'];
    for (const n of nodes) await setTaint(n, [taint]);
    try {
      await job('tainted');
      await waitFor('tainted admitted', () => admitted('tainted'), 60_000, 200);
      const a = await waitFor(
        'why names the taint',
        async () => {
          const x = await why('job/tainted');
          return x.heldBy === 'Pods' ? x : undefined;
        },
        60_000,
        500,
      );
      expect(a.cause, a.cause).to.match(/^its pods do not tolerate the taint \{example\.com\/maintenance(: |=)true(:NoSchedule)?\}/);
    } finally {
      for (const n of nodes) await setTaint(n, []);
    }
    await waitFor(
      'tainted placed once the taint is gone',
      async () => (await jobPod(tb.kc, NS, 'tainted'))?.phase === 'Running',
      60_000,
      200,
    );
  });
});
