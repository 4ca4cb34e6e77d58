/**
 * make bench-scale: kaiwo-monitor and kube-state-metrics side by side on one loaded local control plane.
 *   SCALE=0.2        fraction of the full scale (5,000 GPU nodes, 43,500 Workloads, 10,000 KaiwoJobs)
 *   IDLE_SECONDS=60  idle window (RSS, CPU, status PATCHes) under background churn
 *   FAULTS=20        faults injected (five classes in turn), each detected and healed
 *   CHECKS=3         one-shot `kaiwo-monitor check` runs (the median is reported)
 *   HEARTBEAT_SECONDS=300  each node's status heartbeat period (a kubelet's nodeStatusReportFrequency; 0: off)
 *   KSM=0            skip kube-state-metrics;  PROFILE=1  CPU profile of the operator, top functions printed
 *   KAIWO_MONITOR_MAIN=path/to/dist/cli/main.js   measure another build (e.g. a checkout of an older commit)
 *   OPERATOR_LOG=file  the operator's debug log (one line per reconcile) into file
 * Background churn: the simulated Kaiwo and Kueue leaders renew their Leases every second; every GPU node posts
 * a status heartbeat every HEARTBEAT_SECONDS (spread evenly). Once the API server is settled after the load (under
 * 15 % of a core for 6 s; at most 3 minutes), a bare client streams every collection (the start-up floor), then
 * kube-state-metrics starts, then kaiwo-monitor, each timed alone. Prints a table and writes out/bench-scale.json.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { KaiwoMonitor } from '../../src/api/types.js';
import { startCluster } from '../../src/localcluster/backend.js';
import { Monitors } from '../../test/support/fakes/monitors.js';
import { repoRoot } from '../../src/localcluster/paths.js';
import { freePort } from '../../src/localcluster/ports.js';
import { MonitorRecorder } from '../../test/support/fakes/scenarios.js';
import { SimulatedStack } from '../../test/support/fakes/simulate.js';
import { heartbeats, kaiwoJobStatus, Loader, loadCluster, nodeName, nodeStatus, type Scale } from './load.js';
import { topFunctions } from './profile.js';

const env = process.env;
const SCALE = Number(env.SCALE ?? '0.2');
const IDLE_SECONDS = Number(env.IDLE_SECONDS ?? '60');
const FAULTS = Number(env.FAULTS ?? '20');
const CHECKS = Number(env.CHECKS ?? '3');
/** A kubelet posts an unchanged node status every nodeStatusReportFrequency (default 5m); 0 turns heartbeats off. */
const HEARTBEAT_SECONDS = Number(env.HEARTBEAT_SECONDS ?? '300');
const FULL = { nodes: 5000, workloads: 43_500, kaiwoJobs: 10_000 };
const scale: Scale = {
  nodes: Math.round(FULL.nodes * SCALE),
  workloads: Math.round(FULL.workloads * SCALE),
  kaiwoJobs: Math.round(FULL.kaiwoJobs * SCALE),
  pools: 5,
  namespaces: 20,
};
const MAIN = env.KAIWO_MONITOR_MAIN ?? join(repoRoot, 'dist/cli/main.js');
/** The Node flags the image's ENTRYPOINT gives the operator (e.g. its young-generation size): measured as it runs. */
const NODE_FLAGS = (JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'))?.[1] ?? '[]') as string[])
  .slice(1)
  .filter((a) => a.startsWith('--'));
const outDir = join(repoRoot, 'out');
const say = (s: string) => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MERGE = 'application/merge-patch+json';
const MON = 'bench';

function proc(pid: number): { rssMiB: number; hwmMiB: number; cpuS: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return { rssMiB: kb('VmRSS'), hwmMiB: kb('VmHWM'), cpuS: (Number(stat[11]) + Number(stat[12])) / 100 };
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] ?? NaN;
async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>, timeoutMs: number, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

say(`kaiwo-monitor runs as the image runs it: node ${[...NODE_FLAGS, 'dist/cli/main.js'].join(' ')}`);
say(
  `bench-scale: SCALE=${SCALE} → ${scale.nodes} GPU nodes, ${scale.workloads} Workloads, ${scale.kaiwoJobs} KaiwoJobs (full scale ${FULL.nodes} / ${FULL.workloads} / ${FULL.kaiwoJobs})`,
);
const cluster = await startCluster({ backend: 'local' });
const children: ChildProcess[] = [];
const stops: (() => unknown)[] = [];
try {
  const kc = cluster.kubeConfig();
  const loader = new Loader(kc);
  await loader.init();
  stops.push(() => {
    loader.close();
  });
  const sim = new SimulatedStack(kc, { label: 'bench', amdNodes: 0, nvidiaNodes: 0 });
  await sim.install();
  stops.push(() => sim.stop());
  const t0 = Date.now();
  say('loading:');
  await loadCluster(loader, scale, say);
  const loadS = (Date.now() - t0) / 1000;
  say(`  ${loader.requests} requests in ${loadS.toFixed(0)} s (${(loader.requests / loadS).toFixed(0)}/s)`);
  const faulted = new Set<string>();
  if (HEARTBEAT_SECONDS > 0) stops.push(heartbeats(loader, scale, HEARTBEAT_SECONDS * 1000, faulted));
  const apiserverPid = cluster.local?.pids[1];
  const apiserverCpu = () => (apiserverPid ? proc(apiserverPid).cpuS : NaN);
  // Start on a settled server, as an operator restarts on a running cluster, not while the API server still digests
  // the load: under 15 % of a core for 6 s, the churn included, or at most maxMs (at SCALE=0.5 the churn alone is
  // about 20 % of a core, so it waits the whole 3 minutes).
  const settle = async (maxMs: number) => {
    if (!apiserverPid) return;
    const s0 = Date.now();
    let last = apiserverCpu();
    let quiet = 0;
    while (quiet < 3 && Date.now() - s0 < maxMs) {
      await sleep(2000);
      const now = apiserverCpu();
      quiet = now - last < 0.3 ? quiet + 1 : 0;
      last = now;
    }
    say(`  API server ${quiet >= 3 ? 'settled' : 'still busy'} after ${((Date.now() - s0) / 1000).toFixed(0)} s`);
  };
  await settle(180_000);

  // The start-up floor: a bare Node client streaming the same collections (parse only, no cache), from its first
  // request to the last collection's initial events — what any client waits for on this server. Twice: the first
  // also makes the server build the watch caches of CRDs nobody had read yet (it answers 429 until then).
  const floorRuns: { streamS: number; apiserverCpuS: number }[] = [];
  for (let k = 0; k < 2; k++) {
    const cpu0 = apiserverCpu();
    // Awaited, not run synchronously: this process drives the churn (heartbeats, Lease renewals), which goes on.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'hack/bench/bare-watch.ts'), cluster.kubeconfigPath, '--synced'],
      { encoding: 'utf8', timeout: 300_000 },
    );
    floorRuns.push({ streamS: Number(stdout.trim()) / 1000, apiserverCpuS: apiserverCpu() - cpu0 });
  }
  const floor = floorRuns[1] ?? { streamS: NaN, apiserverCpuS: NaN };
  say(
    `floor: a bare client streams every collection in ${floor.streamS.toFixed(1)} s (kube-apiserver CPU ${floor.apiserverCpuS.toFixed(1)} s; first run, warming the caches: ${floorRuns[0]?.streamS.toFixed(1)} s)`,
  );
  await settle(60_000);

  // kube-state-metrics first, then kaiwo-monitor, each timed alone on the loaded cluster, under the churn (started
  // together, each slowed the other's start on these two cores). kube-state-metrics keeps running through the rest.
  let ksm: ChildProcess | undefined;
  let ksmKnownMs = NaN;
  if (env.KSM !== '0') {
    const bin =
      execFileSync('bash', [join(repoRoot, 'hack/build-tool.sh'), 'ksm'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
        .trim()
        .split('\n')
        .pop() ?? '';
    const [port, tport] = [await freePort(), await freePort()];
    const ksmStart = Date.now();
    ksm = spawn(
      join(bin, 'kube-state-metrics'),
      [
        `--kubeconfig=${cluster.kubeconfigPath}`,
        '--host=127.0.0.1',
        `--port=${port}`,
        '--telemetry-host=127.0.0.1',
        `--telemetry-port=${tport}`,
      ],
      { stdio: 'ignore' },
    );
    children.push(ksm);
    await until(
      'kube-state-metrics lists every node',
      async () => {
        const body = await fetch(`http://127.0.0.1:${port}/metrics`)
          .then((r) => r.text())
          .catch(() => '');
        return (body.match(/^kube_node_info\{/gm)?.length ?? 0) >= scale.nodes ? true : undefined;
      },
      300_000,
      200,
    );
    ksmKnownMs = Date.now() - ksmStart;
    say(`kube-state-metrics: every node in /metrics ${(ksmKnownMs / 1000).toFixed(1)} s after start`);
    await settle(30_000);
  }

  await new Monitors(kc).create(MON, {});
  const recorder = new MonitorRecorder(kc, MON);
  recorder.start();
  stops.push(() => recorder.stop());
  const profDir = join(outDir, 'bench-scale-profile');
  if (env.PROFILE === '1') {
    rmSync(profDir, { recursive: true, force: true });
    mkdirSync(profDir, { recursive: true });
  }
  const metricsPort = await freePort();
  const opStart = Date.now();
  const opCpu0 = apiserverCpu();
  const op = spawn(
    process.execPath,
    [
      ...NODE_FLAGS,
      ...(env.PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []),
      MAIN,
      'run',
      `--kubeconfig=${cluster.kubeconfigPath}`,
      '--health-probe-bind-address=127.0.0.1:0',
      `--metrics-bind-address=127.0.0.1:${metricsPort}`,
      '--metrics-secure=false',
      ...(env.OPERATOR_LOG ? ['--log-level=debug'] : []),
    ],
    { stdio: env.OPERATOR_LOG ? ['ignore', 'ignore', openSync(env.OPERATOR_LOG, 'w')] : 'ignore' },
  );
  children.push(op);
  const known = await until(
    'every condition known',
    () => {
      const s = recorder.seen.at(-1);
      return s?.conditions.find((c) => c.type === 'Ready' && c.status !== 'Unknown') ? s : undefined;
    },
    300_000,
  );
  const knownMs = known.at - opStart;
  const knownApiserverCpuS = apiserverCpu() - opCpu0;
  say(
    `kaiwo-monitor: every condition known ${(knownMs / 1000).toFixed(1)} s after start (Ready=${known.conditions.find((c) => c.type === 'Ready')?.status}; kube-apiserver CPU meanwhile ${knownApiserverCpuS.toFixed(1)} s)`,
  );

  // Idle window: no faults, only the churn. A bare Node watcher of the same collections runs alongside: the floor.
  const bare = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'hack/bench/bare-watch.ts'), cluster.kubeconfigPath], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(bare);
  let bareEvents = '';
  bare.stdout.on('data', (c: Buffer) => {
    bareEvents += c.toString();
  });
  await sleep(20_000);
  const pids = { op: op.pid ?? 0, ksm: ksm?.pid ?? 0, apiserver: apiserverPid ?? 0, bare: bare.pid ?? 0 };
  const before = { op: proc(pids.op), ksm: pids.ksm ? proc(pids.ksm) : undefined, bare: proc(pids.bare) };
  const patchesBefore = recorder.seen.length;
  const rss: { op: number[]; ksm: number[]; apiserver: number[] } = { op: [], ksm: [], apiserver: [] };
  for (let i = 0; i < IDLE_SECONDS; i++) {
    await sleep(1000);
    rss.op.push(proc(pids.op).rssMiB);
    if (pids.ksm) rss.ksm.push(proc(pids.ksm).rssMiB);
    if (pids.apiserver) rss.apiserver.push(proc(pids.apiserver).rssMiB);
  }
  const perMin = (a: number, b: number) => ((b - a) * 60) / IDLE_SECONDS;
  const idleCpu = {
    op: perMin(before.op.cpuS, proc(pids.op).cpuS),
    ksm: before.ksm ? perMin(before.ksm.cpuS, proc(pids.ksm).cpuS) : NaN,
    bare: perMin(before.bare.cpuS, proc(pids.bare).cpuS),
  };
  bare.kill('SIGTERM');
  await new Promise((r) => bare.on('exit', r));
  const watchEvents = Number(bareEvents.trim()) || NaN; // including the initial ones: only a rough rate
  const idlePatches = recorder.seen.length - patchesBefore;
  // Where the operator's memory is: V8 heap used and reserved, and memory outside the heap (its own metrics).
  const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
    .then((r) => r.text())
    .catch(() => '');
  const gauge = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
  const space = (kind: string, name: string) =>
    Number(new RegExp(`^nodejs_heap_space_size_${kind}_bytes\\{space="${name}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
  const heap = {
    usedMiB: gauge('nodejs_heap_size_used_bytes'),
    totalMiB: gauge('nodejs_heap_size_total_bytes'),
    externalMiB: gauge('nodejs_external_memory_bytes'),
    newSpaceMiB: space('total', 'new'),
    oldSpaceMiB: { used: space('used', 'old'), total: space('total', 'old') },
  };
  say(
    `kaiwo-monitor memory: V8 heap ${heap.usedMiB.toFixed(0)} MiB used of ${heap.totalMiB.toFixed(0)} MiB (young generation ${heap.newSpaceMiB.toFixed(0)} MiB, ` +
      `old ${heap.oldSpaceMiB.used.toFixed(0)} of ${heap.oldSpaceMiB.total.toFixed(0)} MiB), external ${heap.externalMiB.toFixed(0)} MiB`,
  );
  say(
    `idle ${IDLE_SECONDS} s: kaiwo-monitor RSS median ${median(rss.op).toFixed(0)} MiB, CPU ${idleCpu.op.toFixed(2)} s/min, ${idlePatches} status writes` +
      (pids.ksm ? `; kube-state-metrics RSS ${median(rss.ksm).toFixed(0)} MiB, CPU ${idleCpu.ksm.toFixed(2)} s/min` : '') +
      `; a bare Node watcher of the same collections ${idleCpu.bare.toFixed(2)} s/min (${watchEvents} events in all)`,
  );

  // Faults: five classes in turn, each detected (first status that shows it) and healed before the next.
  const api = (method: string, path: string, body: unknown) => loader.req(method, path, body, MERGE);
  const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const has = (m: KaiwoMonitor, reason: string, name?: string) =>
    (m.status?.findings ?? []).some((f) => f.reason === reason && (!name || f.object?.name === name || f.message.includes(name)));
  const cq = 'bench-pool-0';
  const classes: {
    name: string;
    inject: (i: number) => Promise<unknown>;
    seen: (m: KaiwoMonitor, i: number) => boolean;
    heal: (i: number) => Promise<unknown>;
  }[] = [
    {
      name: 'node NotReady',
      seen: (m, i) => has(m, 'NodeNotReady', nodeName(i)),
      inject: (i) => {
        faulted.add(nodeName(i));
        return api('PATCH', `/api/v1/nodes/${nodeName(i)}/status`, { status: nodeStatus(false, now()) });
      },
      heal: async (i) => {
        await api('PATCH', `/api/v1/nodes/${nodeName(i)}/status`, { status: nodeStatus(true, now()) });
        faulted.delete(nodeName(i));
      },
    },
    {
      name: 'GPUs lost',
      seen: (m, i) => has(m, 'GPUsLost', nodeName(i)),
      inject: (i) => {
        faulted.add(nodeName(i));
        return api('PATCH', `/api/v1/nodes/${nodeName(i)}/status`, { status: nodeStatus(true, now(), 0) });
      },
      heal: async (i) => {
        await api('PATCH', `/api/v1/nodes/${nodeName(i)}/status`, { status: nodeStatus(true, now()) });
        faulted.delete(nodeName(i));
      },
    },
    {
      name: 'ClusterQueue inactive',
      seen: (m) => has(m, 'ClusterQueueInactive', cq),
      inject: () =>
        api('PATCH', `/apis/kueue.x-k8s.io/v1beta2/clusterqueues/${cq}/status`, {
          status: {
            conditions: [
              {
                type: 'Active',
                status: 'False',
                reason: 'FlavorNotFound',
                message: "Can't admit new workloads: references missing ResourceFlavor(s)",
                lastTransitionTime: now(),
              },
            ],
          },
        }),
      heal: () =>
        api('PATCH', `/apis/kueue.x-k8s.io/v1beta2/clusterqueues/${cq}/status`, {
          status: {
            conditions: [
              { type: 'Active', status: 'True', reason: 'Ready', message: 'Can admit new workloads', lastTransitionTime: now() },
            ],
          },
        }),
    },
    {
      name: 'KaiwoJob FAILED',
      seen: (m, i) => has(m, 'WorkloadFailed', `bench-job-${i * 5 + 1}`),
      inject: (i) =>
        api(
          'PATCH',
          `/apis/kaiwo.silogen.ai/v1alpha1/namespaces/bench-ns-${(i * 5 + 1) % scale.namespaces}/kaiwojobs/bench-job-${i * 5 + 1}/status`,
          { status: kaiwoJobStatus('FAILED', now()) },
        ),
      heal: (i) =>
        api(
          'DELETE',
          `/apis/kaiwo.silogen.ai/v1alpha1/namespaces/bench-ns-${(i * 5 + 1) % scale.namespaces}/kaiwojobs/bench-job-${i * 5 + 1}`,
          undefined,
        ),
    },
    {
      name: 'Kaiwo operator unavailable',
      seen: (m) => m.status?.conditions?.find((c) => c.type === 'KaiwoOperatorHealthy')?.status === 'False',
      inject: () => sim.setDeploymentAvailable('kaiwo-system', 'kaiwo-controller-manager', 0),
      heal: () => sim.setDeploymentAvailable('kaiwo-system', 'kaiwo-controller-manager', 1),
    },
  ];
  const latencies: Record<string, number[]> = {};
  for (let k = 0; k < FAULTS; k++) {
    const c = classes[k % classes.length];
    if (!c) continue;
    const i = 10 + k; // a different object each time
    const t = Date.now();
    await c.inject(i);
    const hit = await until(`${c.name} seen`, () => recorder.seen.find((s) => s.at >= t && c.seen(s.monitor, i)), 60_000, 5);
    (latencies[c.name] ??= []).push(hit.at - t);
    const h = Date.now();
    await c.heal(i);
    await until(`${c.name} healed`, () => recorder.seen.find((s) => s.at >= h && !c.seen(s.monitor, i)), 120_000, 20);
  }
  const all = Object.values(latencies).flat();
  say(`fault → status over ${all.length} faults: median ${median(all)} ms, p99 ${pct(all, 99)} ms, max ${Math.max(...all)} ms`);
  for (const [name, xs] of Object.entries(latencies)) say(`  ${name}: ${xs.join(', ')} ms`);

  // One-shot check, CHECKS times in a row (the API server's own pace varies from run to run): wall time, peak RSS.
  const checks: { seconds: number; peakRssMiB: number; exit: number | null }[] = [];
  for (let k = 0; k < CHECKS; k++) {
    const c0 = Date.now();
    const check = spawn(process.execPath, [...NODE_FLAGS, MAIN, 'check', MON, `--kubeconfig=${cluster.kubeconfigPath}`, '--timeout=300s'], {
      stdio: 'ignore',
    });
    let hwmMiB = 0;
    const poll = setInterval(() => {
      try {
        const hwm = proc(check.pid ?? 0).hwmMiB;
        if (Number.isFinite(hwm)) hwmMiB = Math.max(hwmMiB, hwm);
      } catch {
        /* exited */
      }
    }, 20);
    const exit = await new Promise<number | null>((r) => check.on('exit', r));
    clearInterval(poll);
    checks.push({ seconds: (Date.now() - c0) / 1000, peakRssMiB: hwmMiB, exit });
    say(`kaiwo-monitor check: ${checks.at(-1)?.seconds.toFixed(1)} s, peak RSS ≥ ${hwmMiB.toFixed(0)} MiB (exit ${exit})`);
  }
  const checkS = median(checks.map((c) => c.seconds));
  const checkHwm = Math.max(...checks.map((c) => c.peakRssMiB));
  const objectBytes = JSON.stringify(await new Monitors(kc).get(MON)).length;

  let profile: string[] = [];
  if (env.PROFILE === '1') {
    op.kill('SIGTERM');
    await new Promise((r) => op.on('exit', r));
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (file) profile = topFunctions(join(profDir, file), 20);
  }

  const result = {
    at: new Date().toISOString(),
    scale: SCALE,
    objects: scale,
    node: process.version,
    server: cluster.serverVersion,
    build: MAIN,
    load: { requests: loader.requests, seconds: Math.round(loadS) },
    kaiwoMonitor: {
      rssMiB: { median: median(rss.op), max: Math.max(...rss.op) },
      heap,
      knownS: knownMs / 1000,
      idleCpuSPerMin: idleCpu.op,
      idleStatusWrites: idlePatches,
      bareWatcherIdleCpuSPerMin: idleCpu.bare,
      faultMs: { count: all.length, median: median(all), p99: pct(all, 99), max: Math.max(...all), byClass: latencies },
      check: { medianSeconds: checkS, peakRssMiB: checkHwm, runs: checks },
      objectBytes,
      knownApiserverCpuS,
    },
    kubeStateMetrics: ksm
      ? { rssMiB: { median: median(rss.ksm), max: Math.max(...rss.ksm) }, knownS: ksmKnownMs / 1000, idleCpuSPerMin: idleCpu.ksm }
      : undefined,
    floor,
    apiserverRssMiB: rss.apiserver.length ? median(rss.apiserver) : undefined,
    profile,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'bench-scale.json'), `${JSON.stringify(result, null, 2)}\n`);
  const row = (k: string, a: string, b: string) => say(`| ${k} | ${a} | ${b} |`);
  say(
    `\n| SCALE=${SCALE}: ${scale.nodes} nodes / ${scale.workloads} Workloads / ${scale.kaiwoJobs} KaiwoJobs | kaiwo-monitor | kube-state-metrics ${ksm ? '' : '(skipped)'}|`,
  );
  say('|---|---|---|');
  row('steady RSS (median of the idle window)', `${median(rss.op).toFixed(0)} MiB`, ksm ? `${median(rss.ksm).toFixed(0)} MiB` : '–');
  row(
    'start → every condition known / every node exported',
    `${(knownMs / 1000).toFixed(1)} s`,
    ksm ? `${(ksmKnownMs / 1000).toFixed(1)} s` : '–',
  );
  row('floor: a bare client streams the same collections', `${floor.streamS.toFixed(1)} s`, '–');
  row(
    `idle CPU per minute (Leases every 1 s, node heartbeats every ${HEARTBEAT_SECONDS} s)`,
    `${idleCpu.op.toFixed(2)} s (a bare Node watcher: ${idleCpu.bare.toFixed(2)} s)`,
    ksm ? `${idleCpu.ksm.toFixed(2)} s` : '–',
  );
  row(
    `fault → status, ${all.length} faults of ${classes.length} classes: median / p99 / max`,
    `${median(all)} / ${pct(all, 99)} / ${Math.max(...all)} ms`,
    '–',
  );
  row(
    `\`kaiwo-monitor check\`: time (median of ${checks.length}) / peak RSS`,
    `${checkS.toFixed(1)} s (${checks.map((c) => c.seconds.toFixed(1)).join(', ')}) / ${checkHwm.toFixed(0)} MiB`,
    '–',
  );
  row('KaiwoMonitor object', `${(objectBytes / 1024).toFixed(1)} KB`, '–');
  if (result.apiserverRssMiB) say(`(kube-apiserver RSS ${result.apiserverRssMiB.toFixed(0)} MiB; written to out/bench-scale.json)`);
  if (profile.length) say(`\nCPU profile, top functions by self time:\n${profile.join('\n')}`);
} finally {
  for (const c of children) c.kill('SIGTERM');
  for (const s of stops.reverse()) await s();
  await cluster.stop();
}
