import { expect } from 'chai';
import fc from 'fast-check';
import { createServer, type Server } from 'node:http';
import { decodeInstantVector, instantQuery, type PromQuery } from '../../src/sources/promql.js';
import { ScrapeError } from '../../src/sources/scrape.js';

const ok = (result: unknown) => ({ status: 'success', data: { resultType: 'vector', result } });
const series = (value: unknown, metric: unknown = { pod: 'p', namespace: 'ml' }) => ({ metric, value: [1_700_000_000.5, value] });

const failure = (body: unknown): string => {
  try {
    decodeInstantVector(body);
    return 'decoded';
  } catch (err) {
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).constructor, 'a decoder message, not a TypeError from a missed shape').to.equal(Error);
    return (err as Error).message;
  }
};

describe('PromQL answer decoder', () => {
  it('decodes an instant vector into samples', () => {
    const r = decodeInstantVector(ok([series('3.5', { __name__: 'gpu_gfx_activity', pod: 'a' }), series('0')]));
    expect(r.samples.map((s) => ({ name: s.name, labels: { ...s.labels }, value: s.value }))).to.deep.equal([
      { name: 'gpu_gfx_activity', labels: { __name__: 'gpu_gfx_activity', pod: 'a' }, value: 3.5 },
      { name: '', labels: { pod: 'p', namespace: 'ml' }, value: 0 },
    ]);
    expect(r.truncated).to.equal(false);
  });

  it('rejects each wrong shape and bad value with a specific message', () => {
    const cases: [unknown, RegExp][] = [
      [null, /the answer is null/],
      [[null], /the answer is an array/],
      ['x', /the answer is "x"/],
      [{ status: 'success', data: { resultType: 'vector', result: 'abc' } }, /data.result is "abc", not an array/],
      [{ status: 'success', data: null }, /data is null/],
      [{ status: 'success', data: { resultType: 'matrix', result: [] } }, /instant vector, got "matrix"/],
      [{ status: 'success', data: { result: [] } }, /instant vector, got undefined/],
      [{ status: 'weird' }, /status is "weird"/],
      [{ status: 'error', errorType: 'bad_data', error: 'parse error' }, /query failed: bad_data: parse error/],
      [ok([null]), /result\[0\] is null, not a series/],
      [ok([{ metric: 'x', value: [1, '1'] }]), /result\[0\]\.metric is "x"/],
      [ok([{ metric: { pod: 5 }, value: [1, '1'] }]), /result\[0\]\.metric\.pod is number, not a string/],
      [ok([{ metric: {}, value: [1, 1] }]), /value is an array, not \[time, "number"\]/],
      [ok([{ metric: {}, histogram: [1, {}] }]), /value is undefined/],
      [ok([series('NaN')]), /value NaN is outside/],
      [ok([series('+Inf')]), /value \+Inf is outside/],
      [ok([series('-Inf')]), /value -Inf is outside/],
      [ok([series('1e300')]), /value 1e300 is outside \[0, 9007199254740991\]/],
      [ok([series('-5')]), /value -5 is outside/],
      [ok([series('ninety')]), /value "ninety" is not a number/],
      [ok([series('3'), series('')]), /result\[1\] \{namespace="ml",pod="p"\}: value "" is not a number/],
    ];
    for (const [body, want] of cases) expect(failure(body), JSON.stringify(body)).to.match(want);
  });

  it('never throws anything but its own message on any JSON value (property)', () => {
    const anyShape = fc.oneof(
      fc.jsonValue(),
      fc.record({ status: fc.constantFrom('success', 'error'), data: fc.jsonValue() }),
      fc.record({ resultType: fc.constantFrom('vector', 'scalar'), result: fc.jsonValue() }).map((data) => ({ status: 'success', data })),
      fc.array(fc.record({ metric: fc.oneof(fc.jsonValue(), fc.dictionary(fc.string(), fc.jsonValue())), value: fc.jsonValue() })).map(ok),
      fc
        .array(fc.tuple(fc.oneof(fc.string(), fc.double().map(String)), fc.dictionary(fc.string(), fc.string())))
        .map((xs) => ok(xs.map(([v, m]) => series(v, m)))),
    );
    fc.assert(
      fc.property(anyShape, (body) => {
        let r;
        try {
          r = decodeInstantVector(body);
        } catch (err) {
          expect((err as Error).constructor).to.equal(Error);
          return;
        }
        for (const s of r.samples) {
          expect(Number.isFinite(s.value) && s.value >= 0 && s.value <= Number.MAX_SAFE_INTEGER).to.equal(true);
          for (const v of Object.values(s.labels)) expect(v).to.be.a('string');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps at most maxSamples series (then truncated) and drops over-long label values', () => {
    const metric = (i: number) => ({ pod: 'big', gpu_id: String(i), image: i === 0 ? 'x'.repeat(2000) : 'i' });
    const many = ok(Array.from({ length: 60_000 }, (_, i) => series(String(i % 100), metric(i))));
    const r = decodeInstantVector(many, { maxKeptBytes: Infinity });
    expect(r.samples).to.have.length(50_000);
    expect(r.truncated).to.equal(true);
    expect(r.longLabels).to.equal(1);
    expect(r.samples[0]?.labels).to.deep.equal({ pod: 'big', gpu_id: '0' });
    const small = decodeInstantVector(many, { maxKeptBytes: 1000 * 1000 });
    expect(small.bytes).to.be.at.most(1000 * 1000);
    expect(small.samples.length).to.be.within(2000, 4000);
    expect(small.truncated).to.equal(true);
  });
});

describe('PromQL query over the transport', () => {
  let server: Server;
  let base = '';
  const paths: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const path = (req.url ?? '').split('/api/')[0] ?? '';
      paths.push(path);
      switch (path) {
        case '/ok':
          res.end(JSON.stringify(ok([series('3')])));
          break;
        case '/big':
          res.end(JSON.stringify(ok(Array.from({ length: 200 }, () => series('1')))));
          break;
        case '/401':
          res.writeHead(401).end('Unauthorized');
          break;
        case '/redirect':
          res.writeHead(307, { Location: '/ok/api/v1/query' }).end();
          break;
        default:
          res.writeHead(404).end();
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

  const outcome = async (path: string, extra: Partial<PromQuery> = {}) => {
    try {
      const r = await instantQuery({ url: `${base}${path}`, query: 'up', timeoutMs: 2000, maxBytes: 4096, ...extra });
      return { reason: 'ok', message: String(r.samples.length) };
    } catch (err) {
      return err instanceof ScrapeError ? { reason: err.reason, message: err.message } : { reason: 'unexpected', message: String(err) };
    }
  };

  it('decodes an answer, and maps every transport failure to PrometheusQueryFailed naming the host', async () => {
    expect(await outcome('/ok')).to.deep.equal({ reason: 'ok', message: '1' });
    const host = new URL(base).host;
    for (const [path, message] of [
      ['/big', /sent more than 4096 bytes/],
      ['/401', /HTTP 401, not a Prometheus API answer/],
      ['/redirect', /answered 307, a redirect; redirects are not followed/],
    ] as const) {
      const o = await outcome(path);
      expect(o.reason, o.message).to.equal('PrometheusQueryFailed');
      expect(o.message).to.match(message).and.include(host);
    }
    expect(paths.filter((p) => p === '/ok')).to.have.length(1); // the redirect was not followed
  });

  it('refuses a token that cannot be sent in a header (MetricsUnauthorized), without sending anything', async () => {
    const before = paths.length;
    expect((await outcome('/ok', { token: 'a\nb' })).reason).to.equal('MetricsUnauthorized');
    expect(paths.length).to.equal(before);
  });
});
