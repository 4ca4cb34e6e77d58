/**
 * make demo SIM=1: the earlier, lighter demo (`make demo` runs hack/demo.ts on the full test bed). The whole story on
 * the local control plane — CRDs, a simulated Kaiwo/Kueue/GPU cluster (Kaiwo and
 * Kueue Deployments and Leases, a ClusterQueue, AMD and NVIDIA GPU nodes, KaiwoJobs), the operator and a default
 * KaiwoMonitor (`spec: {}`); then one injected fault per area, detected, shown with its Event, and healed; then "why is it
 * pending": a GPU node loses its GPUs while jobs queue up, and the monitor says it is the hardware and which node.
 * Runs until Ctrl-C (the simulated leaders keep renewing their Leases); DEMO_ONCE=1 exits after the story.
 */
import { execFile, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { GpuPool } from '../test/support/fakes/capacity-sim.js';
import { SimulatedStack } from '../test/support/fakes/simulate.js';
import { repoRoot } from '../src/localcluster/paths.js';
import { MonitorRecorder } from '../test/support/fakes/scenarios.js';

const run = promisify(execFile);
const say = (s: string) => process.stdout.write(`${s}\n`);
const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');

// A control plane that was already running (make cluster-up) is the user's: the demo leaves it running.
const startedHere = await run(tsx, [join(repoRoot, 'src/localcluster/cluster.ts'), 'status'], { cwd: repoRoot }).then(
  () => false,
  () => true,
);
const { stdout } = await run(tsx, [join(repoRoot, 'src/localcluster/cluster.ts'), 'up'], { cwd: repoRoot });
const kubeconfig = stdout.trim().split('\n').pop() ?? '';
const env = { ...process.env, KUBECONFIG: kubeconfig };
const kubectl = async (...args: string[]) => {
  const r = await run('kubectl', args, { env }).catch((e: unknown) => ({ stdout: (e as { stdout?: string }).stdout ?? '', stderr: '' }));
  say(r.stdout.trimEnd());
};
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const stateDir = join(kubeconfig, '..', '..');
const log = openSync(join(stateDir, 'operator.log'), 'a');
const op = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    join(repoRoot, 'src/cli/main.ts'),
    'run',
    `--kubeconfig=${kubeconfig}`,
    '--health-probe-bind-address=127.0.0.1:0',
    '--log-format=console',
  ],
  { cwd: repoRoot, stdio: ['ignore', log, log] },
);
say(`operator started (pid ${op.pid ?? '?'}, log ${join(stateDir, 'operator.log')})`);

const sim = new SimulatedStack(kc, { label: 'demo', workloadNamespace: 'ml' });
await sim.install();
say('simulated Kaiwo operator, kaiwo-scheduler, Kueue, ClusterQueue kaiwo-demo, 2 AMD + 1 NVIDIA GPU nodes and 2 KaiwoJobs installed');
// A GPU pool as Kueue sees it: 2 nodes x 8 amd.com/gpu, ResourceFlavor gpu-demo, ClusterQueue pool-demo (quota 16), one job running.
const pool = new GpuPool(kc, 'demo', { quota: 16 });
await pool.install();
await pool.workload('pretrain', { admitted: true });
say(
  `GPU pool installed: nodes ${pool.nodes.join(', ')}, ResourceFlavor ${pool.flavor}, ClusterQueue ${pool.cq} (16 GPUs), Workload pretrain running`,
);
await kubectl('apply', '-f', join(repoRoot, 'config/samples/kaiwomonitor_minimal.yaml'));
const recorder = new MonitorRecorder(kc, 'default');
recorder.start();
await recorder.when('Healthy', 'True', 0, 120_000);
say('\n$ kubectl get kaiwomonitors -o wide');
await kubectl('get', 'kaiwomonitors', '-o', 'wide');

