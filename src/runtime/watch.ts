import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from './objects.js';

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject & { code?: number; message?: string; reason?: string };
}

export class HttpStatusError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Largest single watch event accepted; a line beyond this aborts the stream (no unbounded buffering). */
const MAX_LINE = 16 * 1024 * 1024;

/**
 * One watch request, streamed: calls onEvent per JSON line until the server ends the stream (resolves), the
 * connection fails or idles past `idleMs` (rejects), or `signal` aborts (resolves). Non-2xx rejects with
 * HttpStatusError. We stream ourselves rather than use client-node's Watch to own timeouts and restarts.
 */
export async function watchOnce(
  kc: KubeConfig,
  url: string,
  onEvent: (e: WatchEvent) => void,
  opts: { idleMs: number; signal: AbortSignal },
): Promise<void> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const target = new URL(url, cluster.server);
  const reqOpts: RequestOptions = { method: 'GET', headers: { Accept: 'application/json' }, signal: opts.signal };
  await kc.applyToHTTPSOptions(reqOpts);
  const send = target.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolveWatch, reject) => {
    let settled = false;
    const done = (err?: Error) => {
      if (settled) return;
      settled = true;
      if (err && !opts.signal.aborted) reject(err);
      else resolveWatch();
    };
    const req = send(target, reqOpts, (res) => {
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        let body = '';
        res.on('data', (c: Buffer) => { if (body.length < 4096) body += c.toString(); });
        res.on('end', () => { done(new HttpStatusError(status, `watch ${target.pathname}: HTTP ${status}: ${body.slice(0, 300)}`)); });
        res.on('error', (e) => { done(e); });
        return;
      }
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line) {
            let ev: WatchEvent;
            try {
              ev = JSON.parse(line) as WatchEvent;
            } catch {
              req.destroy(new Error(`watch ${target.pathname}: malformed event`));
              return;
            }
            try {
              onEvent(ev);
            } catch (err) {
              req.destroy(err instanceof Error ? err : new Error(String(err)));
              return;
            }
          }
          nl = buf.indexOf('\n');
        }
        if (buf.length > MAX_LINE) req.destroy(new Error(`watch ${target.pathname}: event larger than ${MAX_LINE} bytes`));
      });
      res.on('end', () => { done(); });
      res.on('error', (e) => { done(e); });
    });
    req.setTimeout(opts.idleMs, () => req.destroy(new Error(`watch ${target.pathname}: no data for ${opts.idleMs / 1000}s`)));
    req.on('error', (e) => { done(e); });
    req.end();
  });
}
