/**
 * make demo: the whole story on the full test bed (src/localcluster/testbed): etcd + kube-apiserver, the real
 * kube-controller-manager and kube-scheduler, kwok GPU nodes, the real Kueue manager and the real Kaiwo operator
 * from their own install layouts (KAIWO=next: Kaiwo v0.2.0-rc12). The operator runs from source (log in
 * <cache>/demo/operator.log) against a
 * KaiwoMonitor `default`; Kueue admits a real batch Job onto a kwok GPU node; then one fault per area is injected into
 * a real process or object, detected, shown with its Event and healed; then "why is it pending": a GPU node loses its
 * GPUs while Jobs queue up, the monitor says it is the hardware and which node, and `kaiwo-monitor why` follows the
 * stuck Job from Kueue to that node (and, once repaired, says it simply waits its turn).
 * Runs until Ctrl-C; DEMO_ONCE=1 exits after the story. Everything it started is stopped either way.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Condition, KaiwoMonitor } from '../src/api/types.js';
import { Monitors } from '../test/support/fakes/monitors.js';
import { cacheRoot, repoRoot } from '../src/localcluster/paths.js';
import { MonitorRecorder } from '../test/support/fakes/scenarios.js';
import { KAIWO_LEASE, KAIWO_NAMESPACE } from '../src/localcluster/testbed/kaiwo.js';
import { scraperSecret, testBedMonitorSpec } from '../src/localcluster/testbed/monitor.js';
import { TestBed } from '../src/localcluster/testbed/testbed.js';
import { pinned } from '../src/localcluster/versions.js';
import { jobPod, quotaReserved, submitJob, submitKaiwoJob } from '../src/localcluster/testbed/workloads.js';
import { HttpStatusError } from '../src/runtime/http.js';
import { rawJson } from '../src/runtime/rawrequest.js';

const run = promisify(execFile);
const say = (s: string) => process.stdout.write(`${s}\n`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const MON = 'default';
const NS = 'ml';
const MERGE = 'application/merge-patch+json';
const KAIWO_PODS = 'control-plane=kaiwo-controller-manager';

const dir = join(cacheRoot(), 'demo');
mkdirSync(dir, { recursive: true });
const testbedLog = createWriteStream(join(dir, 'testbed.log'), { flags: 'w' });
const operatorLog = join(dir, 'operator.log');
// kubectl from the control-plane build (make puts it on PATH too).
const cpBin = (await run('bash', [join(repoRoot, 'hack', 'controlplane', 'build.sh'), '--bin-dir'])).stdout.trim();

const tb = new TestBed({
  ...(process.env.KAIWO === 'next' ? { kaiwoVersion: pinned('KAIWO_NEXT_VERSION') } : {}),
  log: (m) => testbedLog.write(`${new Date().toISOString()} ${m}\n`),
});
const state: { op?: ChildProcess; recorder?: MonitorRecorder; told: boolean; stopping: boolean } = { told: false, stopping: false };
const rec = (): MonitorRecorder => {
  if (!state.recorder) throw new Error('monitor not recording');
  return state.recorder;
};
process.on('exit', () => {
  if (state.op?.exitCode === null) state.op.kill('SIGKILL');
});

async function until<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${secs(timeoutMs)} waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function kubectl(...args: string[]): Promise<void> {
  say(`$ kubectl ${args.map((a) => (/[\s*?[\]{}'"]/.test(a) ? `'${a}'` : a)).join(' ')}`);
  const env = { ...process.env, KUBECONFIG: tb.kubeconfigPath, PATH: `${cpBin}:${process.env.PATH ?? ''}` };
  const r = await run('kubectl', args, { env }).catch((e: unknown) => e as { stdout?: string; stderr?: string });
  say(`${r.stdout ?? ''}${r.stderr ?? ''}`.trimEnd());
}

const req = <T>(method: string, path: string, body?: unknown, contentType?: string) =>
  rawJson<T>(tb.kc, { method, path, ...(body !== undefined ? { body } : {}), ...(contentType ? { contentType } : {}) });
const del = (path: string) =>
  req('DELETE', `${path}?propagationPolicy=Background`).catch((e: unknown) => {
    if (!(e instanceof HttpStatusError) || e.status !== 404) throw e;
  });
const kueuePath = (plural: string, ns?: string) => `/apis/kueue.x-k8s.io/${tb.kueue.apiVersion}${ns ? `/namespaces/${ns}` : ''}/${plural}`;

/** A condition's status from now on: the latest one seen if it already matches, else the next that does. */
async function reached(type: string, status: string, since: number, timeoutMs: number): Promise<number> {
  const last = rec().seen.at(-1);
  if (last && last.at < since && last.conditions.find((c) => c.type === type)?.status === status) return since;
  return (await rec().when(type, status, since, timeoutMs)).at;
}

