import { expect } from 'chai';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Cluster } from '../../src/localcluster/backend.js';
import { SERVER_LIMITS } from '../../src/runtime/serving.js';
import { sharedCluster, skipWithoutBackend } from '../support/cluster.js';
import { metricIn, metricsTokens, scrape } from '../support/metrics-client.js';
import { OperatorProcess } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

interface Port {
  name: string;
  port: number;
  tls: boolean;
}

function open(p: Port): Socket {
  const s = p.tls
    ? tlsConnect({ host: '127.0.0.1', port: p.port, rejectUnauthorized: false })
    : tcpConnect({ host: '127.0.0.1', port: p.port });
  s.on('error', () => undefined); // a reset is an acceptable answer to a hostile client
  return s;
}

/**
 * Sends raw bytes and resolves with the status code of the first response line (undefined when the server closed
 * without answering) once the server closes the connection or `timeoutMs` passes.
 */
function exchange(p: Port, payload: string | Buffer, timeoutMs = 10_000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = open(p);
    let head = '';
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      resolve(m?.[1] ? Number(m[1]) : undefined);
    };
    const timer = setTimeout(done, timeoutMs);
    s.once(p.tls ? 'secureConnect' : 'connect', () => s.write(payload));
    s.on('data', (c: Buffer) => {
      head += c.toString('latin1');
      if (head.includes('\r\n')) done();
    });
    s.on('close', done);
  });
}

