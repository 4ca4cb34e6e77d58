import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Cluster } from '../../src/localcluster/backend.js';
import { DEFAULT_AUTH_LIMITS } from '../../src/runtime/metricsauth.js';
import { rawRequest } from '../../src/runtime/rawrequest.js';
import { sharedCluster, skipWithoutBackend } from '../support/cluster.js';
import { metricIn, metricsTokens, scrape, type Scrape } from '../support/metrics-client.js';
import { OperatorProcess } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

/** TokenReviews the API server itself has served (its apiserver_request_total), an independent count. */
async function apiServerTokenReviews(kc: KubeConfig): Promise<number> {
  const res = await rawRequest(kc, { method: 'GET', path: '/metrics' });
  return metricIn(res.body, 'apiserver_request_total', { resource: 'tokenreviews' });
}

/** Runs `n` requests with at most `concurrency` in flight. */
async function flood(n: number, concurrency: number, one: (i: number) => Promise<Scrape>): Promise<Map<number, number>> {
  const codes = new Map<number, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const r = await one(next++);
        codes.set(r.status, (codes.get(r.status) ?? 0) + 1);
      }
    }),
  );
  return codes;
}

describe('integration: secure metrics endpoint (TokenReview + SubjectAccessReview on the real API server)', function () {
  this.timeout(180_000);
  before(skipWithoutBackend);
  let cluster: Cluster;
  let kc: KubeConfig;
  let op: OperatorProcess;
  let port: number;
  let tokens: Awaited<ReturnType<typeof metricsTokens>>;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  /** The operator's TokenReview counter, read with the allowed token (whose own review counts as authenticated). */
  const reviews = async (result: string) => {
    const r = await waitFor('an authorized scrape', async () => {
      const s = await scrape(port, tokens.allowed);
      return s.status === 200 ? s : undefined;
    });
    return metricIn(r.body, 'kaiwo_monitor_metrics_auth_reviews_total', { kind: 'tokenreview', result });
  };

  before(async () => {
    cluster = await sharedCluster();
    kc = cluster.kubeConfig();
    op = await OperatorProcess.start(cluster.kubeconfigPath, [], { metrics: true });
    await op.waitForLog((l) => l.msg === 'serving');
    port = op.metricsPort ?? 0;
    tokens = await metricsTokens(kc);
  });

  after(async () => {
    agent.destroy();
    await op.stop();
    await tokens.cleanup();
  });

  it('answers 401 without a token and for a token the API server does not know', async () => {
    expect((await scrape(port)).status).to.equal(401);
    expect((await scrape(port, 'not-a-token')).status).to.equal(401);
  });

  it('answers 403 for a ServiceAccount without RBAC, and 200 once it may get /metrics', async () => {
    expect((await scrape(port, tokens.denied)).status).to.equal(403);
    const ok = await scrape(port, tokens.allowed);
    expect(ok.status).to.equal(200);
    for (const metric of [
      'controller_runtime_reconcile_total',
      'controller_runtime_reconcile_time_seconds',
      'workqueue_depth',
      'leader_election_master_status',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_eventloop_lag_max_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'kaiwo_monitor_unexpected_errors_total',
      'kaiwo_monitor_metrics_auth_reviews_total',
    ]) {
      expect(ok.body, metric).to.include(metric);
    }
  });

  it('sends one TokenReview for the same garbage token repeated 1,000 times (cached by token hash, concurrent ones shared)', async () => {
    const before = await reviews('unauthenticated');
    const apiBefore = await apiServerTokenReviews(kc);
    const garbage = randomBytes(32).toString('base64url');
    const codes = await flood(1000, 32, () => scrape(port, garbage, agent));
    expect(Object.fromEntries(codes)).to.deep.equal({ 401: 1000 });
    const after = await reviews('unauthenticated');
    const apiAfter = await apiServerTokenReviews(kc);
    process.stderr.write(
      `      same garbage token ×1000: ${after - before} TokenReview(s) (API server counted ${apiAfter - apiBefore} incl. the allowed token's)\n`,
    );
    expect(after - before).to.equal(1);
    expect(apiAfter - apiBefore).to.be.at.most(2); // + at most one re-review of the allowed token used to read the counter
  });

  it('bounds TokenReviews for 8,000 distinct garbage tokens: cache, in-flight cap and rate limit, 429 with Retry-After beyond', async () => {
    const before = await reviews('unauthenticated');
    const apiBefore = await apiServerTokenReviews(kc);
    const started = Date.now();
    let retryAfter: string | undefined;
    const codes = await flood(8000, 64, async (i) => {
      const r = await scrape(port, `garbage-${i}-${randomBytes(8).toString('hex')}`, agent);
      if (r.status === 429) retryAfter ??= r.retryAfter;
      return r;
    });
    const seconds = (Date.now() - started) / 1000;
    const after = await reviews('unauthenticated');
    const apiAfter = await apiServerTokenReviews(kc);
    const sent = after - before;
    const bound = DEFAULT_AUTH_LIMITS.burst + DEFAULT_AUTH_LIMITS.perSecond * (seconds + 1) + DEFAULT_AUTH_LIMITS.maxInFlight;
    process.stderr.write(
      `      8,000 garbage tokens in ${seconds.toFixed(1)}s: ${sent} TokenReviews (API server counted ${apiAfter - apiBefore}), ` +
        `bound ${bound.toFixed(0)}; answers ${JSON.stringify(Object.fromEntries(codes))}\n`,
    );
    expect((codes.get(401) ?? 0) + (codes.get(429) ?? 0)).to.equal(8000);
    expect(codes.get(429) ?? 0).to.be.greaterThan(0);
    expect(retryAfter).to.equal('1');
    expect(sent).to.be.at.most(bound);
    expect(apiAfter - apiBefore).to.be.at.most(bound + 2);
    // A legitimate scraper gets through again once the rate limit has refilled.
    expect(
      await waitFor('allowed token served', async () => (await scrape(port, tokens.allowed)).status === 200 || undefined, 10_000),
    ).to.equal(true);
    expect(op.exitCode).to.equal(null);
  });
});