/** The monitor's Warning Event with this reason (Events of the cluster-scoped monitor are in namespace default). */
async function showEvent(reason: string): Promise<void> {
  const selector = `type=Warning,involvedObject.name=${MON},reason=${reason}`;
  await until(
    `a Warning Event ${reason}`,
    async () =>
      (await req<{ items: unknown[] }>('GET', `/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent(selector)}`)).items
        .length > 0,
    10_000,
  ).catch(() => undefined);
  await kubectl('get', 'events', '-n', 'default', '--field-selector', selector);
}

const jobRunning = (name: string) =>
  until(`Job ${name}'s pod Running`, async () => {
    const p = await jobPod(tb.kc, NS, name);
    return p?.phase === 'Running' ? p : undefined;
  });

interface Fault {
  area: string;
  condition: string;
  /** The settled answer (a monitor passes through intermediate states while the cluster reacts). */
  settled?: (c: Condition, m: KaiwoMonitor) => boolean;
  prepare?: () => Promise<void>;
  inject: () => Promise<unknown>;
  show?: () => Promise<void>;
  heal: () => Promise<unknown>;
  healing: string;
  detectMs?: number;
  healMs?: number;
}
const detections: [string, number][] = [];

async function fault(n: number, f: Fault): Promise<void> {
  say(`\n=== ${n}. ${f.area}`);
  await f.prepare?.();
  const t0 = Date.now();
  await f.inject();
  const hit = await rec().when(f.condition, 'False', t0, f.detectMs ?? 60_000, f.settled);
  detections.push([f.area, hit.at - t0]);
  say(`detected: ${f.condition}=False (${hit.condition.reason}) ${hit.at - t0} ms after the fault:\n  ${hit.condition.message}`);
  await f.show?.();
  await kubectl('get', 'kaiwomonitors', '-o', 'wide');
  await showEvent(hit.condition.reason);
  say(`--- heal: ${f.healing}`);
  const t1 = Date.now();
  await f.heal();
  const at = await reached('Healthy', 'True', Date.now(), f.healMs ?? 120_000);
  say(`healed: Healthy=True ${secs(at - t1)} after the repair`);
}

