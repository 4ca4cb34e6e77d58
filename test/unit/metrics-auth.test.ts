import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '../../src/runtime/log.js';
import { TokenAuthorizer } from '../../src/runtime/metricsauth.js';
import { requestPath } from '../../src/runtime/serving.js';

/** A fake API server on 127.0.0.1 answering TokenReviews (token "good" is alice) and SubjectAccessReviews (alice may). */
class FakeReviews {
  tokenReviews = 0;
  accessReviews = 0;
  delayMs = 0;
  private readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const spec = (JSON.parse(body) as { spec: { token?: string; user?: string } }).spec;
        const answer = req.url?.includes('tokenreviews')
          ? (this.tokenReviews++,
            {
              status:
                spec.token === 'good' ? { authenticated: true, user: { username: 'alice', groups: ['g'] } } : { authenticated: false },
            })
          : (this.accessReviews++, { status: { allowed: spec.user === 'alice' } });
        setTimeout(() => res.writeHead(201, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer)), this.delayMs);
      });
    });
  }

  async start(): Promise<KubeConfig> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const a = this.server.address();
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'c', cluster: 'fake', user: 'u' }],
      currentContext: 'c',
    });
    return kc;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

describe('/metrics authentication: cached, shared and capped reviews (delegating-authenticator protections)', () => {
  const log = createLogger({ level: 'error' });
  let api: FakeReviews;
  let kc: KubeConfig;
  const authorizer = (options: ConstructorParameters<typeof TokenAuthorizer>[2] = {}) => new TokenAuthorizer(kc, log, options);

  beforeEach(async () => {
    api = new FakeReviews();
    kc = await api.start();
  });
  afterEach(() => api.stop());

  it('answers 401 without a bearer token, 401 for an unknown token, 200 for an allowed user', async () => {
    const a = authorizer();
    expect((await a.check(undefined, '/metrics')).status).to.equal(401);
    expect((await a.check('Basic Zm9v', '/metrics')).status).to.equal(401);
    expect((await a.check('Bearer nope', '/metrics')).status).to.equal(401);
    expect(await a.check('Bearer good', '/metrics')).to.deep.equal({ status: 200, user: 'alice' });
  });

  it('sends one TokenReview for a token repeated 1,000 times, concurrently and in sequence', async () => {
    const a = authorizer();
    const concurrent = await Promise.all(Array.from({ length: 500 }, () => a.check('Bearer garbage', '/metrics')));
    for (let i = 0; i < 500; i++) await a.check('Bearer garbage', '/metrics');
    expect(new Set(concurrent.map((d) => d.status))).to.deep.equal(new Set([401]));
    expect(api.tokenReviews).to.equal(1);
    for (let i = 0; i < 100; i++) await a.check('Bearer good', '/metrics');
    expect([api.tokenReviews, api.accessReviews]).to.deep.equal([2, 1]);
  });

  it('reviews again after the TTL, and forgets the least recently used answers beyond maxEntries', async () => {
    let now = 1_000_000;
    const a = authorizer({ ttlMs: 50, maxEntries: 2, now: () => now }); // the cache's clock, moved by hand: no sleep
    await a.check('Bearer t1', '/metrics');
    now += 80;
    await a.check('Bearer t1', '/metrics');
    expect(api.tokenReviews).to.equal(2);
    const b = authorizer({ maxEntries: 2 });
    const before = api.tokenReviews;
    for (const t of ['x1', 'x2', 'x1', 'x3', 'x1', 'x2']) await b.check(`Bearer ${t}`, '/metrics');
    expect(api.tokenReviews - before).to.equal(4); // x1, x2, x3, then x2 again (evicted by x3; x1 was used more recently)
    expect(b.cached).to.equal(2);
  });

  it('bounds TokenReviews for distinct garbage tokens: rate and in-flight caps, 429 with a retry hint beyond', async () => {
    const started = Date.now();
    const a = authorizer({ perSecond: 5, burst: 20, maxInFlight: 8 });
    api.delayMs = 20;
    const decisions = await Promise.all(Array.from({ length: 2000 }, (_, i) => a.check(`Bearer garbage-${i}`, '/metrics')));
    const counts = new Map<number, number>();
    for (const d of decisions) counts.set(d.status, (counts.get(d.status) ?? 0) + 1);
    expect(api.tokenReviews).to.be.at.most(8); // all at once: only the in-flight cap's worth reached the API server
    expect(counts.get(429)).to.equal(2000 - api.tokenReviews);
    expect(decisions.find((d) => d.status === 429)?.retryAfterS).to.equal(1);
    for (let i = 0; i < 200; i++) await a.check(`Bearer seq-${i}`, '/metrics'); // one at a time: the rate limit holds
    expect(api.tokenReviews).to.be.at.most(20 + 5 * Math.ceil((Date.now() - started) / 1000));
  });
});

describe('request targets of any form never throw', () => {
  const table: [string | undefined, string | undefined][] = [
    ['/metrics', '/metrics'],
    ['/metrics?x=1#f', '/metrics'],
    ['//', '//'],
    ['///a//b', '///a//b'],
    ['*', '*'],
    ['http://x/readyz', '/readyz'],
    ['HTTPS://evil.example:8443/metrics?a', '/metrics'],
    ['http://[::1/x', undefined],
    ['metrics', undefined],
    ['', undefined],
    [undefined, undefined],
    ['ftp://x/metrics', undefined],
    ['http://', undefined],
  ];
  for (const [target, want] of table) {
    it(`${JSON.stringify(target)} → ${JSON.stringify(want)}`, () => {
      expect(requestPath(target)).to.equal(want);
    });
  }
});
