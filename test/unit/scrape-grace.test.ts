import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { applyDefaults } from '../../src/api/defaults.js';
import { checksFor, type KaiwoMonitorSpec, specSchema } from '../../src/checks/registry.js';
import { failurePersists, withFailureGrace } from '../../src/checks/scrape-grace.js';
import type { ScrapeSpec, ScrapeView, SourceSpec, SourceView } from '../../src/checks/types.js';
import { runChecks } from '../../src/controller/evaluate.js';
import { ScrapeManager } from '../../src/controller/scrapes.js';
import { buildStatus, notableTransitions } from '../../src/controller/status.js';
import type { KaiwoMonitorStatus } from '../../src/api/types.js';
import type { KubeObject } from '../../src/runtime/objects.js';
import { parsePrometheusText } from '../../src/sources/promtext.js';
import { deployment, lease, NOW, view } from '../support/fixtures.js';
import { memoryLogger } from '../support/log.js';
import { waitFor } from '../support/wait.js';

const T0 = NOW.getTime();
const samples = parsePrometheusText('controller_runtime_reconcile_errors_total{controller="kaiwojob"} 1\n').samples;
const history = (n: number, lastAt: number): ScrapeView['history'] =>
  Array.from({ length: n }, (_, i) => ({ at: lastAt - (n - 1 - i) * 1000, samples }));
const failing = (failures: number, failingSince: number, h: ScrapeView['history'] = []): ScrapeView => ({
  state: 'failing',
  reason: 'MetricsUnreachable',
  error: '127.0.0.1:8443: read ECONNRESET',
  failures,
  failingSince,
  history: h,
});

