import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Sample } from './promtext.js';
import { ScrapeError } from './scrape.js';

export interface PromQuery {
  url: string;
  query: string;
  timeoutMs: number;
  maxBytes: number;
  caBundle?: string;
  insecureSkipVerify?: boolean;
}

interface ApiResponse {
  status?: string;
  error?: string;
  data?: { resultType?: string; result?: { metric?: Record<string, string>; value?: [number, string] }[] };
}

/** Instant query against a Prometheus HTTP API (/api/v1/query); vector results become samples. */
export function instantQuery(q: PromQuery): Promise<Sample[]> {
  const url = new URL('api/v1/query', q.url.endsWith('/') ? q.url : `${q.url}/`);
  url.searchParams.set('query', q.query);
  url.searchParams.set('timeout', `${Math.max(1, Math.floor(q.timeoutMs / 1000))}s`);
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  const fail = (message: string) => new ScrapeError('PrometheusQueryFailed', `${url.host}: ${message}`);
  return new Promise((resolveQuery, reject) => {
    const req = send(url, {
      method: 'GET', timeout: q.timeoutMs, headers: { Accept: 'application/json' },
      rejectUnauthorized: !q.insecureSkipVerify, ...(q.caBundle ? { ca: q.caBundle } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > q.maxBytes) req.destroy(fail(`response larger than ${q.maxBytes} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        clearTimeout(deadline);
        let body: ApiResponse;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ApiResponse;
        } catch {
          reject(fail(`HTTP ${res.statusCode ?? 0}, not a Prometheus API answer`));
          return;
        }
        if (body.status !== 'success') {
          reject(fail(body.error ?? `HTTP ${res.statusCode ?? 0}`));
          return;
        }
        if (body.data?.resultType !== 'vector') {
          reject(fail(`query must return an instant vector, got ${body.data?.resultType ?? 'nothing'}`));
          return;
        }
        resolveQuery((body.data.result ?? []).map((r) => ({ name: r.metric?.__name__ ?? '', labels: { ...(r.metric ?? {}) }, value: Number(r.value?.[1]) })));
      });
      res.on('error', (e) => { reject(fail(e.message)); });
    });
    const deadline = setTimeout(() => req.destroy(fail(`no answer within ${q.timeoutMs} ms`)), q.timeoutMs);
    req.on('error', (e) => {
      clearTimeout(deadline);
      reject(e instanceof ScrapeError ? e : fail(e.message));
    });
    req.end();
  });
}
