import { expect } from 'chai';
import { applyDefaults } from '../../../src/api/defaults.js';
import { kueueCheck } from '../../../src/checks/kueue.js';
import { type KaiwoMonitorSpec, specSchema } from '../../../src/checks/registry.js';
import { type ControllerThresholds, controllerMetricsFindings, historySize, windowRate } from '../../../src/checks/controller-metrics.js';
import type { ScrapeView } from '../../../src/checks/types.js';
import { NextCheck } from '../../../src/checks/util.js';
import type { Sample } from '../../../src/sources/promtext.js';
import { clusterQueue, deployment, lease, view } from '../../support/fixtures.js';

const MIN = 60_000;
const T0 = Date.parse('2026-06-01T12:00:00Z');
const thresholds: ControllerThresholds & { interval: string } = {
  maxReconcileErrorsPerMinute: 5,
  maxWorkqueueDepth: 100,
  workqueueDepthFor: '5m',
  maxReconcileP99: '30s',
  rateWindow: '5m',
  interval: '15s',
};

const errorsSample = (value: number, controller = 'kaiwojob'): Sample => ({
  name: 'controller_runtime_reconcile_errors_total',
  labels: { controller },
  value,
});

/** A deterministic jitter in [-2 s, +2 s] so scrape times are not perfectly regular. */
const jitter = (i: number) => ((i * 7919) % 4001) - 2000;

/**
 * Replays a scrape every `intervalMs` (with jitter) for `durationMs`, keeping the history the scrape manager
 * would keep, and evaluates the rules after every scrape. `samplesAt(t)` is what the endpoint answers at time t.
 * Returns the times (ms since start) the ReconcileErrors finding was present.
 */
function replay(
  samplesAt: (t: number, i: number) => Sample[],
  durationMs: number,
  t: ControllerThresholds & { interval: string } = thresholds,
  intervalMs = 15_000,
) {
  const size = historySize(intervalMs, 5 * MIN);
  let history: ScrapeView['history'] = [];
  const evaluations: { t: number; firing: boolean; panics: boolean }[] = [];
  for (let i = 0; i * intervalMs <= durationMs; i++) {
    const ms = Math.max(0, i * intervalMs + (i ? jitter(i) : 0));
    history = [...history, { at: T0 + ms, samples: samplesAt(ms, i) }].slice(-size);
    const reasons = controllerMetricsFindings('op', { state: 'ok', history }, t, new Date(T0 + ms), new NextCheck(new Date(T0 + ms))).map(
      (f) => f.reason,
    );
    evaluations.push({ t: ms, firing: reasons.includes('ReconcileErrors'), panics: reasons.includes('ReconcilePanics') });
  }
  return evaluations;
}

/** Number of times the finding appeared or disappeared. */
const flips = (e: { firing: boolean }[]) => e.slice(1).filter((x, i) => x.firing !== e[i]?.firing).length;