async function get(p: Port, path: string): Promise<number | undefined> {
  return exchange(p, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
}

/** Runs `n` tasks with at most `concurrency` at a time. */
async function pool<T>(n: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

describe('integration: hostile clients of the probe and metrics ports', function () {
  this.timeout(180_000);
  before(skipWithoutBackend);
  let cluster: Cluster;
  let op: OperatorProcess;
  let probe: Port;
  let metrics: Port;
  let tokens: Awaited<ReturnType<typeof metricsTokens>>;

  before(async () => {
    cluster = await sharedCluster();
    op = await OperatorProcess.start(cluster.kubeconfigPath, [], { metrics: true });
    await op.waitForLog((l) => l.msg === 'serving');
    probe = { name: 'probe', port: op.probePort, tls: false };
    metrics = { name: 'metrics', port: op.metricsPort ?? 0, tls: true };
    tokens = await metricsTokens(cluster.kubeConfig(), 'hostile');
    await waitFor('/readyz', async () => (await get(probe, '/readyz')) === 200);
  });

  after(async () => {
    await op.stop();
    await tokens.cleanup();
  });

  it('answers odd request targets, methods and malformed requests with 4xx on both ports', async () => {
    const huge = 'a'.repeat(64 * 1024);
    const cases: [string, string, (p: Port) => number[]][] = [
      ['GET //', 'GET // HTTP/1.1\r\nHost: x\r\n\r\n', () => [404]],
      ['GET ///x//y', 'GET ///x//y HTTP/1.1\r\nHost: x\r\n\r\n', () => [404]],
      ['absolute-form', 'GET http://x/readyz HTTP/1.1\r\nHost: x\r\n\r\n', (p) => [p === probe ? 200 : 404]],
      ['absolute-form /metrics', 'GET http://evil.example/metrics HTTP/1.1\r\nHost: x\r\n\r\n', (p) => [p === probe ? 404 : 401]],
      ['broken absolute-form', 'GET http://[::1/x HTTP/1.1\r\nHost: x\r\n\r\n', () => [400]],
      ['asterisk-form', 'GET * HTTP/1.1\r\nHost: x\r\n\r\n', () => [404]],
      ['OPTIONS *', 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n', () => [405]],
      ['relative target', 'GET metrics HTTP/1.1\r\nHost: x\r\n\r\n', () => [400]],
      ['DELETE', 'DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n', () => [405]],
      ['POST with a body', 'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello', () => [405]],
      ['unknown method', 'BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n', () => [400]],
      ['huge header', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${huge}\r\n\r\n`, () => [431]],
      ['huge target', `GET /${huge} HTTP/1.1\r\nHost: x\r\n\r\n`, () => [431]],
      ['no Host', 'GET /healthz HTTP/1.1\r\n\r\n', () => [400]],
      ['CL and TE', 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', () => [400]],
      ['NUL in target', 'GET /\u0000 HTTP/1.1\r\nHost: x\r\n\r\n', () => [400]],
      ['not HTTP', 'hello there\r\n\r\n', () => [400]],
      ['HTTP/0.9', 'GET /\r\n\r\n', () => [400, 404]],
      ['binary', '\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u00ff\r\n\r\n', () => [400]],
    ];
    for (const p of [probe, metrics]) {
      for (const [what, payload, want] of cases) {
        expect(await exchange(p, Buffer.from(payload, 'latin1')), `${p.name}: ${what}`).to.be.oneOf(want(p));
      }
    }
    expect(op.exitCode).to.equal(null);
    expect(await get(probe, '/readyz')).to.equal(200);
  });

  it('times out slowloris clients (408 or closed) while /readyz keeps answering', async () => {
    const limit = SERVER_LIMITS.headersTimeoutMs + 5000;
    const slow = async (p: Port) => {
      const started = Date.now();
      const s = open(p);
      let head = '';
      s.on('data', (c: Buffer) => {
        head += c.toString('latin1');
      });
      await new Promise((r) => s.once(p.tls ? 'secureConnect' : 'connect', r));
      s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      const drip = setInterval(() => {
        if (!s.destroyed) s.write('X-Drip: 1\r\n');
      }, 500);
      await new Promise((r) => {
        s.once('close', r);
        setTimeout(r, limit + 5000);
      });
      clearInterval(drip);
      const closed = s.destroyed || s.readableEnded;
      s.destroy();
      return { ms: Date.now() - started, closed, status: /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] };
    };
    const clients = [...Array.from({ length: 40 }, () => slow(probe)), ...Array.from({ length: 20 }, () => slow(metrics))];
    // Meanwhile the probe answers normally.
    for (let i = 0; i < 5; i++) {
      expect(await get(probe, '/readyz')).to.equal(200);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const results = await Promise.all(clients);
    for (const r of results) {
      expect(r.closed, 'closed by the server').to.equal(true);
      expect(r.ms).to.be.at.most(limit);
      expect(r.status ?? '408').to.equal('408');
    }
  });

  it('closes TLS connections that never handshake and idle connections that never send a request', async () => {
    const idle = async (p: Port, raw: boolean) => {
      const started = Date.now();
      const s = raw ? tcpConnect({ host: '127.0.0.1', port: p.port }) : open(p);
      s.on('error', () => undefined);
      s.resume(); // read, so the server's close is seen
      await new Promise((r) => {
        s.once('close', r);
        setTimeout(r, SERVER_LIMITS.headersTimeoutMs + 10_000);
      });
      const ms = Date.now() - started;
      const closed = s.destroyed;
      s.destroy();
      return { ms, closed };
    };
    const results = await Promise.all([
      ...Array.from({ length: 20 }, () => idle(metrics, true)), // TCP only: the TLS handshake never starts
      ...Array.from({ length: 10 }, () => idle(probe, false)),
    ]);
    for (const r of results.slice(0, 20)) expect(r.ms, 'TLS handshake timeout').to.be.at.most(SERVER_LIMITS.tlsHandshakeTimeoutMs + 3000);
    for (const r of results) {
      expect(r.closed).to.equal(true);
      expect(r.ms).to.be.at.most(SERVER_LIMITS.headersTimeoutMs + 5000);
    }
  });

  it('caps simultaneous connections and recovers when they go away', async () => {
    const n = SERVER_LIMITS.maxConnections + 100;
    const sockets: Socket[] = [];
    let closedEarly = 0;
    for (let i = 0; i < n; i++) {
      const s = tcpConnect({ host: '127.0.0.1', port: probe.port });
      s.on('error', () => undefined);
      s.on('close', () => {
        closedEarly++;
      });
      sockets.push(s);
    }
    await waitFor('connections beyond the cap dropped', () => closedEarly >= n - SERVER_LIMITS.maxConnections, 10_000);
    for (const s of sockets) s.destroy();
    expect(await waitFor('/readyz after the flood', async () => (await get(probe, '/readyz')) === 200, 10_000)).to.equal(true);
  });

  it('survives 2,000 connections with hostile requests, stays alive and ready, and counts no unexpected error', async () => {
    const targets = ['//', '*', 'http://x/metrics', '/readyz', '/%ff%fe', '/..%2f..%2fetc/passwd', '/metrics?x=1'];
    const started = Date.now();
    const codes = await pool(2000, 100, async (i) => {
      const p = i % 4 === 0 ? metrics : probe;
      return exchange(p, `GET ${targets[i % targets.length] ?? '/'} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    });
    const answered = codes.filter((c) => c !== undefined).length;
    process.stderr.write(`      2,000 hostile connections in ${((Date.now() - started) / 1000).toFixed(1)}s, ${answered} answered\n`);
    expect(answered).to.equal(2000);
    expect(op.exitCode).to.equal(null);
    expect(await get(probe, '/readyz')).to.equal(200);
    expect(await get(probe, '/healthz')).to.equal(200);
    const m = await waitFor('authorized scrape', async () => {
      const s = await scrape(metrics.port, tokens.allowed);
      return s.status === 200 ? s : undefined;
    });
    expect(m.body).to.include('kaiwo_monitor_unexpected_errors_total');
    expect(metricIn(m.body, 'kaiwo_monitor_unexpected_errors_total')).to.equal(0);
    expect(m.body).to.include('nodejs_eventloop_lag_max_seconds');
    expect(op.lines.filter((l) => l.level === 'error').map((l) => l.msg)).to.not.include('uncaught exception; continuing');
  });
});
