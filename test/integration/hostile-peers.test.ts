import { expect } from 'chai';
import fc from 'fast-check';
import { KubeConfig } from '@kubernetes/client-node';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { applyDefaults } from '../../src/api/defaults.js';
import { gpuHardwareCheck, type GPUHardwareSpec } from '../../src/checks/gpu-hardware.js';
import { utilizationFindings } from '../../src/checks/gpu-nodes.js';
import { readSignals } from '../../src/checks/gpu-signals.js';
import type { ScrapeSpec } from '../../src/checks/types.js';
import { HISTORY_BYTES, ScrapeManager } from '../../src/controller/scrapes.js';
import { metricsHandler, Peer, promqlHandler, type ShapeSource } from '../support/fakes/hostile-peers.js';
import { createLogger } from '../../src/runtime/log.js';
import { rawJson } from '../../src/runtime/rawrequest.js';
import { instantQuery } from '../../src/sources/promql.js';
import { PARSE_DEFAULTS } from '../../src/sources/promtext.js';
import { scrape, ScrapeError, type ScrapeTarget } from '../../src/sources/scrape.js';
import { Monitors } from '../support/fakes/monitors.js';
import { SimulatedStack } from '../support/fakes/simulate.js';
import { sharedCluster, skipWithoutBackend, uniqueName } from '../support/cluster.js';
import { OperatorProcess } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MiB = 1024 * 1024;

/** heapUsed after a full GC, so differences measure what is retained, not garbage not yet collected. */
const heap = () => {
  gc();
  return process.memoryUsage().heapUsed;
};

/** Highest heapUsed seen while `p` runs (sampled every 10 ms), minus the level before. */
async function peakGrowth<T>(p: () => Promise<T>): Promise<{ value: T; peak: number }> {
  const base = heap();
  let peak = 0;
  const t = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed - base);
  }, 10);
  try {
    return { value: await p(), peak };
  } finally {
    clearInterval(t);
  }
}

interface Outcome {
  reason: string;
  message: string;
  ms: number;
}
async function settle(p: Promise<unknown>): Promise<Outcome> {
  const t0 = Date.now();
  try {
    await p;
    return { reason: 'ok', message: '', ms: Date.now() - t0 };
  } catch (err) {
    const reason = err instanceof ScrapeError ? err.reason : `unexpected ${String(err)}`;
    return { reason, message: err instanceof Error ? err.message : '', ms: Date.now() - t0 };
  }
}

/** Handles that would show a leak: sockets (plain and TLS) and timers. Call after an await (mocha arms its test timer late). */
function handles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) if (/TCP|TLS|Timeout|Pipe/.test(r)) out[r] = (out[r] ?? 0) + 1;
  return out;
}

