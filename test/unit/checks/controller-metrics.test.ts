import { expect } from 'chai';
import { applyDefaults } from '../../../src/api/defaults.js';
import { type KaiwoMonitorSpec, specSchema } from '../../../src/checks/registry.js';
import { controllerMetricsFindings, counterIncrease, histogramQuantile } from '../../../src/checks/controller-metrics.js';
import { operatorCheck } from '../../../src/checks/operator.js';
import type { ScrapeView } from '../../../src/checks/types.js';
import { NextCheck } from '../../../src/checks/util.js';
import { parsePrometheusText } from '../../../src/sources/promtext.js';
import { deployment, lease, NOW, view } from '../../support/fixtures.js';

const spec = applyDefaults<KaiwoMonitorSpec>(specSchema, { operator: { metrics: { enabled: true, url: 'https://k/metrics' } } }).operator;
const scrapeAt = (at: number, text: string) => ({ at, samples: parsePrometheusText(text).samples });
const errors = (n: number, depth = 0, panics = 0) =>
  `controller_runtime_reconcile_errors_total{controller="kaiwojob"} ${n}\ncontroller_runtime_reconcile_panics_total{controller="kaiwojob"} ${panics}\nworkqueue_depth{name="kaiwojob"} ${depth}\n`;
const ok = (history: ScrapeView['history']): ScrapeView => ({ state: 'ok', history });
const t0 = NOW.getTime();
const healthyData = {
  deployments: view([deployment('kaiwo-system', 'kaiwo-controller-manager')]),
  pods: view([]),
  leases: view([lease('kaiwo-system', '83fc2279.silogen.ai', 1000)]),
  queueConfigs: view([{ metadata: { name: 'kaiwo' }, status: { status: 'READY' } }]),
  scheduler: view([deployment('kube-system', 'kaiwo-scheduler')]),
};