async function story(): Promise<void> {
  say(
    `starting the test bed (log ${join(dir, 'testbed.log')}): etcd + kube-apiserver, kube-controller-manager, kube-scheduler, ` +
      'kwok with 4 nodes (cpu-0, 2 x 8 AMD MI300X, 1 x 8 NVIDIA H100), the real Kueue manager and the real Kaiwo operator',
  );
  await tb.start();
  say(
    `test bed ready in ${secs(tb.startupMs)} (${tb.phases.map(([p, ms]) => `${p} ${secs(ms)}`).join(', ')}); Kueue ${tb.kueueVersion}, Kaiwo ${tb.kaiwoVersion}`,
  );
  // From here on Ctrl-C stops everything in order: the operator first, then the test bed and its control plane
  // (replacing the control plane's own handler, which would stop only etcd and kube-apiserver, then exit).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const l of process.listeners(signal)) process.removeListener(signal, l);
    process.on(signal, () => {
      if (state.stopping) return;
      say('\nstopping the demo ...');
      // A terminal's Ctrl-C reaches every process of the group at once (etcd may be gone before the API server):
      // give the orderly stop 10 s, then the exit hooks SIGKILL whatever is left and remove the state directory.
      void Promise.race([shutdown(), new Promise((r) => setTimeout(r, 10_000))]).finally(() => process.exit(state.told ? 0 : 130));
    });
  }
  await kubectl('get', 'nodes', '-L', 'kaiwo/nodepool');

  await req('POST', '/api/v1/namespaces', { metadata: { name: NS } });
  // Kaiwo creates KaiwoQueueConfig kaiwo from the nodes (labelling them into pools) and syncs it into Kueue.
  await until(
    'ClusterQueue kaiwo Active',
    async () => {
      const cq = await req<{ status?: { conditions?: Condition[] } }>('GET', `${kueuePath('clusterqueues')}/kaiwo`);
      return cq.status?.conditions?.some((c) => c.type === 'Active' && c.status === 'True');
    },
    120_000,
  );
  // Kaiwo creates a namespace's LocalQueue for its KaiwoJobs; for plain batch Jobs the team creates it.
  await req('POST', kueuePath('localqueues', NS), {
    apiVersion: `kueue.x-k8s.io/${tb.kueue.apiVersion}`,
    kind: 'LocalQueue',
    metadata: { name: 'kaiwo', namespace: NS },
    spec: { clusterQueue: 'kaiwo' },
  });
  await kubectl('get', 'clusterqueues,resourceflavors');

  await new Monitors(tb.kc).create(MON, testBedMonitorSpec(tb, await scraperSecret(tb.kc), { maxPendingAge: '2m' }));
  state.recorder = new MonitorRecorder(tb.kc, MON);
  state.recorder.start();
  const log = openSync(operatorLog, 'w');
  state.op = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'src/cli/main.ts'),
      'run',
      `--kubeconfig=${tb.kubeconfigPath}`,
      '--health-probe-bind-address=127.0.0.1:0',
      '--log-format=console',
    ],
    { cwd: repoRoot, stdio: ['ignore', log, log] },
  );
  say(
    `\nKaiwoMonitor ${MON} created (both controllers' /metrics scraped every second through their Services with a ServiceAccount token); ` +
      `operator started (pid ${state.op.pid ?? '?'}, log ${operatorLog})`,
  );

  say(
    `\n=== the real Kueue admits a batch Job (4 NVIDIA GPUs) submitted to LocalQueue ${NS}/kaiwo; kube-scheduler binds its pod to a kwok GPU node`,
  );
  let t = Date.now();
  await submitJob(tb.kc, NS, 'pretrain', { resource: 'nvidia.com/gpu', gpus: 4, runFor: '1h' });
  await until('Job pretrain admitted', () => quotaReserved(tb.kc, tb.kueue.apiVersion, NS, 'pretrain'));
  const admittedAt = Date.now() - t;
  const pod = await jobRunning('pretrain');
  say(`admitted by Kueue after ${admittedAt} ms, pod Running on ${pod.node ?? '?'} after ${Date.now() - t} ms`);
  await kubectl('get', 'workloads', '-n', NS, '-o', 'wide');
  await kubectl('get', 'pods', '-n', NS, '-o', 'wide');

  t = Date.now();
  const healthy = await rec().when('Healthy', 'True', 0, 180_000);
  say(`\nHealthy=True (${secs(healthy.at - t)} after the Job ran)`);
  await kubectl('get', 'kaiwomonitors', '-o', 'wide');

  let kaiwoPod = '';
  const kaiwoLeader = async () =>
    (
      await req<{ spec?: { holderIdentity?: string; renewTime?: string } }>(
        'GET',
        `/apis/coordination.k8s.io/v1/namespaces/${KAIWO_NAMESPACE}/leases/${KAIWO_LEASE}`,
      )
    ).spec;
  await fault(1, {
    area: 'Kaiwo operator: its pod crash-loops (kwok CrashLoopBackOff stage; its process is killed with each crash)',
    condition: 'KaiwoOperatorHealthy',
    settled: (_c, m) => m.status?.findings?.some((x) => x.reason === 'CrashLoopBackOff') === true,
    prepare: async () => {
      kaiwoPod = (await tb.pods(KAIWO_NAMESPACE, KAIWO_PODS))[0] ?? '';
    },
    inject: () => tb.setPodFault(KAIWO_NAMESPACE, kaiwoPod, 'CrashLoopBackOff'),
    show: async () => {
      const f = rec()
        .seen.at(-1)
        ?.monitor.status?.findings?.find((x) => x.reason === 'CrashLoopBackOff');
      if (f) say(`finding CrashLoopBackOff: ${f.message}`);
      await kubectl('get', 'pods', '-n', KAIWO_NAMESPACE, '-o', 'wide');
    },
    healing:
      'kubectl delete pod (the crash-looping one): the ReplicaSet starts a new pod, whose operator takes over the leader Lease once the old one ran out (15 s, never released)',
    heal: async () => {
      const old = (await kaiwoLeader())?.holderIdentity;
      await del(`/api/v1/namespaces/${KAIWO_NAMESPACE}/pods/${kaiwoPod}`);
      const t = Date.now();
      const next = await until(
        'a new Kaiwo leader',
        async () => {
          const l = await kaiwoLeader();
          return l?.holderIdentity && l.holderIdentity !== old && Date.now() - Date.parse(l.renewTime ?? '') < 5000
            ? l.holderIdentity
            : undefined;
        },
        120_000,
      );
      say(`new leader ${next} after ${secs(Date.now() - t)}`);
    },
  });
  await fault(2, {
    area: 'Kueue: ClusterQueue kaiwo put on hold (spec.stopPolicy: Hold); Kueue marks it inactive',
    condition: 'KueueHealthy',
    settled: (c) => c.reason === 'ClusterQueueInactive',
    inject: () => req('PATCH', `${kueuePath('clusterqueues')}/kaiwo`, { spec: { stopPolicy: 'Hold' } }, MERGE),
    show: () => kubectl('get', 'clusterqueue', 'kaiwo', '-o', 'jsonpath={.status.conditions[?(@.type=="Active")]}{"\\n"}'),
    healing: 'stopPolicy: None',
    heal: () => req('PATCH', `${kueuePath('clusterqueues')}/kaiwo`, { spec: { stopPolicy: 'None' } }, MERGE),
  });
  await fault(3, {
    area: "GPU nodes: mi300x-0's heartbeat stops; kube-controller-manager marks it NotReady after its grace period",
    condition: 'GPUNodesHealthy',
    settled: (c) => c.reason === 'GPUNodesNotReady',
    inject: () => tb.nodes.setHeartbeat('mi300x-0', false),
    show: () => kubectl('get', 'nodes'),
    healing: 'the heartbeat resumes (kwok renews the node Lease again)',
    heal: () => tb.nodes.setHeartbeat('mi300x-0', true),
    detectMs: 90_000,
  });
  await fault(4, {
    area: 'Workloads: KaiwoJob train-llama fails (its container exits 1; the Job controller fails the Job, Kaiwo marks the KaiwoJob FAILED)',
    condition: 'WorkloadsHealthy',
    settled: (c) => c.reason === 'WorkloadsFailing',
    prepare: async () => {
      await submitKaiwoJob(tb.kc, NS, 'train-llama', { gpus: 8, gpuVendor: 'amd', runFor: '1h' });
      await until(
        'KaiwoJob train-llama RUNNING',
        async () =>
          (await req<{ status?: { status?: string } }>('GET', `/apis/kaiwo.silogen.ai/v1alpha1/namespaces/${NS}/kaiwojobs/train-llama`))
            .status?.status === 'RUNNING',
        120_000,
      );
      await kubectl('get', 'kaiwojobs', '-n', NS);
    },
    inject: async () => {
      const p = await jobRunning('train-llama');
      await tb.failPod(NS, p.name, 1);
    },
    show: () => kubectl('get', 'kaiwojobs,jobs', '-n', NS),
    healing: 'the failed KaiwoJob is deleted (to be resubmitted once fixed)',
    heal: () => del(`/apis/kaiwo.silogen.ai/v1alpha1/namespaces/${NS}/kaiwojobs/train-llama`),
  });

  // Why is it pending? A node loses its GPUs while Jobs keep coming: Kueue admits by quota, the pod cannot start,
  // the next Job queues; the monitor says it is the hardware, and which node.
  say(
    '\n=== why is it pending? finetune-a (8 AMD GPUs) runs; then the other MI300X node loses all 8 GPUs while finetune-b and finetune-c are submitted',
  );
  await submitJob(tb.kc, NS, 'finetune-a', { resource: 'amd.com/gpu', gpus: 8, runFor: '1h' });
  const busy = (await jobRunning('finetune-a')).node;
  const lost = busy === 'mi300x-0' ? 'mi300x-1' : 'mi300x-0';
  const t2 = Date.now();
  await tb.nodes.setAllocatableGpus(lost, 0); // the device plugin reports all 8 GPUs unhealthy
  say(`finetune-a runs on ${busy ?? '?'}; ${lost} now reports 0 allocatable amd.com/gpu`);
  await submitJob(tb.kc, NS, 'finetune-b', { resource: 'amd.com/gpu', gpus: 8, runFor: '1h' });
  await until('finetune-b admitted', () => quotaReserved(tb.kc, tb.kueue.apiVersion, NS, 'finetune-b'));
  const tb2 = Date.now();
  await submitJob(tb.kc, NS, 'finetune-c', { resource: 'amd.com/gpu', gpus: 8, runFor: '1h' });
  const why = await rec().when(
    'CapacityHealthy',
    'False',
    t2,
    90_000,
    (c) => c.reason === 'PendingOnLostCapacity' && c.message.includes(lost),
  );
  detections.push([
    `why is it pending: ${lost} lost its GPUs under admitted work (from the GPU loss; from Kueue admitting finetune-b: ${Math.max(0, why.at - tb2)} ms)`,
    why.at - t2,
  ]);
  say(
    `detected: CapacityHealthy=False (${why.condition.reason}) ${why.at - t2} ms after the GPU loss, ${Math.max(0, why.at - tb2)} ms after Kueue admitted finetune-b:\n  ${why.condition.message}`,
  );
  await kubectl('get', 'workloads', '-n', NS, '-o', 'wide');
  await kubectl('get', 'pods', '-n', NS, '-o', 'wide');
  await showEvent(why.condition.reason);
  say('\n$ kaiwo-monitor check default -o wide');
  const check = await run(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'check', MON, '-o', 'wide', `--kubeconfig=${tb.kubeconfigPath}`],
    { cwd: repoRoot },
  ).catch((e: unknown) => e as { stdout?: string });
  say((check.stdout ?? '').trimEnd());
  await whyCommand('finetune-c');
  say(`--- heal: ${lost}'s GPUs are serviced (allocatable 8 again)`);
  const t3 = Date.now();
  await tb.nodes.setAllocatableGpus(lost, 8);
  const fixed = await rec().when('CapacityHealthy', 'True', t3, 60_000);
  const b = await jobRunning('finetune-b');
  const all = await reached('Healthy', 'True', t3, 120_000);
  say(
    `healed: CapacityHealthy=True ${secs(fixed.at - t3)} and Healthy=True ${secs(all - t3)} after the repair; finetune-b's pod now runs on ${b.node ?? '?'} ` +
      '(finetune-c simply waits its turn: the quota is in use)',
  );
  await kubectl('get', 'pods', '-n', NS, '-o', 'wide');
  await whyCommand('finetune-c');
  for (const j of ['finetune-a', 'finetune-b', 'finetune-c']) await del(`/apis/batch/v1/namespaces/${NS}/jobs/${j}`);

  say('');
  await kubectl('get', 'kaiwomonitors', '-o', 'wide');
  say(`\ntest bed start-up: ${secs(tb.startupMs)}; detection times (fault → condition False):`);
  for (const [what, ms] of detections) say(`  ${String(ms).padStart(6)} ms  ${what}`);
  state.told = true;
}