const faults: { area: string; condition: string; inject: () => Promise<unknown>; heal: () => Promise<unknown> }[] = [
  {
    area: 'Kaiwo operator: Deployment loses its replica',
    condition: 'KaiwoOperatorHealthy',
    inject: () => sim.setDeploymentAvailable('kaiwo-system', 'kaiwo-controller-manager', 0),
    heal: () => sim.setDeploymentAvailable('kaiwo-system', 'kaiwo-controller-manager', 1),
  },
  {
    area: 'Kueue: ClusterQueue stopped',
    condition: 'KueueHealthy',
    inject: () => sim.setClusterQueueActive(false),
    heal: () => sim.setClusterQueueActive(true),
  },
  {
    area: 'GPU nodes: mi300x-0 NotReady',
    condition: 'GPUNodesHealthy',
    inject: () => sim.setNode('mi300x-0', { ready: false }),
    heal: () => sim.setNode('mi300x-0', { ready: true }),
  },
  {
    area: 'Workloads: KaiwoJob train-llama FAILED',
    condition: 'WorkloadsHealthy',
    inject: () => sim.setKaiwoJobStatus('train-llama', 'FAILED'),
    heal: () => sim.setKaiwoJobStatus('train-llama', 'RUNNING'),
  },
];
for (const f of faults) {
  say(`\n=== inject: ${f.area}`);
  const t0 = Date.now();
  await f.inject();
  const hit = await recorder.when(f.condition, 'False', t0, 30_000);
  say(`${f.condition}=False (${hit.condition.reason}) after ${hit.at - t0} ms`);
  await kubectl('get', 'kaiwomonitors', '-o', 'wide');
  await kubectl('get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=default,reason=${hit.condition.reason}`);
  const t1 = Date.now();
  await f.heal();
  await recorder.when('Healthy', 'True', t1, 30_000);
  say(`healed: Healthy=True after ${Date.now() - t1} ms`);
}

// Why is it pending? A node loses its GPUs while jobs keep coming: Kueue admits by quota, the pods cannot start and
// the next jobs queue; the monitor says it is the hardware, and which node.
const lost = pool.nodes[1] ?? '';
say(`\n=== why is it pending: ${lost} loses its 8 GPUs while three more jobs are submitted`);
const t2 = Date.now();
await pool.setNode(lost, { ready: true, allocatable: 0 });
await pool.workload('finetune-a', { admitted: true }); // Kueue admits by quota...
await pool.unschedulablePod('finetune-a-0'); // ...and the scheduler finds no GPUs for its pod
for (const w of ['finetune-b', 'eval-c']) await pool.workload(w);
const why = await recorder.when('CapacityHealthy', 'False', t2, 30_000);
say(`CapacityHealthy=False (${why.condition.reason}) after ${why.at - t2} ms:\n  ${why.condition.message}`);
say('\n$ kaiwo-monitor check default -o wide');
const check = await run(tsx, [join(repoRoot, 'src/cli/main.ts'), 'check', 'default', '-o', 'wide', `--kubeconfig=${kubeconfig}`], {
  cwd: repoRoot,
}).catch((e: unknown) => ({ stdout: (e as { stdout?: string }).stdout ?? '' }));
say(check.stdout.trimEnd());
const t3 = Date.now();
await pool.setNode(lost, { ready: true }); // the GPUs are serviced
await recorder.when('CapacityHealthy', 'True', t3, 30_000);
say(
  `healed: ${lost} has its GPUs back, CapacityHealthy=True after ${Date.now() - t3} ms (the queued jobs now simply wait their turn: quota and GPUs are in use)`,
);

say('\n$ kubectl get kaiwomonitors -o wide');
await kubectl('get', 'kaiwomonitors', '-o', 'wide');

const shutdown = async () => {
  await recorder.stop();
  await pool.uninstall();
  await sim.stop();
  op.kill('SIGTERM');
  if (startedHere) {
    await run(tsx, [join(repoRoot, 'src/localcluster/cluster.ts'), 'down'], { cwd: repoRoot });
    say('demo stopped: operator and local control plane are down');
  } else {
    say('demo stopped: operator is down; the local control plane was running before the demo and keeps running (make cluster-down)');
  }
};
if (process.env.DEMO_ONCE === '1') {
  await shutdown();
} else {
  say(`\nEverything keeps running; try: export KUBECONFIG=${kubeconfig}; kubectl describe kmon default`);
  say(`Press Ctrl-C to stop the demo (operator${startedHere ? ' and control plane' : ''}).`);
  process.once('SIGINT', () => {
    void shutdown().then(() => process.exit(0));
  });
  setInterval(() => undefined, 1 << 30);
}