describe('controller-runtime metrics rules', () => {
  it('turns a rising reconcile error rate and panics into Critical findings', () => {
    const calm = controllerMetricsFindings(
      'op',
      ok([scrapeAt(t0 - 15_000, errors(3)), scrapeAt(t0, errors(4))]),
      spec.metrics,
      NOW,
      new NextCheck(NOW),
    );
    expect(calm, '1 error in 5m is under 5/min').to.deep.equal([]);
    const some = controllerMetricsFindings(
      'op',
      ok([scrapeAt(t0 - 15_000, errors(3)), scrapeAt(t0, errors(20))]),
      spec.metrics,
      NOW,
      new NextCheck(NOW),
    );
    expect(some, '17 errors are at least 3.4/min over the 5m window: not enough history to say more').to.deep.equal([]);
    const rising = controllerMetricsFindings(
      'op',
      ok([scrapeAt(t0 - 15_000, errors(3)), scrapeAt(t0, errors(40, 0, 1))]),
      spec.metrics,
      NOW,
      new NextCheck(NOW),
    );
    expect(rising.map((f) => [f.reason, f.severity])).to.deep.equal([
      ['ReconcileErrors', 'Critical'],
      ['ReconcilePanics', 'Critical'],
    ]);
  });

  describe('a minimum count besides the rate (minReconcileErrors, default 3)', () => {
    // The demo's and test bed's old spec: 1 s scrapes, a 10 s window, 5/min.
    const short = { ...spec.metrics, interval: '1s', rateWindow: '10s' };
    const over10s = (increase: number) =>
      Array.from({ length: 11 }, (_, i) => scrapeAt(t0 - (10 - i) * 1000, errors(7 + (i >= 5 ? increase : 0))));
    const reasons = (t: typeof short, history: ScrapeView['history']) =>
      controllerMetricsFindings('the Kaiwo operator', ok(history), t, NOW, new NextCheck(NOW)).map((f) => f.reason);

    it('defaults to 3 for both controllers', () => {
      const all = applyDefaults<KaiwoMonitorSpec>(specSchema, {});
      expect(all.operator.metrics.minReconcileErrors).to.equal(3);
      expect(all.kueue.metrics.minReconcileErrors).to.equal(3);
    });

    it('ignores one routine error (a conflict on a first status write, retried at once) that reads 6/min in a 10 s window', () => {
      expect(reasons(short, over10s(1))).to.deep.equal([]);
      expect(reasons(short, over10s(2)), 'two are still below the minimum').to.deep.equal([]);
    });

    it('fires once the minimum is reached and the rate is above the threshold', () => {
      expect(reasons(short, over10s(3))).to.deep.equal(['ReconcileErrors']);
      const f = controllerMetricsFindings('the Kaiwo operator', ok(over10s(12)), short, NOW, new NextCheck(NOW))[0];
      expect(f?.message).to.equal(
        'the Kaiwo operator reconcile errors are rising: 12 in the last 10s (72.0/min over 10s, threshold 5/min and at least 3); check its logs',
      );
    });

    it('needs both: enough errors at a rate below the threshold do not fire, and the minimum can be set', () => {
      const slow = Array.from({ length: 21 }, (_, i) => scrapeAt(t0 - (20 - i) * 15_000, errors(i >= 10 ? 10 : 0)));
      expect(reasons(spec.metrics, slow), '10 errors in 5 min: 2/min').to.deep.equal([]);
      expect(reasons({ ...short, minReconcileErrors: 1 }, over10s(1)), 'minReconcileErrors: 1 restores the rate alone').to.deep.equal([
        'ReconcileErrors',
      ]);
      expect(reasons({ ...short, minReconcileErrors: 5 }, over10s(4))).to.deep.equal([]);
    });
  });

  it('treats a counter decrease as a restart, not a negative rate', () => {
    expect(counterIncrease(100, 3)).to.equal(3);
    expect(counterIncrease(undefined, 3)).to.equal(0);
  });

  it('warns when the workqueue stays above the threshold for longer than the window, and asks to look again', () => {
    const short = [scrapeAt(t0 - 60_000, errors(0, 10)), scrapeAt(t0 - 30_000, errors(0, 500)), scrapeAt(t0, errors(0, 600))];
    const next = new NextCheck(NOW);
    expect(controllerMetricsFindings('op', ok(short), spec.metrics, NOW, next)).to.deep.equal([]);
    expect(next.at).to.equal(t0 - 30_000 + 300_000);
    const long = Array.from({ length: 12 }, (_, i) => scrapeAt(t0 - (11 - i) * 30_000, errors(0, 500)));
    expect(controllerMetricsFindings('op', ok(long), spec.metrics, NOW, new NextCheck(NOW)).map((f) => f.reason)).to.deep.equal([
      'WorkqueueBacklog',
    ]);
  });

  it('warns when the scraped replica does not hold leadership', () => {
    const standby = 'leader_election_master_status{name="83fc2279.silogen.ai"} 0\n';
    const leader = 'leader_election_master_status{name="83fc2279.silogen.ai"} 1\n';
    const f = (text: string) =>
      controllerMetricsFindings(
        'op',
        ok([scrapeAt(t0 - 15_000, errors(0) + text), scrapeAt(t0, errors(0) + text)]),
        spec.metrics,
        NOW,
        new NextCheck(NOW),
      ).map((x) => x.reason);
    expect(f(standby)).to.deep.equal(['ScrapedReplicaNotLeader']);
    const message = (what: string) =>
      controllerMetricsFindings(what, ok([scrapeAt(t0, standby), scrapeAt(t0, standby)]), spec.metrics, NOW, new NextCheck(NOW))[0]
        ?.message;
    expect(message('the Kaiwo operator')).to.equal(
      'the replica of the Kaiwo operator that was scraped reports leader_election_master_status 0: ' +
        'it is a standby, or (with one replica) nothing is reconciling',
    );
    expect(message('Kueue')).to.match(/^the replica of Kueue that was scraped reports/);
    expect(f(leader)).to.deep.equal([]);
    expect(f('')).to.deep.equal([]);
  });

  it('computes p99 from histogram bucket increases', () => {
    const h = (a: number, b: number, inf: number) =>
      parsePrometheusText(`x_bucket{le="0.1"} ${a}\nx_bucket{le="1"} ${b}\nx_bucket{le="+Inf"} ${inf}`).samples;
    const q = (p: number, a: ReturnType<typeof h>, b: ReturnType<typeof h>) =>
      histogramQuantile(
        p,
        [
          { at: t0, samples: a },
          { at: t0 + 15_000, samples: b },
        ],
        'x_bucket',
      );
    expect(q(0.5, h(0, 0, 0), h(100, 100, 100))).to.be.closeTo(0.05, 1e-9);
    expect(q(0.99, h(0, 0, 0), h(50, 100, 100))).to.be.closeTo(0.982, 1e-3);
    expect(q(0.99, h(5, 5, 5), h(5, 5, 5))).to.equal(undefined);
  });

  it('makes the operator component Unknown with the scrape failure as reason unless something is Critical', () => {
    const failing: ScrapeView = { state: 'failing', reason: 'MetricsUnauthorized', error: 'answered 403', history: [] };
    const r = operatorCheck.evaluate({ spec, data: healthyData, scrapes: { metrics: failing }, now: NOW, env: {} });
    expect(r).to.include({ status: 'Unknown', reason: 'MetricsUnauthorized' });
    const down = operatorCheck.evaluate({
      spec,
      data: { ...healthyData, deployments: view([deployment('kaiwo-system', 'kaiwo-controller-manager', 0)]) },
      scrapes: { metrics: failing },
      now: NOW,
      env: {},
    });
    expect(down).to.include({ status: 'False', reason: 'DeploymentUnavailable' });
    const good = operatorCheck.evaluate({
      spec,
      data: healthyData,
      scrapes: { metrics: ok([scrapeAt(t0 - 15_000, errors(1)), scrapeAt(t0, errors(1))]) },
      now: NOW,
      env: {},
    });
    expect(good.status).to.equal('True');
  });

  it('asks to scrape the endpoint with its TLS and token settings', () => {
    const s = operatorCheck.scrapes?.(spec).metrics;
    expect(s).to.deep.include({
      url: 'https://k/metrics',
      intervalMs: 15_000,
      timeoutMs: 5000,
      maxBytes: 10_485_760,
      failureGraceMs: 30_000,
    });
    expect(operatorCheck.scrapes?.({ ...spec, metrics: { ...spec.metrics, failureGrace: '2m' } }).metrics?.failureGraceMs).to.equal(
      120_000,
    );
    expect(s?.bearerToken.source).to.equal('ServiceAccount');
    expect(operatorCheck.scrapes?.({ ...spec, metrics: { ...spec.metrics, enabled: false } })).to.deep.equal({});
  });
});
