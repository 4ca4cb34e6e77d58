import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import { HISTORY_BYTES, trimHistory } from '../../src/controller/scrapes.js';
import { HttpError, HttpStatusError } from '../../src/runtime/http.js';
import { scrape, ScrapeError, scrapeFailure } from '../../src/sources/scrape.js';

/** Hostile and broken endpoints on loopback: the scraper must give a reason, never hang or hoard memory. */
describe('metrics scraper against hostile endpoints', () => {
  let server: Server;
  let base = '';
  const requests: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      if (req.url) requests.push(req.url);
      switch (req.url) {
        case '/redirect':
          res.writeHead(302, { Location: '/ok' }).end();
          break;
        case '/mixed':
          res.end('other 1\nwanted{a="b"} 2\nother{x="y"} 3\n');
          break;
        case '/ok':
          res.end('controller_runtime_reconcile_errors_total{controller="a"} 2\n');
          break;
        case '/auth':
          if (req.headers.authorization === 'Bearer s3cret') res.end('m 1\n');
          else res.writeHead(401).end();
          break;
        case '/401':
          res.writeHead(401).end();
          break;
        case '/500':
          res.writeHead(500).end('boom');
          break;
        case '/slow':
          res.writeHead(200);
          res.write('m 1\n');
          break; // never ends
        case '/huge': {
          res.writeHead(200);
          const chunk = 'm{a="b"} 1\n'.repeat(10_000);
          const send = () => {
            if (res.write(chunk)) setImmediate(send);
            else res.once('drain', send);
          };
          send();
          break;
        }
        default:
          res.end('<html>not metrics</html>\n{{{');
      }
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

  const reasonOf = async (path: string, extra: object = {}) => {
    try {
      await scrape({ url: `${base}${path}`, timeoutMs: 500, maxBytes: 100_000, ...extra });
      return 'ok';
    } catch (err) {
      return err instanceof ScrapeError ? err.reason : `unexpected: ${String(err)}`;
    }
  };

  it('parses a good endpoint and sends the bearer token', async () => {
    const s = (await scrape({ url: `${base}/ok`, timeoutMs: 500, maxBytes: 1000 })).samples;
    expect(s[0]).to.deep.include({ name: 'controller_runtime_reconcile_errors_total', value: 2 });
    expect(await reasonOf('/auth', { token: 's3cret' })).to.equal('ok');
  });

  it('maps failures to reasons', async () => {
    expect(await reasonOf('/401')).to.equal('MetricsUnauthorized');
    expect(await reasonOf('/auth')).to.equal('MetricsUnauthorized');
    expect(await reasonOf('/500')).to.equal('MetricsUnreachable');
    expect(await reasonOf('/garbage')).to.equal('MetricsInvalid');
    expect(await reasonOf('/redirect')).to.equal('MetricsUnreachable');
  });

  it('does not follow a redirect and says so', async () => {
    try {
      await scrape({ url: `${base}/redirect`, timeoutMs: 500, maxBytes: 1000 });
      expect.fail('should not scrape');
    } catch (err) {
      expect((err as Error).message).to.match(/answered 302, a redirect to \/ok; redirects are not followed/);
    }
  });

  it('gives MetricsUnauthorized for a token that cannot be sent in a header, without sending anything', async () => {
    for (const token of ['abc\ndef', 'abc\r\nX-Injected: 1', 'nul\u0000']) {
      expect(await reasonOf('/never', { token })).to.equal('MetricsUnauthorized');
    }
    expect(requests.filter((r) => r === '/never')).to.have.length(0);
  });

  it('keeps only the metrics the keep predicate accepts, while parsing', async () => {
    const r = await scrape({ url: `${base}/mixed`, timeoutMs: 500, maxBytes: 10_000 }, { keep: (n) => n === 'wanted' });
    expect(r.samples.map((x) => x.name)).to.deep.equal(['wanted']);
    expect(r.ignored).to.equal(2);
  });

  it('gives up on an endpoint that never finishes, within the timeout', async () => {
    const t0 = Date.now();
    expect(await reasonOf('/slow')).to.equal('MetricsUnreachable');
    expect(Date.now() - t0).to.be.below(2000);
  });

  it('stops reading an endless response at the size cap', async () => {
    expect(await reasonOf('/huge')).to.equal('MetricsResponseTooLarge');
  });

  it('reports a closed port as unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((r) =>
      closed.listen(0, '127.0.0.1', () => {
        r();
      }),
    );
    const a = closed.address();
    const port = typeof a === 'object' && a ? a.port : 0;
    await new Promise<void>((r) =>
      closed.close(() => {
        r();
      }),
    );
    try {
      await scrape({ url: `http://127.0.0.1:${port}/metrics`, timeoutMs: 500, maxBytes: 1000 });
      expect.fail('should not scrape');
    } catch (err) {
      expect((err as ScrapeError).reason).to.equal('MetricsUnreachable');
    }
  });
});