/** `kaiwo-monitor why job/<name> -n ml`, printed with its exit code. */
async function whyCommand(job: string): Promise<void> {
  say(`\n$ kaiwo-monitor why job/${job} -n ${NS}`);
  const r = await run(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'why', `job/${job}`, '-n', NS, `--kubeconfig=${tb.kubeconfigPath}`],
    { cwd: repoRoot },
  ).then(
    (x) => ({ ...x, code: 0 }),
    (e: unknown) => ({
      stdout: (e as { stdout?: string }).stdout ?? '',
      stderr: (e as { stderr?: string }).stderr ?? '',
      code: (e as { code?: number }).code ?? 2,
    }),
  );
  say(`${r.stdout.trimEnd()}${r.stderr ? `\n${r.stderr.trimEnd()}` : ''}\n(exit ${r.code})`);
}

async function shutdown(): Promise<void> {
  state.stopping = true;
  await state.recorder?.stop();
  const op = state.op;
  if (op?.exitCode === null) {
    const exited = new Promise((r) => op.once('exit', r));
    op.kill('SIGTERM');
    const timer = setTimeout(() => op.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  await tb.stop();
  testbedLog.end();
  say('demo stopped: operator and test bed (Kueue, Kaiwo, kwok, scheduler, controller-manager, kube-apiserver, etcd) are down');
}

try {
  await story();
} catch (err) {
  if (state.stopping) await new Promise(() => undefined); // Ctrl-C: the signal handler stops everything and exits
  say(`\ndemo failed: ${(err as Error).message}\n(operator log ${operatorLog}, test bed log ${join(dir, 'testbed.log')})`);
  await shutdown().catch(() => undefined);
  process.exit(1);
}
if (process.env.DEMO_ONCE === '1') {
  await shutdown();
  // Explicitly: left to end by itself, Node 24 spins in its handle cleanup after the test bed stopped.
  process.exit(0);
} else {
  say(`\nEverything keeps running; try: export KUBECONFIG=${tb.kubeconfigPath}; kubectl describe kmon ${MON}`);
  say('Press Ctrl-C to stop the demo (operator and test bed).');
  setInterval(() => undefined, 1 << 30);
}
