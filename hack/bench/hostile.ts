/**
 * make bench-hostile: every hostile /metrics and PromQL peer (test/support/fakes/hostile-peers.ts) at once against one
 * ScrapeManager for BENCH_SECONDS (default 90), then prints peak RSS and heap, the longest event-loop stall
 * (perf_hooks.monitorEventLoopDelay), sockets left open on either side, scrape outcomes, and how long it takes
 * to parse, decode and evaluate 100k series. The peers run in a worker thread, so the event-loop delay and the
 * heap are the scraper's alone (RSS is the whole process). Loopback only.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { controllerMetricsFindings } from '../../src/checks/controller-metrics.js';
import { utilizationFindings } from '../../src/checks/gpu-nodes.js';
import { NextCheck } from '../../src/checks/util.js';
import type { ScrapeSpec } from '../../src/checks/types.js';
import { HISTORY_BYTES, ScrapeManager } from '../../src/controller/scrapes.js';
import { metricsHandler, Peer, promqlHandler } from '../../test/support/fakes/hostile-peers.js';
import { createLogger } from '../../src/runtime/log.js';
import { decodeInstantVector } from '../../src/sources/promql.js';
import { parsePrometheusText, type Sample } from '../../src/sources/promtext.js';

const seconds = Number(process.env.BENCH_SECONDS ?? '90');
const intervalMs = Number(process.env.BENCH_INTERVAL_MS ?? '5000');
const out = (s: string) => process.stdout.write(`${s}\n`);
const MiB = 1024 * 1024;
const mib = (n: number) => `${(n / MiB).toFixed(0)} MiB`;
const sockets = () => process.getActiveResourcesInfo().filter((r) => /TCPWrap|TLSWrap|TCPSocketWrap/.test(r)).length;

/**
 * Median wall time and median CPU time of this thread over `runs` calls of fn, in ms. On a shared machine the wall
 * time includes time the thread waited for a CPU; the CPU time is the work itself.
 */
function timeIt(fn: () => unknown, runs = 15): { wall: number; cpu: number } {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.threadCpuUsage();
    const t0 = performance.now();
    fn();
    wall.push(performance.now() - t0);
    const c = process.threadCpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(runs / 2)] ?? NaN;
  return { wall: median(wall), cpu: median(cpu) };
}

function evaluationTimes(): string[] {
  const n = 100_000;
  const lines = Array.from({ length: n }, (_, i) => `gpu_gfx_activity{gpu_id="${i % 8}",namespace="ml",pod="job-${i >> 3}"} ${i % 100}`);
  const text = lines.join('\n');
  const metric = (i: number) => ({ namespace: 'ml', pod: `job-${i >> 3}`, gpu_id: String(i % 8) });
  const result = lines.map((_, i) => ({ metric: metric(i), value: [1, String(i % 100)] }));
  const json = JSON.stringify({ status: 'success', data: { resultType: 'vector', result } });
  const all = { maxSamples: n, maxKeptBytes: Infinity };
  const spread: Sample[] = parsePrometheusText(text, all).samples;
  const onePod: Sample[] = spread.map((s) => ({ ...s, labels: { ...s.labels, pod: 'big' } }));
  const spec = {
    enabled: true,
    idleThresholdPercent: 5,
    idleWindow: '30m',
    interval: '1m',
    timeout: '10s',
    tls: { insecureSkipVerify: false },
  };
  const view = (samples: Sample[]) => ({ state: 'ok' as const, history: [{ at: 0, samples }] });
  // controller-runtime rules over two scrapes at the per-scrape cap: 25k error-counter series, 25k histogram buckets
  const counter = (i: number, at: number, bump: number): Sample => {
    if (i % 2) return { name: 'controller_runtime_reconcile_errors_total', labels: { controller: `c${i}`, pod: 'p' }, value: i + bump };
    const labels = { controller: `c${i >> 4}`, le: String(2 ** (i % 16)) };
    return { name: 'controller_runtime_reconcile_time_seconds_bucket', labels, value: at + i };
  };
  const counters = (at: number, bump: number) => Array.from({ length: 50_000 }, (_, i) => counter(i, at, bump));
  const history = {
    state: 'ok' as const,
    history: [
      { at: 0, samples: counters(0, 0) },
      { at: 60_000, samples: counters(60_000, 3) },
    ],
  };
  const thresholds = {
    maxReconcileErrorsPerMinute: 5,
    maxWorkqueueDepth: 100,
    workqueueDepthFor: '5m',
    maxReconcileP99: '5s',
    rateWindow: '1m',
  };
  const rules = () => controllerMetricsFindings('bench', history, thresholds, new Date(60_000), new NextCheck(new Date(60_000)));
  const row = (what: string, t: { wall: number; cpu: number }) =>
    `  ${what.padEnd(52)} ${t.wall.toFixed(1).padStart(7)} ms wall ${t.cpu.toFixed(1).padStart(7)} ms CPU`;
  return [
    row(
      'utilization of 100k series over 12.5k pods',
      timeIt(() => utilizationFindings(view(spread), spec)),
    ),
    row(
      'utilization of 100k series of one pod',
      timeIt(() => utilizationFindings(view(onePod), spec)),
    ),
    row('controller-runtime rules, 2 scrapes x 50k series', timeIt(rules)),
    row(
      `parse 100k series of Prometheus text (${mib(text.length)})`,
      timeIt(() => parsePrometheusText(text, all), 5),
    ),
    row(
      `decode 100k series of PromQL JSON (${mib(json.length)})`,
      timeIt(() => decodeInstantVector(JSON.parse(json), all), 5),
    ),
  ];
}

