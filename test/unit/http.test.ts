import { expect } from 'chai';
import fc from 'fast-check';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { drip, head, Peer, pump } from '../support/fakes/hostile-peers.js';
import { apiLimiter, limitApiRequests } from '../../src/runtime/api-limit.js';
import { fetchLines, fetchText, HttpError, type HttpFailure, LineSplitter } from '../../src/runtime/http.js';
import { type KubeConfig, LightKubeConfig } from '../../src/runtime/kubeconfig.js';
import { watchOnce } from '../../src/runtime/watch.js';
import { selfSignedCert } from '../../src/runtime/selfsigned.js';
import { waitFor } from '../support/wait.js';

const reasonOf = async (p: Promise<unknown>): Promise<HttpFailure | 'ok' | `unexpected: ${string}`> => {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return err instanceof HttpError ? err.reason : `unexpected: ${String(err)}`;
  }
};
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('HTTP transport', () => {
  let peer: Peer;
  const seen: { path: string; head: string }[] = [];
  before(async () => {
    peer = await Peer.start((path, s) => {
      seen.push({ path, head: '' });
      switch (path) {
        case '/ok':
          s.end(`${head(200)}a\nb\n`);
          return;
        case '/endless':
          s.write(head(200));
          pump(s, () => 'x'.repeat(16_384));
          return;
        case '/error-endless':
          s.write(head(503));
          pump(s, () => 'e'.repeat(16_384));
          return;
        case '/error-short':
          s.end(head(404) + '{"message":"nope"}');
          return;
        case '/drip':
          s.write(head(200));
          drip(s, 'x', 20);
          return;
        case '/headers-forever':
          s.write('HTTP/1.1 200 OK\r\n');
          drip(s, 'X-A: b\r\n', 20);
          return;
        case '/redirect':
          s.end(head(301, { Location: '/elsewhere' }));
          return;
        case '/close-mid-body':
          s.write(`${head(200, { 'Content-Length': 1000 })}abc`);
          setTimeout(() => s.destroy(), 10);
          return;
        case '/garbage':
          s.end('SSH-2.0-OpenSSH_9.6\r\n\r\n');
          return;
        case '/watch':
          s.end(`${head(200)}${'{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n'.repeat(5)}`);
          return;
        default:
          s.end(head(404));
      }
    });
  });
  after(async () => {
    await peer.close();
  });
  const closed = () => waitFor('every server-side socket closed', () => peer.open === 0, 3000, 10);

  it('reads a 2xx body whole and sends the bearer token', async () => {
    const res = await fetchText({ url: peer.url('/ok'), token: 't0k', timeoutMs: 1000, maxBytes: 100 });
    expect(res).to.include({ status: 200, body: 'a\nb\n' });
    await closed();
  });

  it('keeps only a little of a non-2xx body and destroys a connection whose error body never ends', async () => {
    const res = await fetchText({ url: peer.url('/error-endless'), timeoutMs: 5000, maxBytes: 1e9, errorBodyBytes: 100 });
    expect(res.status).to.equal(503);
    expect(res.body).to.equal('e'.repeat(100));
    await closed(); // fails if the transport drained the body (res.resume()): the peer never stops writing
    const short = await fetchText({ url: peer.url('/error-short'), timeoutMs: 1000, maxBytes: 1 });
    expect(short).to.include({ status: 404, body: '{"message":"nope"}' });
  });

  it('does not follow redirects: a 3xx is an answer like any other', async () => {
    const res = await fetchText({ url: peer.url('/redirect'), timeoutMs: 1000, maxBytes: 100 });
    expect(res.status).to.equal(301);
    expect(seen.filter((s) => s.path === '/elsewhere')).to.have.length(0);
  });

  it('fails with TooLarge at the size cap, Timeout at the deadline (body and headers included), and closes the socket', async () => {
    expect(await reasonOf(fetchText({ url: peer.url('/endless'), timeoutMs: 5000, maxBytes: 100_000 }))).to.equal('TooLarge');
    await closed();
    const t0 = Date.now();
    expect(await reasonOf(fetchText({ url: peer.url('/drip'), timeoutMs: 300, maxBytes: 1e9 }))).to.equal('Timeout');
    expect(await reasonOf(fetchText({ url: peer.url('/headers-forever'), timeoutMs: 300, maxBytes: 1e9 }))).to.equal('Timeout');
    expect(Date.now() - t0).to.be.below(2000);
    await closed();
  });

  it('streams with an idle timeout instead of a deadline: alive while bytes flow, failed when they stop', async () => {
    const ac = new AbortController();
    let chunks = 0;
    const flowing = reasonOf(
      fetchLines({ url: peer.url('/drip'), idleMs: 200, maxBytes: 1e9, signal: ac.signal }, () => undefined, {
        maxLineChars: 1e6,
        longLines: 'fail',
      }),
    );
    await waitFor('the stream to outlive its idle timeout', () => peer.open > 0 && ++chunks > 8, 3000, 60);
    ac.abort();
    expect(await flowing).to.equal('Aborted');
    const lineOpts = { maxLineChars: 10, longLines: 'fail' } as const;
    const stalled = fetchLines({ url: peer.url('/headers-forever'), idleMs: 200, maxBytes: 1e9 }, () => undefined, lineOpts);
    expect(await reasonOf(stalled)).to.equal('Timeout');
    await closed();
  });

  it('reports a connection closed mid-body and a non-HTTP answer', async () => {
    expect(await reasonOf(fetchText({ url: peer.url('/close-mid-body'), timeoutMs: 2000, maxBytes: 1e6 }))).to.equal('Unreachable');
    expect(await reasonOf(fetchText({ url: peer.url('/garbage'), timeoutMs: 2000, maxBytes: 1e6 }))).to.equal('Invalid');
    await closed();
  });

  it('aborts on the signal and destroys the socket', async () => {
    const ac = new AbortController();
    const p = reasonOf(fetchText({ url: peer.url('/drip'), maxBytes: 1e9, signal: ac.signal }));
    await waitFor('the peer to accept', () => peer.open > 0, 2000, 10);
    ac.abort();
    expect(await p).to.equal('Aborted');
    await closed();
  });

  it('refuses a header value with a newline before connecting, and leaves no timer behind', async () => {
    await new Promise(setImmediate); // mocha arms its own test timer after the test starts
    const before = timers();
    const accepted = peer.accepted;
    for (const token of ['abc\nX-Evil: 1', 'abc\u0000']) {
      expect(await reasonOf(fetchText({ url: peer.url('/ok'), token, timeoutMs: 50, maxBytes: 100 }))).to.equal('BadToken');
    }
    const headers = { 'X-Evil': 'a\r\nb' };
    expect(await reasonOf(fetchText({ url: peer.url('/ok'), headers, timeoutMs: 50, maxBytes: 100 }))).to.equal('BadRequest');
    expect(await reasonOf(fetchText({ url: 'ftp://127.0.0.1/x', timeoutMs: 50, maxBytes: 100 }))).to.equal('BadRequest');
    expect(peer.accepted).to.equal(accepted);
    expect(timers()).to.equal(before);
  });

  describe('API server requests (with a kubeconfig)', () => {
    const kubeconfig = () =>
      LightKubeConfig.fromText(
        [
          `clusters: [{name: c, cluster: {server: "${peer.url('')}", insecure-skip-tls-verify: true}}]`,
          'contexts: [{name: x, context: {cluster: c, user: u}}]',
          'users: [{name: u, user: {token: t}}]',
          'current-context: x',
        ].join('\n'),
        '/',
      )!;

    it('an abort while credentials are still being read ends the call at once, and nothing is sent', async function () {
      this.timeout(5000); // fails here if the abort is only seen when the slow step ends
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      let entered = false;
      const slow: KubeConfig = {
        getCurrentCluster: () => ({ server: peer.url('') }),
        getCurrentUser: () => ({}),
        getContextObject: () => null,
        setCurrentContext: () => undefined,
        applyToHTTPSOptions: async (opts) => {
          entered = true;
          await gate;
          opts.agent = false;
        },
      };
      const accepted = peer.accepted;
      const ac = new AbortController();
      const call = fetchText({ kubeconfig: slow, url: '/ok', timeoutMs: 60_000, maxBytes: 100, signal: ac.signal });
      await waitFor('the credentials to be asked for', () => entered, 2000, 5);
      ac.abort();
      expect(await reasonOf(call)).to.equal('Aborted');
      release();
      await gate;
      await new Promise(setImmediate);
      expect(peer.accepted).to.equal(accepted);
    });

    it("waits for the kubeconfig's rate limit (aborted promptly, nothing sent); a watch counts once, not per event", async () => {
      const kc = kubeconfig();
      limitApiRequests(kc, { qps: 0.001, burst: 1 });
      const events: string[] = [];
      await watchOnce(kc, '/watch', (e) => events.push(e.type), { idleMs: 2000, signal: new AbortController().signal });
      expect(events).to.have.length(5);
      const accepted = peer.accepted;
      const ac = new AbortController();
      const call = fetchText({ kubeconfig: kc, url: '/ok', timeoutMs: 60_000, maxBytes: 100, signal: ac.signal });
      expect(apiLimiter(kc)?.waiting).to.equal(1);
      ac.abort();
      expect(await reasonOf(call)).to.equal('Aborted');
      expect(apiLimiter(kc)?.waiting).to.equal(0);
      expect(peer.accepted).to.equal(accepted);
      await closed();
    });
  });

  describe('TLS from a spec', () => {
    let tls: HttpsServer;
    let silent: Peer;
    let ca = '';
    let port = 0;
    before(async () => {
      const { cert, key } = await selfSignedCert(['127.0.0.1', 'metrics.example']);
      ca = cert;
      tls = createHttpsServer({ cert, key }, (_req, res) => {
        res.end('secure\n');
      });
      await new Promise<void>((r) =>
        tls.listen(0, '127.0.0.1', () => {
          r();
        }),
      );
      const a = tls.address();
      port = typeof a === 'object' && a ? a.port : 0;
      silent = await Peer.start(); // accepts and never answers the TLS handshake
    });
    after(async () => {
      tls.closeAllConnections();
      tls.close();
      await silent.close();
    });

    it('verifies with a CA bundle, skips only when told, and honours serverName', async () => {
      const url = `https://127.0.0.1:${port}/`;
      expect((await fetchText({ url, tls: { caBundle: ca }, timeoutMs: 2000, maxBytes: 100 })).body).to.equal('secure\n');
      expect(await reasonOf(fetchText({ url, timeoutMs: 2000, maxBytes: 100 }))).to.equal('Unreachable');
      expect((await fetchText({ url, tls: { insecureSkipVerify: true }, timeoutMs: 2000, maxBytes: 100 })).status).to.equal(200);
      const named = (serverName: string) => fetchText({ url, tls: { caBundle: ca, serverName }, timeoutMs: 2000, maxBytes: 100 });
      expect((await named('metrics.example')).status).to.equal(200);
      expect(await reasonOf(named('other.example'))).to.equal('Unreachable');
    });

    it('gives up on a TLS peer that never handshakes, within the deadline', async () => {
      const t0 = Date.now();
      const url = `https://127.0.0.1:${silent.port}/`;
      expect(await reasonOf(fetchText({ url, tls: { insecureSkipVerify: true }, timeoutMs: 300, maxBytes: 100 }))).to.equal('Timeout');
      expect(Date.now() - t0).to.be.below(2000);
      await waitFor('the silent peer to see the socket close', () => silent.open === 0, 3000, 10);
    });
  });
});