describe('transport failures as scrape reasons (one mapping for /metrics and PromQL)', () => {
  const host = '10.0.0.1:8443';
  const cases: [string, unknown, string, string][] = [
    ['too large', new HttpError('TooLarge', `${host} sent more than 10 bytes`), 'MetricsResponseTooLarge', 'PrometheusQueryFailed'],
    ['malformed', new HttpError('Invalid', `${host}: malformed HTTP answer (HPE_X)`), 'MetricsInvalid', 'PrometheusQueryFailed'],
    ['401', new HttpStatusError(401, `${host} answered 401`), 'MetricsUnauthorized', 'PrometheusQueryFailed'],
    ['403', new HttpStatusError(403, `${host} answered 403`), 'MetricsUnauthorized', 'PrometheusQueryFailed'],
    ['500', new HttpStatusError(500, `${host} answered HTTP 500`), 'MetricsUnreachable', 'PrometheusQueryFailed'],
    ['timeout', new HttpError('Timeout', `no complete answer from ${host} within 5 ms`), 'MetricsUnreachable', 'PrometheusQueryFailed'],
    ['refused', new HttpError('Unreachable', `${host}: connect ECONNREFUSED`), 'MetricsUnreachable', 'PrometheusQueryFailed'],
    ['bad request', new HttpError('BadRequest', 'unsupported protocol ftp:'), 'MetricsUnreachable', 'PrometheusQueryFailed'],
    ['token not sendable', new HttpError('BadToken', 'the bearer token contains characters'), 'MetricsUnauthorized', 'MetricsUnauthorized'],
    ['not an HttpError', new TypeError('boom'), 'MetricsUnreachable', 'PrometheusQueryFailed'],
    ['not an Error', 'boom', 'MetricsUnreachable', 'PrometheusQueryFailed'],
  ];
  for (const [what, err, metrics, prometheus] of cases) {
    it(`${what}: ${metrics} for a scrape, ${prometheus} for a query; the message names the host once`, () => {
      for (const [source, want] of [
        ['metrics', metrics],
        ['prometheus', prometheus],
      ] as const) {
        const e = scrapeFailure(err, host, source);
        expect(e.reason, source).to.equal(want);
        expect(e.message.split(host)).to.have.length(2);
      }
    });
  }

  it('passes a ScrapeError through and cuts long messages', () => {
    const own = new ScrapeError('MetricsInvalid', 'no samples');
    expect(scrapeFailure(own, host, 'prometheus')).to.equal(own);
    expect(scrapeFailure(new Error('x'.repeat(5000)), host).message).to.have.length(1000);
  });
});

describe('scrape history trimming', () => {
  const entries = (...mib: number[]) => mib.map((m, i) => ({ at: i, bytes: m * 1024 * 1024 }));
  const ats = (h: { at: number }[]) => h.map((e) => e.at);

  it('keeps at most `count` entries, newest last', () => {
    expect(ats(trimHistory(entries(1, 1, 1, 1, 1), 3))).to.deep.equal([2, 3, 4]);
  });

  it('drops the oldest beyond the byte budget but always keeps the newest two', () => {
    expect(ats(trimHistory(entries(10, 10, 10, 10), 128, 25 * 1024 * 1024))).to.deep.equal([2, 3]);
    expect(ats(trimHistory(entries(5, 10, 10), 128, 25 * 1024 * 1024))).to.deep.equal([0, 1, 2]);
    expect(ats(trimHistory(entries(40, 40, 40), 128, HISTORY_BYTES))).to.deep.equal([1, 2]);
  });
});