describe('integration: hostile peers on loopback (/metrics and PromQL servers)', function () {
  this.timeout(180_000);
  let metrics: Peer;
  let promql: Peer;
  let silent: Peer;
  const shape: ShapeSource = { body: '' };
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => {
    uncaught.push(e);
  };

  before(async () => {
    metrics = await Peer.start(metricsHandler);
    promql = await Peer.start(promqlHandler(shape));
    silent = await Peer.start();
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
  });
  after(async () => {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
    await Promise.all([metrics.close(), promql.close(), silent.close()]);
  });
  afterEach(() => {
    expect(uncaught, 'errors escaped to the event loop').to.deep.equal([]);
  });

  /** Every connection the peer accepted has been closed by the client (a drained never-ending body never closes). */
  const noSocketLeft = (peer: Peer, what = 'the peer to see every connection closed') => waitFor(what, () => peer.open === 0, 3000, 10);
  const target = (path: string, extra: Partial<ScrapeTarget> = {}): ScrapeTarget => ({
    url: metrics.url(path),
    timeoutMs: 5000,
    maxBytes: 10 * MiB,
    ...extra,
  });

  describe('/metrics servers', () => {
    const cases: { path: string; reason: string; message?: RegExp }[] = [
      { path: '/endless', reason: 'MetricsResponseTooLarge', message: /more than 10485760 bytes/ },
      { path: '/gigabyte', reason: 'MetricsResponseTooLarge' },
      { path: '/drip', reason: 'MetricsUnreachable', message: /no complete answer .* within 5000 ms/ },
      { path: '/headers-forever', reason: 'MetricsUnreachable', message: /within 5000 ms/ },
      { path: '/redirect', reason: 'MetricsUnreachable', message: /answered 302, a redirect to \/redirect; redirects are not followed/ },
      { path: '/error-endless', reason: 'MetricsUnreachable', message: /answered HTTP 500/ },
      { path: '/unauthorized-endless', reason: 'MetricsUnauthorized', message: /answered 401/ },
      { path: '/close-mid-body', reason: 'MetricsUnreachable', message: /closed the connection|aborted|socket hang up/ },
      { path: '/invalid', reason: 'MetricsInvalid', message: /no parsable samples/ },
      { path: '/million', reason: 'MetricsResponseTooLarge' },
    ];
    for (const c of cases) {
      it(`${c.path}: ${c.reason} within the timeout, bounded heap, no socket left open`, async () => {
        const { value: o, peak } = await peakGrowth(() => settle(scrape(target(c.path))));
        expect(o.reason, o.message).to.equal(c.reason);
        if (c.message) expect(o.message).to.match(c.message);
        expect(o.ms).to.be.below(5000 + 1000);
        expect(peak, 'heap growth while scraping').to.be.below(96 * MiB);
        await noSocketLeft(metrics);
      });
    }

    it('a TLS server that never handshakes (plain TCP, silent): MetricsUnreachable within the timeout', async () => {
      const url = `https://127.0.0.1:${silent.port}/metrics`;
      const o = await settle(scrape({ url, timeoutMs: 500, maxBytes: MiB, insecureSkipVerify: true }));
      expect(o.reason).to.equal('MetricsUnreachable');
      expect(o.ms).to.be.below(1500);
      await noSocketLeft(silent);
    });

    it('1M series under a raised cap: keeps at most 50k samples and 16 MiB (truncated), retains a bounded heap', async () => {
      const before = heap();
      const r = await scrape(target('/million', { maxBytes: 100 * MiB, timeoutMs: 60_000 }), { keep: (n) => n === 'gpu_gfx_activity' });
      const retained = heap() - before;
      expect(r.samples.length).to.be.within(30_000, 50_000);
      expect(r.truncated).to.equal(true);
      expect(r.bytes).to.be.at.most(PARSE_DEFAULTS.maxKeptBytes);
      expect(retained, `retained ${(retained / MiB).toFixed(1)} MiB`).to.be.below(r.bytes);
      await noSocketLeft(metrics);
    });

    it('1M series of metrics the check does not keep: nothing kept, memory flat', async () => {
      const before = heap();
      const r = await scrape(target('/million', { maxBytes: 100 * MiB, timeoutMs: 60_000 }), { keep: (n) => n === 'workqueue_depth' });
      expect(heap() - before).to.be.below(2 * MiB);
      expect(r).to.include({ truncated: false, ignored: 1_000_000 });
      expect(r.samples).to.have.length(0);
    });

    it('label values over 1 KiB inside the 10 MiB cap are dropped and counted, and the heap stays small', async () => {
      const before = heap();
      const r = await scrape(target('/long-labels', { timeoutMs: 10_000 }));
      const retained = heap() - before;
      expect(r.samples).to.have.length(2400);
      expect(r.longLabels).to.equal(4800);
      expect(Object.keys(r.samples[0]?.labels ?? {})).to.deep.equal(['pod', 'namespace']);
      expect(retained, `retained ${(retained / MiB).toFixed(1)} MiB`).to.be.below(4 * MiB);
    });

    it('long label values within the bound are kept, and the estimate covers what they retain', async () => {
      const before = heap();
      const r = await scrape(target('/long-labels-within-bound', { timeoutMs: 10_000 }));
      const retained = heap() - before;
      expect(r.samples).to.have.length(4000);
      expect(r.longLabels).to.equal(0);
      expect(r.samples[0]?.labels.container).to.have.length(1000);
      expect(retained).to.be.below(r.bytes);
    });

    it('100 hostile scrapes in a row leave no socket, timer or handle behind', async () => {
      await new Promise(setImmediate);
      const baseline = handles();
      const paths = [
        '/endless',
        '/error-endless',
        '/unauthorized-endless',
        '/drip',
        '/headers-forever',
        '/redirect',
        '/close-mid-body',
        '/invalid',
        '/gigabyte',
      ];
      const accepted = metrics.accepted;
      for (let i = 0; i < 100; i++) {
        const o = await settle(scrape(target(paths[i % paths.length] ?? '/', { timeoutMs: 200, maxBytes: MiB })));
        expect(o.reason).to.not.equal('ok');
        expect(o.reason).to.not.match(/^unexpected/);
      }
      expect(metrics.accepted - accepted).to.equal(100);
      await noSocketLeft(metrics);
      await waitFor(
        'handles back to the baseline',
        () => JSON.stringify(handles()) === JSON.stringify(baseline) || undefined,
        3000,
        20,
      ).catch(() => {
        expect(handles()).to.deep.equal(baseline);
      });
    });
  });

  describe('PromQL servers', () => {
    const query = (kase: string, extra: { timeoutMs?: number } = {}) =>
      instantQuery({
        url: promql.url(`/${kase}`),
        query: 'avg_over_time(gpu_gfx_activity[5m])',
        timeoutMs: extra.timeoutMs ?? 1000,
        maxBytes: 16 * MiB,
      });

    const cases: [string, RegExp][] = [
      ['nonjson', /HTTP 200, not a Prometheus API answer \(not JSON, or truncated\)/],
      ['truncated', /not JSON, or truncated/],
      ['nan', /value NaN is outside/],
      ['inf', /value \+Inf is outside/],
      ['ninf', /value -Inf is outside/],
      ['huge', /value 1e300 is outside \[0, 9007199254740991\]/],
      ['negative', /value -5 is outside/],
      ['error', /query failed: bad_data: parse error at char 3/],
      ['redirect', /answered 307, a redirect; redirects are not followed/],
      ['slow', /no complete answer from .* within 1000 ms/],
    ];
    for (const [kase, message] of cases) {
      it(`${kase}: PrometheusQueryFailed with a specific message, no socket left open`, async () => {
        const o = await settle(query(kase));
        expect(o.reason, o.message).to.equal('PrometheusQueryFailed');
        expect(o.message).to.match(message);
        expect(o.ms).to.be.below(1500);
        await noSocketLeft(promql);
      });
    }

    it('any JSON shape settles as samples or PrometheusQueryFailed, never a throw out of the event loop (fast-check)', async () => {
      const series = fc.record({
        metric: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.jsonValue()),
        value: fc.oneof(fc.tuple(fc.double(), fc.string()), fc.tuple(fc.double(), fc.double().map(String)), fc.jsonValue()),
      });
      const data = fc.record({
        resultType: fc.constantFrom('vector', 'matrix', 'scalar'),
        result: fc.oneof(fc.array(series), fc.jsonValue()),
      });
      const body = fc.oneof(fc.jsonValue(), fc.record({ status: fc.constantFrom('success', 'error'), data }));
      await fc.assert(
        fc.asyncProperty(body, async (b) => {
          shape.body = JSON.stringify(b);
          const o = await settle(query('shape'));
          expect(o.reason).to.be.oneOf(['ok', 'PrometheusQueryFailed']);
        }),
        { numRuns: 150 },
      );
      await noSocketLeft(promql);
    });

    it('60k series for one pod: at most 50k kept (truncated), evaluated as one idle pod', async () => {
      const { value: r, peak } = await peakGrowth(() => query('series60k', { timeoutMs: 20_000 }));
      expect(r.samples.length).to.be.within(40_000, 50_000);
      expect(r.truncated).to.equal(true);
      expect(peak).to.be.below(160 * MiB);
      const u = utilizationFindings(
        { state: 'ok', history: [{ at: Date.now(), samples: r.samples }] },
        { idleThresholdPercent: 5, idleWindow: '30m' },
      );
      expect(u.findings.map((f) => f.object?.name)).to.deep.equal(['big']);
      expect(u.idle).to.equal(r.samples.length);
      await noSocketLeft(promql);
    });
    it('GPU hardware: 100k problem series naming no node, no node at all or an unknown signal give no finding, a bounded count and heap', async () => {
      const result = Array.from({ length: 100_000 }, (_, i) => ({
        metric:
          i % 3 === 0
            ? { kmon_signal: 'amd_ecc_uncorrectable', hostname: `ghost-${i}`, gpu_id: String(i % 8) }
            : i % 3 === 1
              ? { kmon_signal: 'nvidia_xid_last', gpu: '0' }
              : { kmon_signal: 'no_such_signal', hostname: 'gpu-0' },
        value: [1, '79'],
      }));
      shape.body = JSON.stringify({ status: 'success', data: { resultType: 'vector', result } });
      const { value: r, peak } = await peakGrowth(() =>
        instantQuery({ url: promql.url('/shape'), query: 'q', timeoutMs: 20_000, maxBytes: 64 * MiB }),
      );
      expect(r.truncated).to.equal(true);
      expect(r.samples.length).to.be.within(40_000, 50_000);
      expect(peak).to.be.below(160 * MiB);
      const spec = applyDefaults<GPUHardwareSpec>(gpuHardwareCheck.schema, {}).signals;
      const views = { 'hw.memory': { state: 'ok' as const, history: [{ at: Date.now(), samples: r.samples }] } };
      const read = readSignals(views, new Set(['gpu-0', 'gpu-1']), spec);
      expect(read.signals).to.deep.equal([]);
      expect(read.unmatched).to.be.above(0);
      await noSocketLeft(promql);
    });
  });

  describe('ScrapeManager against hostile endpoints', () => {
    const spec = (path: string, extra: Partial<ScrapeSpec> = {}): ScrapeSpec => ({
      url: metrics.url(path),
      intervalMs: 50,
      timeoutMs: 2000,
      maxBytes: MiB,
      tls: { insecureSkipVerify: false },
      bearerToken: { source: 'None' },
      keep: ['gpu_gfx_activity'],
      historySize: 128,
      ...extra,
    });

    it('scrapes every hostile endpoint repeatedly with the right reason, and leaves nothing behind after release', async () => {
      await new Promise(setImmediate);
      const baseline = handles();
      const scrapes = new Map<string, number>();
      const m = new ScrapeManager(new KubeConfig(), createLogger({ level: 'error' }), (users) => {
        for (const u of users) scrapes.set(u, (scrapes.get(u) ?? 0) + 1);
      });
      const want: Record<string, string> = {
        '/endless': 'MetricsResponseTooLarge',
        '/gigabyte': 'MetricsResponseTooLarge',
        '/drip': 'MetricsUnreachable',
        '/error-endless': 'MetricsUnreachable',
        '/unauthorized-endless': 'MetricsUnauthorized',
        '/invalid': 'MetricsInvalid',
        '/redirect': 'MetricsUnreachable',
        '/close-mid-body': 'MetricsUnreachable',
        '/headers-forever': 'MetricsUnreachable',
      };
      try {
        for (const path of Object.keys(want)) m.use(path, [spec(path)]);
        await waitFor('every endpoint scraped 3 times', () => Object.keys(want).every((p) => (scrapes.get(p) ?? 0) >= 3), 30_000, 20);
        for (const [path, reason] of Object.entries(want)) expect(m.view(spec(path)), path).to.deep.include({ state: 'failing', reason });
      } finally {
        for (const path of Object.keys(want)) m.release(path);
      }
      await noSocketLeft(metrics);
      await waitFor(
        'handles back to the baseline',
        () => JSON.stringify(handles()) === JSON.stringify(baseline) || undefined,
        3000,
        20,
      ).catch(() => {
        expect(handles()).to.deep.equal(baseline);
      });
    });

    it('keeps the history within its byte budget (the newest two always), whatever historySize says', async () => {
      let scrapes = 0;
      const m = new ScrapeManager(new KubeConfig(), createLogger({ level: 'error' }), () => {
        scrapes++;
      });
      const s = spec('/series/40000', { maxBytes: 100 * MiB, timeoutMs: 20_000, intervalMs: 10 }); // ~15 MB estimated per scrape
      const before = heap();
      try {
        m.use('big', [s]);
        await waitFor('8 scrapes of 40k series', () => scrapes >= 8, 120_000, 20);
        const h = m.view(s).history;
        const retained = heap() - before;
        expect(
          h.map((e) => e.samples.length).filter((n) => n !== 40_000),
          'history entries without all 40,000 samples (their sample counts)',
        ).to.deep.equal([]);
        expect(h.length, 'two scrapes fit the budget, a third does not').to.equal(2);
        expect(retained, `retained ${(retained / MiB).toFixed(1)} MiB`).to.be.below(HISTORY_BYTES);
      } finally {
        m.release('big');
      }
    });
  });

  describe('a bearer token from a Secret on a real API server', function () {
    before(skipWithoutBackend);
    it('with a newline inside: MetricsUnauthorized, nothing sent, nothing thrown', async () => {
      const cluster = await sharedCluster();
      const kc = cluster.kubeConfig();
      const name = uniqueName('newline-token');
      await rawJson(kc, {
        method: 'POST',
        path: '/api/v1/namespaces/default/secrets',
        body: { apiVersion: 'v1', kind: 'Secret', metadata: { name }, data: { token: Buffer.from('abc\ndef\n').toString('base64') } },
      });
      const accepted = metrics.accepted;
      let scraped = 0;
      const m = new ScrapeManager(kc, createLogger({ level: 'error' }), () => {
        scraped++;
      });
      const s: ScrapeSpec = {
        url: metrics.url('/ok'),
        intervalMs: 100,
        timeoutMs: 300,
        maxBytes: MiB,
        tls: { insecureSkipVerify: false },
        bearerToken: { source: 'Secret', secretRef: { namespace: 'default', name, key: 'token' } },
        keep: [],
        historySize: 2,
      };
      try {
        m.use('t', [s]);
        await waitFor('3 scrape attempts', () => scraped >= 3, 10_000, 20);
        expect(m.view(s)).to.deep.include({ state: 'failing', reason: 'MetricsUnauthorized' });
        expect(m.view(s).error).to.match(/newline/);
      } finally {
        m.release('t');
        await rawJson(kc, { method: 'DELETE', path: `/api/v1/namespaces/default/secrets/${name}` }).catch(() => undefined);
      }
      expect(metrics.accepted).to.equal(accepted);
    });
  });

  describe('the operator against a hostile /metrics endpoint (real API server)', function () {
    before(skipWithoutBackend);
    let kc: KubeConfig;
    let sim: SimulatedStack;
    let op: OperatorProcess;
    let monitors: Monitors;
    const name = 'hostile-metrics';
    // A failing endpoint turns the condition Unknown once two attempts failed and the first is failureGrace old.
    const metricsSpec = (path: string) => ({
      enabled: true,
      url: metrics.url(path),
      interval: '1s',
      timeout: '1s',
      failureGrace: '2s',
      maxResponseBytes: MiB,
      bearerToken: { source: 'None' },
    });

    before(async () => {
      const cluster = await sharedCluster();
      kc = cluster.kubeConfig();
      monitors = new Monitors(kc);
      sim = new SimulatedStack(kc, { label: 'hostile', workloadNamespace: 'ml-hostile' });
      await sim.install();
      await monitors.create(name, sim.monitorSpec({ operator: { metrics: metricsSpec('/ok') } }));
      op = await OperatorProcess.start(cluster.kubeconfigPath, [], { metrics: 'plain' });
    });
    after(async () => {
      await op.stop();
      await sim.stop();
      await monitors.delete(name);
    });

    // Consecutive cases differ in reason or message, so each wait sees the new endpoint's answer.
    const cases: [string, string, RegExp][] = [
      ['/error-endless', 'MetricsUnreachable', /answered HTTP 500/],
      ['/unauthorized-endless', 'MetricsUnauthorized', /answered 401/],
      ['/endless', 'MetricsResponseTooLarge', /more than 1048576 bytes/],
      ['/invalid', 'MetricsInvalid', /no parsable samples/],
      ['/gigabyte', 'MetricsResponseTooLarge', /more than 1048576 bytes/],
      ['/redirect', 'MetricsUnreachable', /redirects are not followed/],
      ['/drip', 'MetricsUnreachable', /no complete answer .* within 1000 ms/],
      ['/close-mid-body', 'MetricsUnreachable', /closed the connection|aborted|socket hang up/],
      ['/headers-forever', 'MetricsUnreachable', /no complete answer .* within 1000 ms/],
    ];
    for (const [path, reason, message] of cases) {
      it(`${path}: KaiwoOperatorHealthy Unknown with reason ${reason}; the operator keeps running`, async () => {
        await monitors.patchSpec(name, { operator: { metrics: metricsSpec(path) } });
        await waitFor(
          `KaiwoOperatorHealthy ${reason} ${String(message)}`,
          async () => {
            const c = await monitors.condition(name, 'KaiwoOperatorHealthy');
            return c?.status === 'Unknown' && c.reason === reason && message.test(c.message) ? c : undefined;
          },
          30_000,
          200,
        );
        expect(op.exitCode).to.equal(null);
      });
    }

    it('counted no unexpected error, and after the monitor is deleted no connection stays open', async () => {
      expect(await op.metric('kaiwo_monitor_unexpected_errors_total')).to.equal(0);
      await monitors.delete(name);
      await noSocketLeft(metrics, 'every connection of the operator to the hostile endpoint closed after the monitor was deleted');
      expect(op.exitCode).to.equal(null);
    });
  });
});