interface PeerStats {
  open: number;
  accepted: number;
}
interface Ports {
  metrics: number;
  promql: number;
  silent: number;
}

/** Worker side: start the peers, report their ports, answer stats requests, close on 'close'. */
async function servePeers(port: NonNullable<typeof parentPort>): Promise<void> {
  const metrics = await Peer.start(metricsHandler);
  const promql = await Peer.start(promqlHandler({ body: '{}' }));
  const peers = { metrics, promql, silent: await Peer.start() };
  port.postMessage({ ports: { metrics: peers.metrics.port, promql: peers.promql.port, silent: peers.silent.port } });
  port.on('message', (m: string) => {
    const all = Object.values(peers);
    if (m === 'stats') port.postMessage({ open: all.reduce((a, p) => a + p.open, 0), accepted: all.reduce((a, p) => a + p.accepted, 0) });
    else
      void Promise.all(all.map((p) => p.close())).then(() => {
        port.close();
      });
  });
}

if (!isMainThread && parentPort) await servePeers(parentPort);
else await main();

async function main(): Promise<void> {
  const worker = new Worker(new URL(import.meta.url));
  const next = <T>() => new Promise<T>((r) => worker.once('message', r));
  const { ports } = await next<{ ports: Ports }>();
  const stats = async () => {
    worker.postMessage('stats');
    return next<PeerStats>();
  };
  const url = (p: number, path: string) => `http://127.0.0.1:${p}${path}`;
  let scrapes = 0;
  const manager = new ScrapeManager(new KubeConfig(), createLogger({ level: 'error' }), () => {
    scrapes++;
  });
  const base = {
    intervalMs,
    timeoutMs: 5000,
    maxBytes: 10 * MiB,
    tls: { insecureSkipVerify: false },
    bearerToken: { source: 'None' as const },
    keep: ['gpu_gfx_activity', 'm'],
    historySize: 128,
  };
  const specs: Record<string, ScrapeSpec> = {};
  const paths = [
    '/ok',
    '/endless',
    '/gigabyte',
    '/drip',
    '/headers-forever',
    '/redirect',
    '/error-endless',
    '/unauthorized-endless',
    '/close-mid-body',
    '/invalid',
    '/million',
    '/long-labels',
    '/long-labels-within-bound',
  ];
  for (const path of paths) specs[path] = { ...base, url: url(ports.metrics, path) };
  specs['/million (100 MiB cap)'] = { ...base, url: url(ports.metrics, '/million'), maxBytes: 100 * MiB, timeoutMs: 30_000 };
  specs['tls-silent'] = { ...base, url: `https://127.0.0.1:${ports.silent}/metrics`, tls: { insecureSkipVerify: true } };
  for (const kase of ['ok', 'nonjson', 'truncated', 'nan', 'inf', 'huge', 'negative', 'error', 'redirect', 'series60k', 'slow']) {
    const query = 'avg_over_time(gpu_gfx_activity[5m])';
    specs[`promql/${kase}`] = { ...base, url: url(ports.promql, `/${kase}`), query, maxBytes: 16 * MiB, keep: [], historySize: 1 };
  }

  const baselineSockets = sockets();
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const elu = performance.eventLoopUtilization();
  let gcMax = 0;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMax = Math.max(gcMax, e.duration);
  });
  gc.observe({ entryTypes: ['gc'] });
  let peakRss = 0;
  let peakHeap = 0;
  const sample = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 100);
  const t0 = Date.now();
  const startRss = process.memoryUsage().rss;
  const rss = () => mib(process.memoryUsage().rss);
  const count = Object.keys(specs).length;
  out(`bench-hostile: ${count} hostile endpoints, each scraped every ${intervalMs} ms for ${seconds}s by one ScrapeManager (RSS ${rss()})`);
  out(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${availableParallelism()} CPUs`,
  );
  for (const [name, s] of Object.entries(specs)) manager.use(name, [s]);
  const progress = setInterval(() => {
    const at = Math.round((Date.now() - t0) / 1000);
    out(`  ${at}s: RSS ${rss()}, heap ${mib(process.memoryUsage().heapUsed)}, event-loop delay max ${(delay.max / 1e6).toFixed(0)} ms`);
  }, 15_000);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  clearInterval(progress);
  for (const [name, s] of Object.entries(specs)) {
    const v = manager.view(s);
    const kept = `ok, ${v.history.at(-1)?.samples.length ?? 0} samples kept, ${v.history.length} scrapes in history`;
    out(`  ${name.padEnd(26)} ${v.state === 'ok' ? kept : `${v.state} ${v.reason ?? ''}`}`);
  }
  for (const name of Object.keys(specs)) manager.release(name);
  delay.disable();
  gc.disconnect();
  const busy = performance.eventLoopUtilization(elu).utilization;
  clearInterval(sample);
  const settleStart = Date.now();
  let peerStats = await stats();
  while ((peerStats.open > 0 || sockets() > baselineSockets) && Date.now() - settleStart < 10_000) {
    peerStats = await stats();
    await new Promise((r) => setTimeout(r, 20));
  }
  out('');
  out(`peak RSS:                 ${mib(peakRss)}, ${mib(peakRss - startRss)} over the start (whole process: peers in their worker too)`);
  out(`peak heap used:           ${mib(peakHeap)} (the scraper's thread; history budget ${mib(HISTORY_BYTES)} per endpoint)`);
  const ms = (ns: number) => `${(ns / 1e6).toFixed(1)} ms`;
  out(`max event-loop delay:     ${ms(delay.max)} (p50 ${ms(delay.percentile(50))}, p99 ${ms(delay.percentile(99))})`);
  out(`longest GC pause:         ${gcMax.toFixed(1)} ms`);
  out(`event loop busy:          ${(busy * 100).toFixed(0)}% of the time (load average now ${loadavg()[0]?.toFixed(1) ?? '?'})`);
  out(`scrapes / connections:    ${scrapes} / ${peerStats.accepted}`);
  const waited = Date.now() - settleStart;
  out(`open sockets after stop:  ${peerStats.open} server-side, ${sockets() - baselineSockets} client-side (after ${waited} ms)`);
  out('evaluation (median):');
  worker.postMessage('close');
  await new Promise((r) => worker.once('exit', r));
  for (const l of evaluationTimes()) out(l);
}
