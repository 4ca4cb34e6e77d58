import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Logger } from './log.js';
import { rawJson } from './rawrequest.js';
import { selfSignedCert } from './selfsigned.js';

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

function listen(server: Server, bind: { host?: string; port: number }): Promise<number> {
  return new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(bind.port, bind.host, () => {
      const a = server.address();
      resolveListen(typeof a === 'object' && a ? a.port : bind.port);
    });
  });
}

interface Decision {
  status: 200 | 401 | 403;
  user?: string;
  expires: number;
}

/**
 * Authenticates a bearer token with a TokenReview and authorizes `get` on the non-resource URL with a
 * SubjectAccessReview, like controller-runtime's filters.WithAuthenticationAndAuthorization. Decisions are
 * cached by token hash for 10 s (bounded), so a scrape storm does not become an API storm.
 */
export class TokenAuthorizer {
  private readonly cache = new Map<string, Decision>();
  constructor(private readonly kc: KubeConfig, private readonly log: Logger, private readonly ttlMs = 10_000) {}

  async check(authorization: string | undefined, path: string): Promise<Decision> {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!m?.[1]) return { status: 401, expires: 0 };
    const token = m[1];
    const key = `${createHash('sha256').update(token).digest('hex')}|${path}`;
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.expires > now) return hit;
    const decision = await this.review(token, path).catch((err: unknown) => {
      this.log.warn('metrics authentication/authorization request failed', { error: err });
      return { status: 401 as const, expires: 0 };
    });
    decision.expires = now + this.ttlMs;
    this.cache.set(key, decision);
    if (this.cache.size > 1000) this.cache.delete(this.cache.keys().next().value ?? '');
    return decision;
  }

  private async review(token: string, path: string): Promise<Decision> {
    const tr = await rawJson<{ status?: { authenticated?: boolean; user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> } } }>(this.kc, {
      method: 'POST', path: '/apis/authentication.k8s.io/v1/tokenreviews', timeoutMs: 10_000,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
    });
    const user = tr.status?.user;
    if (!tr.status?.authenticated || !user?.username) return { status: 401, expires: 0 };
    const sar = await rawJson<{ status?: { allowed?: boolean } }>(this.kc, {
      method: 'POST', path: '/apis/authorization.k8s.io/v1/subjectaccessreviews', timeoutMs: 10_000,
      body: {
        apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
        spec: { user: user.username, uid: user.uid, groups: user.groups, extra: user.extra, nonResourceAttributes: { path, verb: 'get' } },
      },
    });
    return { status: sar.status?.allowed ? 200 : 403, user: user.username, expires: 0 };
  }
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
}

/** Serves /metrics: HTTPS with TokenReview/SubjectAccessReview when secure (the default), plain HTTP otherwise. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<{ port: number; close: () => Promise<void> } | undefined> {
  const bind = parseBindAddress(opts.bindAddress);
  if (!bind) return undefined;
  const authz = new TokenAuthorizer(opts.kc, opts.log);
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== '/metrics') {
        res.writeHead(404).end('not found\n');
        return;
      }
      if (opts.secure) {
        const d = await authz.check(req.headers.authorization, '/metrics');
        if (d.status !== 200) {
          res.writeHead(d.status, { 'Content-Type': 'text/plain' }).end(d.status === 401 ? 'Unauthorized\n' : 'Forbidden\n');
          return;
        }
      }
      const body = await opts.registry.metrics();
      res.writeHead(200, { 'Content-Type': opts.registry.contentType }).end(body);
    })().catch((err: unknown) => {
      opts.log.error('metrics request failed', { error: err });
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
  let server: Server;
  if (opts.secure) {
    let tls: { cert: string; key: string };
    if (opts.certPath) {
      tls = {
        cert: await readFile(join(opts.certPath, opts.certName ?? 'tls.crt'), 'utf8'),
        key: await readFile(join(opts.certPath, opts.keyName ?? 'tls.key'), 'utf8'),
      };
    } else {
      tls = await selfSignedCert(['localhost', '127.0.0.1']);
    }
    server = createHttpsServer({ ...tls, minVersion: 'TLSv1.2' }, handler);
  } else {
    server = createHttpServer(handler);
  }
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const port = await listen(server, bind);
  return { port, close: () => closeServer(server) };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((r) => {
    server.close(() => { r(); });
    server.closeAllConnections();
  });
}

/** /healthz (process alive) and /readyz (caches synced) on plain HTTP, like controller-runtime's probes. */
export async function startProbeServer(bindAddress: string, ready: () => { ok: boolean; reason?: string }): Promise<{ port: number; close: () => Promise<void> } | undefined> {
  const bind = parseBindAddress(bindAddress);
  if (!bind) return undefined;
  const server = createHttpServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/healthz' || path === '/livez') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    } else if (path === '/readyz') {
      const r = ready();
      res.writeHead(r.ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(r.ok ? 'ok' : `not ready: ${r.reason ?? ''}`);
    } else {
      res.writeHead(404).end();
    }
  });
  const port = await listen(server, bind);
  return { port, close: () => closeServer(server) };
}
