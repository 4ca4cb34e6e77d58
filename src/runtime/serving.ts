import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import type { KubeConfig } from './kubeconfig.js';
import type { Registry } from 'prom-client';
import type { Logger } from './log.js';
import { type AuthLimits, type ReviewKind, type ReviewResult, TokenAuthorizer } from './metricsauth.js';

/** Parses a bind address: "0" = off, ":8443" = all interfaces, "127.0.0.1:0" = any free port. */
export function parseBindAddress(addr: string): { host?: string; port: number } | undefined {
  if (addr === '0' || addr === '') return undefined;
  const m = /^(.*):(\d+)$/.exec(addr);
  if (!m?.[2]) throw new Error(`bind address ${JSON.stringify(addr)}: expected [host]:port or 0`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`bind address ${JSON.stringify(addr)}: port out of range`);
  const host = m[1]?.replace(/^\[(.*)\]$/, '$1');
  return host ? { host, port } : { port };
}

/**
 * Limits of both ports (probes, metrics) against slow or abusive clients: Node answers 431 for headers over
 * maxHeaderSize, 408 when the headers or the whole request take too long (a connection that sends nothing is
 * closed after headersTimeout too), and drops connections beyond maxConnections; idle keep-alive sockets close
 * after keepAliveTimeout, TLS handshakes that do not finish after tlsHandshakeTimeoutMs.
 */
export const SERVER_LIMITS = {
  maxHeaderSize: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  tlsHandshakeTimeoutMs: 10_000,
  maxConnections: 512,
  maxRequestsPerSocket: 1000,
} as const;

const serverOptions: ServerOptions = {
  maxHeaderSize: SERVER_LIMITS.maxHeaderSize,
  headersTimeout: SERVER_LIMITS.headersTimeoutMs,
  requestTimeout: SERVER_LIMITS.requestTimeoutMs,
  keepAliveTimeout: SERVER_LIMITS.keepAliveTimeoutMs,
  connectionsCheckingInterval: 1000,
};

function limit(server: Server): Server {
  server.maxConnections = SERVER_LIMITS.maxConnections;
  server.maxRequestsPerSocket = SERVER_LIMITS.maxRequestsPerSocket;
  return server;
}

/**
 * The path of a request target in any form a client may send: origin-form ("/metrics?x", "//"), absolute-form
 * ("http://host/metrics") or asterisk-form ("*"); undefined when it is none of these.
 */