describe('line splitter', () => {
  it('hands over the same lines however the bytes are chunked, multi-byte characters included (property)', () => {
    const texts = fc.array(fc.string({ unit: 'grapheme', maxLength: 30 }), { maxLength: 20 });
    fc.assert(
      fc.property(texts, fc.array(fc.nat({ max: 50 }), { maxLength: 30 }), (lines, cuts) => {
        const text = lines.join('\n');
        const bytes = Buffer.from(text, 'utf8');
        const got: string[] = [];
        const split = new LineSplitter((l) => got.push(l), { maxLineChars: 1e6, longLines: 'fail' });
        let at = 0;
        for (const c of cuts) {
          split.push(bytes.subarray(at, Math.min(bytes.length, at + c)));
          at = Math.min(bytes.length, at + c);
        }
        split.push(bytes.subarray(at));
        split.end();
        const want = text.split('\n');
        if (want.at(-1) === '') want.pop();
        expect(got).to.deep.equal(want);
      }),
      { numRuns: 300 },
    );
  });

  it('skips or fails on a line over the bound, holding no more than the bound', () => {
    const got: string[] = [];
    let long = 0;
    const skip = new LineSplitter((l) => got.push(l), {
      maxLineChars: 8,
      longLines: 'skip',
      onLongLine: () => {
        long++;
      },
    });
    skip.push(Buffer.from('short\nthis line is far too long\nok\n'));
    skip.end();
    expect(got).to.deep.equal(['short', 'ok']);
    expect(long).to.equal(1);
    const fail = new LineSplitter(() => undefined, { maxLineChars: 8, longLines: 'fail' });
    expect(() => {
      fail.push(Buffer.from('0123456789'));
    })
      .to.throw(HttpError)
      .with.property('reason', 'TooLarge');
  });
});
