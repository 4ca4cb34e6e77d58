import { expect } from 'chai';
import { API_LIMIT_DEFAULTS, apiLimiter, limitApiRequests, RequestLimiter } from '../../src/runtime/api-limit.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LightKubeConfig } from '../../src/runtime/kubeconfig.js';
import { rawRequest } from '../../src/runtime/rawrequest.js';
import { ManualClock, settle } from '../support/clock.js';

/** Starts `n` waits and records, in order, which resolved true. */
function start(l: RequestLimiter, n: number, signal?: AbortSignal) {
  const got: number[] = [];
  const waits = Array.from({ length: n }, (_, i) =>
    l.wait(signal).then((ok) => {
      if (ok) got.push(i);
      return ok;
    }),
  );
  return { got, waits };
}

describe('API request limit', () => {
  it('lets a burst through at once, then one request per 1/qps, in arrival order', async () => {
    const clock = new ManualClock();
    const l = new RequestLimiter({ qps: 10, burst: 3 }, clock);
    const { got } = start(l, 7);
    await settle();
    expect(got).to.deep.equal([0, 1, 2]);
    expect(l.waiting).to.equal(4);
    expect(clock.pendingDelays).to.deep.equal([100]);
    await clock.advance(99);
    expect(got).to.deep.equal([0, 1, 2]);
    await clock.advance(1);
    expect(got).to.deep.equal([0, 1, 2, 3]);
    await clock.advance(300);
    expect(got).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
    expect(l.waiting).to.equal(0);
    expect(clock.pendingDelays).to.deep.equal([]);
  });

  it('after a quiet spell has the whole burst again, never more', async () => {
    const clock = new ManualClock();
    const l = new RequestLimiter({ qps: 10, burst: 3 }, clock);
    start(l, 3);
    await clock.advance(60_000);
    const { got } = start(l, 5);
    await settle();
    expect(got).to.deep.equal([0, 1, 2]);
    expect(clock.pendingDelays).to.deep.equal([100]);
  });

  it('an abort while waiting resolves false at once and gives the turn to the next in line', async () => {
    const clock = new ManualClock();
    const l = new RequestLimiter({ qps: 10, burst: 1 }, clock);
    expect(await l.wait()).to.equal(true);
    const ac = new AbortController();
    const first = l.wait(ac.signal);
    const second = l.wait();
    ac.abort();
    expect(await first).to.equal(false);
    expect(l.waiting).to.equal(1);
    await clock.advance(100);
    expect(await second).to.equal(true);
    expect(await l.wait(ac.signal)).to.equal(false); // already aborted: no token taken
    expect(clock.pendingDelays).to.deep.equal([]);
  });

  it('cancels its timer when the last waiter aborts', async () => {
    const clock = new ManualClock();
    const l = new RequestLimiter({ qps: 1, burst: 1 }, clock);
    await l.wait();
    const ac = new AbortController();
    const w = l.wait(ac.signal);
    expect(clock.pendingDelays).to.deep.equal([1000]);
    ac.abort();
    expect(await w).to.equal(false);
    expect(clock.pendingDelays).to.deep.equal([]);
  });

  it('rejects a limit it cannot keep', () => {
    for (const limit of [
      { qps: Number.NaN, burst: 1 },
      { qps: Infinity, burst: 1 },
      { qps: 5, burst: 0 },
      { qps: 5, burst: 1.5 },
    ]) {
      expect(() => new RequestLimiter(limit)).to.throw(/qps > 0 and an integer burst/);
    }
  });

  it('is per kubeconfig: none unless set (the operator sets the defaults), none with qps 0', () => {
    const kc = () =>
      LightKubeConfig.fromText(
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {token: t}}]\ncurrent-context: x\n',
        '/',
      )!;
    const a = kc();
    const b = kc();
    expect(API_LIMIT_DEFAULTS).to.deep.equal({ qps: 20, burst: 30 });
    expect(apiLimiter(a)).to.equal(undefined);
    limitApiRequests(a, API_LIMIT_DEFAULTS);
    limitApiRequests(b, API_LIMIT_DEFAULTS);
    expect(apiLimiter(a)).to.be.instanceOf(RequestLimiter);
    expect(apiLimiter(a)).to.equal(apiLimiter(a));
    expect(apiLimiter(a)).to.not.equal(apiLimiter(b));
    limitApiRequests(b, { qps: 0, burst: 0 });
    expect(apiLimiter(b)).to.equal(undefined);
  });

  it('leader election is not held by it: an unlimited request goes through while limited ones wait', async () => {
    const server = createServer((_req, res) => res.end('{}'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const kc = LightKubeConfig.fromText(
        `clusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {token: t}}]\ncurrent-context: x\n`,
        '/',
      )!;
      limitApiRequests(kc, { qps: 0.001, burst: 1 }); // one request, then one every 1000 s
      expect((await rawRequest(kc, { method: 'GET', path: '/first' })).status).to.equal(200);
      const ac = new AbortController();
      const limited = rawRequest(kc, { method: 'GET', path: '/waits', signal: ac.signal }).then(
        () => 'sent',
        () => 'aborted',
      );
      expect(apiLimiter(kc)?.waiting).to.equal(1);
      expect((await rawRequest(kc, { method: 'GET', path: '/lease', unlimited: true })).status).to.equal(200);
      expect(apiLimiter(kc)?.waiting, 'the limited request still waits').to.equal(1);
      ac.abort();
      expect(await limited).to.equal('aborted');
    } finally {
      server.close();
    }
  });
});