describe('counter rates over a fixed window (like PromQL increase(x[5m]))', () => {
  it('keeps enough scrapes to cover the window', () => {
    expect(historySize(15_000, 5 * MIN)).to.equal(22);
    expect(historySize(1000, 10_000)).to.equal(12);
    expect(historySize(1000, 24 * 60 * MIN)).to.equal(1024);
  });

  it('never flips a 5/min rule for a counter rising 1/min, including the backoff pattern (two errors a few seconds apart)', () => {
    const steady = replay((t) => [errorsSample(Math.floor(t / MIN))], 60 * MIN);
    expect(
      steady.filter((e) => e.firing),
      '1/min steady',
    ).to.deep.equal([]);
    // Exponential-backoff retries: pairs of errors 5 s apart, then quiet: about 1/min on average, 8/min between two scrapes.
    const pairs = replay((t) => [errorsSample(2 * Math.floor(t / (2 * MIN)) + (t % (2 * MIN) >= 5000 ? 1 : 0))], 60 * MIN);
    expect(
      pairs.filter((e) => e.firing),
      'bursty 1/min',
    ).to.deep.equal([]);
    // Just under the threshold: 4/min, one error per scrape on average.
    const near = replay((t) => [errorsSample(Math.floor((4 * t) / MIN))], 60 * MIN);
    expect(
      near.filter((e) => e.firing),
      '4/min',
    ).to.deep.equal([]);
  });

  it('flips for a counter rising 10/min within one window, and stays flipped while it rises (no flapping)', () => {
    const start = 10 * MIN;
    const e = replay((t) => [errorsSample(Math.floor((Math.max(0, t - start) * 10) / MIN))], 40 * MIN);
    const first = e.find((x) => x.firing);
    expect(first, 'fired').to.not.equal(undefined);
    expect((first?.t ?? Infinity) - start).to.be.at.most(5 * MIN);
    expect(flips(e), 'one transition to firing, none back').to.equal(1);
    expect(e.at(-1)?.firing).to.equal(true);
  });

  it('clears one window after the errors stop', () => {
    const e = replay((t) => [errorsSample(Math.floor((Math.min(t, 10 * MIN) * 10) / MIN))], 30 * MIN);
    const last = [...e].reverse().find((x) => x.firing);
    expect(last?.t).to.be.within(10 * MIN, 10 * MIN + 5 * MIN + 20_000);
    expect(flips(e)).to.equal(2);
  });

  it('handles a counter reset (process restart) per series: the new value is the increase, never a negative or a spike', () => {
    // 1000 errors counted before the window; the process restarts at 20 min and counts 1/min from 0.
    const e = replay((t) => [errorsSample(t < 20 * MIN ? 1000 + Math.floor(t / MIN) : Math.floor((t - 20 * MIN) / MIN))], 60 * MIN);
    expect(e.filter((x) => x.firing)).to.deep.equal([]);
    const h = [0, 15, 30, 45].map((s, i) => ({
      at: T0 + s * 1000,
      samples: [errorsSample([1000, 1002, 3, 5][i] ?? 0), errorsSample(7, 'kaiwoservice')],
    }));
    expect(windowRate(h, 'controller_runtime_reconcile_errors_total', 5 * MIN)?.increase, '2 + 3 (reset) + 2, other series flat').to.equal(
      7,
    );
    // A restart that comes back with a burst is counted.
    const burst = [
      { at: T0, samples: [errorsSample(1000)] },
      { at: T0 + 15_000, samples: [errorsSample(40)] },
    ];
    expect(windowRate(burst, 'controller_runtime_reconcile_errors_total', 5 * MIN)?.increase).to.equal(40);
  });

  it('handles replica changes: a standby answering (no reconcile series) and a new leader starting from a lower count', () => {
    // Behind a Service, every other scrape hits the standby, which exports only leader_election_master_status.
    const alternating = replay(
      (t, i) =>
        i % 2 ? [{ name: 'leader_election_master_status', labels: { name: 'x' }, value: 0 }] : [errorsSample(500 + Math.floor(t / MIN))],
      60 * MIN,
    );
    expect(alternating.filter((x) => x.firing)).to.deep.equal([]);
    const h = [
      { at: T0, samples: [errorsSample(500)] },
      { at: T0 + 15_000, samples: [] },
      { at: T0 + 30_000, samples: [errorsSample(501)] },
      { at: T0 + 45_000, samples: [errorsSample(2)] }, // failover: the new leader's counter
    ];
    expect(windowRate(h, 'controller_runtime_reconcile_errors_total', 5 * MIN)?.increase).to.equal(3);
  });

  it('never overstates the rate while the history is younger than the window, yet fires at once on a burst', () => {
    const h = (n: number) => [
      { at: T0, samples: [errorsSample(0)] },
      { at: T0 + 30_000, samples: [errorsSample(n)] },
    ];
    const r20 = windowRate(h(20), 'controller_runtime_reconcile_errors_total', 5 * MIN);
    expect(r20).to.deep.include({ increase: 20, spanMs: 30_000 });
    expect(r20?.perMinute, '20 in 30 s is at least 4/min over 5m').to.equal(4);
    const find = (n: number) =>
      controllerMetricsFindings('op', { state: 'ok', history: h(n) }, thresholds, new Date(T0 + 30_000), new NextCheck(new Date(T0))).map(
        (f) => f.reason,
      );
    expect(find(20)).to.deep.equal([]);
    expect(find(30)).to.deep.equal(['ReconcileErrors']);
  });

  it('measures over the span when the history cannot hold the whole window (1 s scrapes, 1 h window)', () => {
    const t = { ...thresholds, interval: '1s', rateWindow: '1h' };
    const history = Array.from({ length: 1024 }, (_, i) => ({ at: T0 + i * 1000, samples: [errorsSample(i / 6)] })); // 10/min
    const r = controllerMetricsFindings('op', { state: 'ok', history }, t, new Date(T0 + 1_023_000), new NextCheck(new Date(T0)));
    expect(r.map((f) => f.reason)).to.deep.equal(['ReconcileErrors']);
  });

  it('reports panics for the whole window after one, then clears', () => {
    const e = replay(
      (t) => [
        errorsSample(0),
        { name: 'controller_runtime_reconcile_panics_total', labels: { controller: 'kaiwojob' }, value: t >= 10 * MIN ? 1 : 0 },
      ],
      30 * MIN,
    );
    const on = e.filter((x) => x.panics).map((x) => x.t);
    expect(on[0]).to.be.within(10 * MIN, 10 * MIN + 20_000);
    expect((on.at(-1) ?? 0) - (on[0] ?? 0)).to.be.within(5 * MIN - 20_000, 5 * MIN + 20_000);
    expect(e.slice(1).filter((x, i) => x.panics !== e[i]?.panics)).to.have.length(2);
  });

  it('ignores non-finite sample values from a hostile endpoint', () => {
    const h = [
      { at: T0, samples: [errorsSample(1)] },
      { at: T0 + 15_000, samples: [errorsSample(Infinity)] },
      { at: T0 + 30_000, samples: [errorsSample(Number.NaN)] },
    ];
    expect(windowRate(h, 'controller_runtime_reconcile_errors_total', 5 * MIN)?.increase).to.equal(0);
  });

  it("applies the same window to Kueue's inadmissible admission attempts (Warning above 30/min by default)", () => {
    const spec = applyDefaults<KaiwoMonitorSpec>(specSchema, { kueue: { metrics: { enabled: true, url: 'https://k/metrics' } } }).kueue;
    const at = new Date(T0 + 10 * MIN);
    const data = {
      deployments: view([deployment('kueue-system', 'kueue-controller-manager')]),
      pods: view([]),
      clusterQueues: view([clusterQueue('kaiwo')]),
      leases: view([lease('kueue-system', 'c1f6bfd2.kueue.x-k8s.io', 1000, 'pod-1_abc', 15, at)]),
      localQueues: view([]),
      workloads: view([]),
    };
    const attempts = (perMinute: number) =>
      Array.from({ length: 41 }, (_, i) => ({
        at: T0 + i * 15_000,
        samples: [
          { name: 'kueue_admission_attempts_total', labels: { result: 'inadmissible' }, value: Math.floor((i * 15_000 * perMinute) / MIN) },
          { name: 'kueue_admission_attempts_total', labels: { result: 'success' }, value: i * 100 },
        ],
      }));
    const reasons = (perMinute: number) =>
      kueueCheck
        .evaluate({ spec, data, scrapes: { metrics: { state: 'ok', history: attempts(perMinute) } }, now: at, env: {} })
        .findings.map((f) => f.reason);
    expect(reasons(20), '20/min, and 400/min admitted ones do not count').to.deep.equal([]);
    expect(reasons(60)).to.deep.equal(['InadmissibleAttempts']);
  });
});
