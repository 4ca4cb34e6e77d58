/**
 * make bench-why: how long `kaiwo-monitor why` takes for one pending Workload on a loaded local control plane.
 *   SCALE=1     fraction of 5,000 GPU nodes and 50,000 Workloads (5 ClusterQueues, 20 namespaces, 4 per queue;
 *               real pod templates; 15 of 20 admitted, 3 finished, 2 pending)
 *   RUNS=5      answers timed (median and worst printed)
 * Kueue's visibility API is not served here (its aggregated server needs a pod), so the position is the computed
 * one, read two ways: the unadmitted Workloads of the queue's four namespaces through Kueue's selectable field
 * (v0.19 CRDs), and every Workload of those namespaces (older Kueue). Prints both (the positions must agree) and
 * the time of a whole CLI process (Node start included) once: the built CLI (dist/, `make build`) when there is one,
 * else through tsx (which compiles on the fly: slower to start).
 * At SCALE=1 the local kube-apiserver holds 50,000 Workloads with pod templates; without a memory limit its Go heap
 * grows past 17 GB while loading, so GOMEMLIMIT (default 11GiB here) is passed to it: measured peak 11.1 GB RSS.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startCluster } from '../../src/localcluster/backend.js';
import { repoRoot } from '../../src/localcluster/paths.js';
import { explain } from '../../src/why/explain.js';
import { gather, parseTarget } from '../../src/why/gather.js';
import { Loader, loadCluster, type Scale } from './load.js';

const SCALE = Number(process.env.SCALE ?? '1');
const RUNS = Number(process.env.RUNS ?? '5');
const scale: Scale = { nodes: Math.round(5000 * SCALE), workloads: Math.round(50_000 * SCALE), kaiwoJobs: 0, pools: 5, namespaces: 20 };
const say = (s: string) => process.stdout.write(`${s}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

say(
  `bench-why: SCALE=${SCALE} → ${scale.nodes} GPU nodes, ${scale.workloads} Workloads in ${scale.pools} ClusterQueues / ${scale.namespaces} namespaces`,
);
process.env.GOMEMLIMIT ??= '11GiB';
const cluster = await startCluster({ backend: 'local' });
try {
  const kc = cluster.kubeConfig();
  const loader = new Loader(kc);
  await loader.init();
  const t0 = Date.now();
  say('loading:');
  await loadCluster(loader, scale, say);
  loader.close();
  say(`loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // Workload i is pending when i % 20 >= 18 (load.ts); the last such one is the newest in its queue.
  const last = scale.workloads - 1 - ((scale.workloads - 1) % 20) + 18;
  const i = last < scale.workloads ? last : last - 20;
  const target = parseTarget(`workload/bench-wl-${i}`, `bench-ns-${i % scale.namespaces}`);
  const timed = async (opts: { noFieldSelector?: boolean }) => {
    const times: number[] = [];
    let answer = explain(await gather(kc, target, opts));
    for (let r = 0; r < RUNS; r++) {
      const start = performance.now();
      answer = explain(await gather(kc, target, opts));
      times.push(performance.now() - start);
    }
    return { answer, times };
  };
  const fast = await timed({});
  const full = await timed({ noFieldSelector: true });
  say(`\nwhy ${fast.answer.target}: exit ${fast.answer.exitCode}; ${fast.answer.cause}`);
  say(`position: ${JSON.stringify(fast.answer.position)}`);
  if (JSON.stringify(full.answer.position) !== JSON.stringify(fast.answer.position))
    say(`POSITIONS DIFFER: every Workload read gives ${JSON.stringify(full.answer.position)}`);
  const line = (what: string, t: number[]) =>
    `${what}: median ${median(t).toFixed(0)} ms, worst ${Math.max(...t).toFixed(0)} ms over ${RUNS} runs`;
  say(line("in-process answer (gather + explain), pending Workloads read through Kueue's selectable field", fast.times));
  say(line("in-process answer, every Workload of the queue's namespaces read (Kueue < 0.19 or Kubernetes < 1.31)", full.times));
  const built = join(repoRoot, 'dist/cli/main.js');
  const entry = existsSync(built) ? [built] : ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts')];
  const cliStart = performance.now();
  const cli = await promisify(execFile)(
    process.execPath,
    [...entry, 'why', `workload/bench-wl-${i}`, '-n', target.namespace, `--kubeconfig=${cluster.kubeconfigPath}`],
    { cwd: repoRoot },
  ).catch((e: unknown) => e as { stdout?: string });
  say(
    `whole CLI process (${existsSync(built) ? 'dist/cli/main.js' : 'through tsx'}: Node start, the answer): ${(performance.now() - cliStart).toFixed(0)} ms; first line: ${(cli.stdout ?? '').split('\n')[0] ?? ''}`,
  );
} finally {
  await cluster.stop();
}