describe("failed scrapes count only when they persist (failureGrace, like a Prometheus alert's for:)", () => {
  describe('withFailureGrace', () => {
    it('passes answers and pending views through untouched', () => {
      const ok: ScrapeView = { state: 'ok', history: history(2, T0) };
      expect(withFailureGrace(ok, 30_000, T0)).to.deep.equal({ view: ok });
      expect(withFailureGrace(ok, 30_000, T0).view).to.equal(ok);
      const pending: ScrapeView = { state: 'pending', history: [] };
      expect(withFailureGrace(pending, 30_000, T0).view).to.equal(pending);
    });

    it('shows one failure after good answers as the last good answers, the same object every time, until the grace ends', () => {
      const v = failing(1, T0 - 1000, history(3, T0 - 2000));
      const a = withFailureGrace(v, 30_000, T0);
      expect(a.view).to.deep.equal({ state: 'ok', history: v.history });
      expect(a.view.history).to.equal(v.history);
      expect(a.deadline).to.equal(T0 - 1000 + 30_000);
      expect(withFailureGrace(v, 30_000, T0 + 5000).view, 'stable identity (the check memo compares by identity)').to.equal(a.view);
    });

    it('needs both: two or more consecutive failures and the first one failureGrace old', () => {
      expect(failurePersists(failing(1, T0 - 60_000), 30_000, T0), 'one failure, however old').to.equal(false);
      expect(failurePersists(failing(5, T0 - 29_999), 30_000, T0), 'many failures within the grace').to.equal(false);
      expect(failurePersists(failing(2, T0 - 30_000), 30_000, T0)).to.equal(true);
      expect(failurePersists(failing(2, T0), 0, T0), 'grace 0s: the second consecutive failure').to.equal(true);
      expect(failurePersists(failing(1, T0), 0, T0)).to.equal(false);
      const v = failing(3, T0 - 40_000, history(2, T0 - 41_000));
      expect(withFailureGrace(v, 30_000, T0)).to.deep.equal({ view: v });
    });

    it('shows a failure of an endpoint that never answered as pending (not an observation yet) within the grace', () => {
      const r = withFailureGrace(failing(1, T0), 30_000, T0);
      expect(r.view).to.deep.include({ state: 'pending' });
      expect(r.deadline).to.equal(T0 + 30_000);
      expect(withFailureGrace(failing(2, T0 - 30_000), 30_000, T0).view.state).to.equal('failing');
    });

    it('takes a failing view without counts (one-shot check, hand-built) as it says, and gives no deadline in the past', () => {
      const bare: ScrapeView = { state: 'failing', reason: 'MetricsUnauthorized', error: '403', history: history(2, T0) };
      expect(withFailureGrace(bare, 30_000, T0)).to.deep.equal({ view: bare });
      expect(withFailureGrace(failing(1, T0 - 60_000, history(1, T0)), 30_000, T0).deadline, 'waits for the next attempt').to.equal(
        undefined,
      );
    });
  });

  describe('the Kaiwo operator condition over a sequence of scrapes (runChecks + buildStatus)', () => {
    const spec = applyDefaults<KaiwoMonitorSpec>(specSchema, {
      operator: { metrics: { enabled: true, url: 'https://kaiwo/metrics', interval: '1s', timeout: '900ms' } },
      kueue: { enabled: false },
      gpuNodes: { enabled: false },
      workloads: { enabled: false },
      capacity: { enabled: false },
      logs: { enabled: false },
    });
    const checks = checksFor(spec as unknown as Record<string, unknown>);
    /** The operator's objects, healthy, with its Lease renewed just before `now`. */
    const sources = (now: number) => ({
      view: (s: SourceSpec): SourceView => {
        const objects: Record<string, KubeObject[]> = {
          deployments: [deployment('kaiwo-system', 'kaiwo-controller-manager'), deployment('kube-system', 'kaiwo-scheduler')],
          pods: [],
          leases: [lease('kaiwo-system', '83fc2279.silogen.ai', 500, 'pod-1_abc', 15, new Date(now))],
          kaiwoqueueconfigs: [{ metadata: { name: 'kaiwo' }, status: { status: 'READY' } }],
        };
        return view(objects[s.plural] ?? []);
      },
    });
    let status: KaiwoMonitorStatus | undefined;
    const step = (at: number, scrape: ScrapeView) => {
      const now = new Date(at);
      const outcomes = runChecks(checks, sources(at), { view: () => scrape }, now);
      const outcome = outcomes.find((o) => o.component === 'operator');
      const before = status;
      status = buildStatus({ generation: 1, previous: before, outcomes, now, heartbeatMs: 0 });
      const c = status.conditions?.find((x) => x.type === 'KaiwoOperatorHealthy');
      return { outcome, condition: c, events: notableTransitions(before, status).map((t) => t.condition.type) };
    };
    beforeEach(() => {
      status = undefined;
    });

    it('a single ECONNRESET between good scrapes changes neither the condition nor its message, and emits nothing', () => {
      const good = (t: number): ScrapeView => ({ state: 'ok', history: history(Math.min(10, t + 2), T0 + t * 1000) });
      const seen = [0, 1, 2].map((t) => step(T0 + t * 1000, good(t)));
      const blip = step(T0 + 3000, failing(1, T0 + 3000, good(2).history));
      const back = step(T0 + 4000, good(4));
      for (const s of [...seen, blip, back]) expect(s.condition).to.deep.include({ status: 'True', reason: 'OperatorHealthy' });
      expect(blip.condition?.message).to.equal(seen[2]?.condition?.message);
      expect([...seen.slice(1), blip, back].flatMap((s) => s.events)).to.deep.equal([]);
      expect(blip.outcome?.result?.nextCheckAt?.getTime(), 're-evaluated when the grace would end').to.be.at.most(T0 + 3000 + 30_000);
    });

    it('a failure that persists past failureGrace (30s default, two attempts or more) turns it Unknown with the reason, once', () => {
      const h = history(5, T0);
      step(T0, { state: 'ok', history: h });
      const since = T0 + 1000;
      const within = [1, 2, 10, 30].map((s) => step(T0 + s * 1000, failing(s, since, h)));
      for (const s of within) expect(s.condition).to.deep.include({ status: 'True' });
      // Past the grace (the deadline the check asked for), still failing.
      const late = step(since + 30_000, failing(31, since, h));
      expect(late.condition).to.deep.include({ status: 'Unknown', reason: 'MetricsUnreachable' });
      expect(late.condition?.message).to.match(/ECONNRESET/);
      expect(late.events).to.deep.equal(['KaiwoOperatorHealthy']);
      expect(within.flatMap((s) => s.events)).to.deep.equal([]);
      const deadline = within[3]?.outcome?.result?.nextCheckAt?.getTime() ?? Infinity;
      expect(deadline, 'the check asked to be re-evaluated by the end of the grace').to.be.at.most(since + 30_000);
      // And back once it answers again.
      expect(step(since + 31_000, { state: 'ok', history: history(5, since + 31_000) }).condition).to.deep.include({ status: 'True' });
    });

    it('an endpoint failing since before any answer keeps the previous verdict (pending), then reports the failure', () => {
      step(T0, { state: 'ok', history: history(2, T0) }); // observed healthy before (e.g. before a restart of the monitor)
      const first = step(T0 + 1000, failing(1, T0 + 1000));
      expect(first.outcome?.pending).to.deep.equal(['metrics']);
      expect(first.condition).to.deep.include({ status: 'True', reason: 'OperatorHealthy' });
      expect(first.events).to.deep.equal([]);
      expect(step(T0 + 31_000, failing(31, T0 + 1000)).condition).to.deep.include({ status: 'Unknown', reason: 'MetricsUnreachable' });
    });
  });

  describe('ScrapeManager counts consecutive failures (loopback endpoint)', () => {
    let server: Server;
    let base = '';
    let answers: number[] = [];
    before(async () => {
      server = createServer((_req, res) => {
        const code = answers.shift() ?? 200;
        if (code === 200) res.end('up 1\n');
        else res.writeHead(code).end();
      });
      await new Promise<void>((r) =>
        server.listen(0, '127.0.0.1', () => {
          r();
        }),
      );
      const a = server.address();
      base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
    });
    after(() => {
      server.closeAllConnections();
      server.close();
    });

    it('records failures and the time of the first, keeps the history, and resets both on an answer', async () => {
      answers = [200, 500, 500, 500, 200];
      const spec: ScrapeSpec = {
        url: `${base}/m`,
        intervalMs: 20,
        timeoutMs: 1000,
        maxBytes: 10_000,
        tls: { insecureSkipVerify: false },
        bearerToken: { source: 'None' },
        keep: [],
        historySize: 4,
      };
      const views: ScrapeView[] = [];
      const m = new ScrapeManager(new KubeConfig(), memoryLogger(), () => {
        views.push(m.view(spec));
      });
      try {
        m.use('a', [spec]);
        await waitFor('five scrapes', () => views.length >= 5, 5000, 5);
      } finally {
        m.stop();
      }
      const [ok, f1, f2, f3, back] = views;
      expect(ok).to.deep.include({ state: 'ok' });
      expect(f1).to.deep.include({ state: 'failing', reason: 'MetricsUnreachable', failures: 1 });
      expect(f2?.failures).to.equal(2);
      expect(f3?.failures).to.equal(3);
      expect(f1?.failingSince).to.be.a('number');
      expect(f3?.failingSince, 'the first failure of the run').to.equal(f1?.failingSince);
      expect(f3?.history).to.equal(ok?.history);
      expect(back?.state).to.equal('ok');
      expect(back).to.not.have.property('failures');
      expect(back).to.not.have.property('failingSince');
    });
  });
});