export function requestPath(target: string | undefined): string | undefined {
  if (!target) return undefined;
  if (target.startsWith('/')) return target.split(/[?#]/, 1)[0];
  if (target === '*') return '*';
  if (!/^https?:\/\//i.test(target)) return undefined;
  try {
    return new URL(target).pathname;
  } catch {
    return undefined;
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse, path: string) => void | Promise<void>;

/**
 * Wraps a handler so that no request can throw out of the event loop: bad targets get 400, methods other than
 * GET/HEAD 405, and a handler that throws or rejects is answered 500 (or its socket destroyed) and reported.
 */
export function totalHandler(handler: Handler, onUnexpected: (err: unknown) => void): (req: IncomingMessage, res: ServerResponse) => void {
  const fail = (res: ServerResponse, err: unknown) => {
    onUnexpected(err);
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain', Connection: 'close' }).end('internal error\n');
    else res.destroy();
  };
  return (req, res) => {
    try {
      req.on('error', () => {
        res.destroy();
      });
      res.on('error', () => {
        res.destroy();
      });
      const path = requestPath(req.url);
      if (path === undefined) {
        res.writeHead(400, { 'Content-Type': 'text/plain', Connection: 'close' }).end('bad request target\n');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { 'Content-Type': 'text/plain', Allow: 'GET, HEAD', Connection: 'close' }).end('method not allowed\n');
        return;
      }
      const done = handler(req, res, path);
      if (done instanceof Promise)
        done.catch((err: unknown) => {
          fail(res, err);
        });
    } catch (err) {
      fail(res, err);
    }
  };
}

function listen(server: Server, bind: { host?: string; port: number }, onError: (err: unknown) => void): Promise<number> {
  return new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(bind.port, bind.host, () => {
      server.off('error', reject);
      server.on('error', onError); // e.g. accept() failing with EMFILE: reported, never thrown
      const a = server.address();
      resolveListen(typeof a === 'object' && a ? a.port : bind.port);
    });
  });
}

export interface MetricsServerOptions {
  bindAddress: string;
  secure: boolean;
  certPath?: string;
  certName?: string;
  keyName?: string;
  registry: Registry;
  kc: KubeConfig;
  log: Logger;
  authLimits?: Partial<AuthLimits>;
  /** Each TokenReview/SubjectAccessReview sent to the API server, by result. */
  onReview?: (kind: ReviewKind, result: ReviewResult) => void;
  /** Each answer on /metrics, by HTTP status. */
  onResponse?: (code: number) => void;
  /** A handler threw: a bug. */
  onUnexpected?: (err: unknown) => void;
}

/** Serves /metrics: HTTPS with TokenReview/SubjectAccessReview when secure (the default), plain HTTP otherwise. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<{ port: number; close: () => Promise<void> } | undefined> {
  const bind = parseBindAddress(opts.bindAddress);
  if (!bind) return undefined;
  const authz = new TokenAuthorizer(opts.kc, opts.log, opts.authLimits, opts.onReview);
  const answer = (res: ServerResponse, code: number, headers: Record<string, string | number>, body: string) => {
    opts.onResponse?.(code);
    res.writeHead(code, headers).end(body);
  };
  const handler = totalHandler(
    async (req, res, path) => {
      if (path !== '/metrics') {
        answer(res, 404, { 'Content-Type': 'text/plain' }, 'not found\n');
        return;
      }
      if (opts.secure) {
        const d = await authz.check(req.headers.authorization, '/metrics');
        if (d.status === 429) {
          answer(
            res,
            429,
            { 'Content-Type': 'text/plain', 'Retry-After': d.retryAfterS ?? 1 },
            'Too Many Requests: authentication is rate-limited\n',
          );
          return;
        }
        if (d.status !== 200) {
          answer(res, d.status, { 'Content-Type': 'text/plain' }, d.status === 401 ? 'Unauthorized\n' : 'Forbidden\n');
          return;
        }
      }
      const body = await opts.registry.metrics();
      answer(res, 200, { 'Content-Type': opts.registry.contentType }, req.method === 'HEAD' ? '' : body);
    },
    (err) => {
      opts.log.error('metrics request failed', { error: err });
      opts.onUnexpected?.(err);
    },
  );
  let server: Server;
  if (opts.secure) {
    let tls: { cert: string; key: string };
    if (opts.certPath) {
      tls = {
        cert: await readFile(join(opts.certPath, opts.certName ?? 'tls.crt'), 'utf8'),
        key: await readFile(join(opts.certPath, opts.keyName ?? 'tls.key'), 'utf8'),
      };
    } else {
      // Imported only here: @peculiar/x509 and its polyfills cost ≈ 0.2 s of start-up that a cert from disk does not need.
      const { selfSignedCert } = await import('./selfsigned.js');
      tls = await selfSignedCert(['localhost', '127.0.0.1']);
    }
    server = createHttpsServer(
      { ...serverOptions, ...tls, minVersion: 'TLSv1.2', handshakeTimeout: SERVER_LIMITS.tlsHandshakeTimeoutMs },
      handler,
    );
  } else {
    server = createHttpServer(serverOptions, handler);
  }
  const port = await listen(limit(server), bind, (err) => {
    opts.log.error('metrics server error', { error: err });
  });
  return { port, close: () => closeServer(server) };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((r) => {
    server.close(() => {
      r();
    });
    server.closeAllConnections();
  });
}

/** /healthz (process alive) and /readyz (caches synced) on plain HTTP, like controller-runtime's probes. */
export async function startProbeServer(
  bindAddress: string,
  ready: () => { ok: boolean; reason?: string },
  onUnexpected: (err: unknown) => void = () => undefined,
): Promise<{ port: number; close: () => Promise<void> } | undefined> {
  const bind = parseBindAddress(bindAddress);
  if (!bind) return undefined;
  const server = createHttpServer(
    serverOptions,
    totalHandler((_req, res, path) => {
      if (path === '/healthz' || path === '/livez') {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      } else if (path === '/readyz') {
        const r = ready();
        res.writeHead(r.ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(r.ok ? 'ok' : `not ready: ${r.reason ?? ''}`);
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      }
    }, onUnexpected),
  );
  const port = await listen(limit(server), bind, onUnexpected);
  return { port, close: () => closeServer(server) };
}
