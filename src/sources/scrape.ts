import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { parsePrometheusText, type Sample } from './promtext.js';

export type ScrapeFailure = 'MetricsUnreachable' | 'MetricsUnauthorized' | 'MetricsResponseTooLarge' | 'MetricsInvalid' | 'PrometheusQueryFailed';

export class ScrapeError extends Error {
  constructor(readonly reason: ScrapeFailure, message: string) {
    super(message);
  }
}

export interface ScrapeTarget {
  url: string;
  token?: string;
  caBundle?: string;
  insecureSkipVerify?: boolean;
  serverName?: string;
  timeoutMs: number;
  maxBytes: number;
}

/**
 * GETs a Prometheus text endpoint with a bearer token, a CA bundle or explicit insecureSkipVerify, a timeout and
 * a response-size cap; rejects with a ScrapeError whose reason becomes the component's Unknown reason.
 */
export function scrape(t: ScrapeTarget): Promise<Sample[]> {
  const url = new URL(t.url);
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  const opts: RequestOptions = {
    method: 'GET',
    headers: { Accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1', ...(t.token ? { Authorization: `Bearer ${t.token}` } : {}) },
    timeout: t.timeoutMs,
    rejectUnauthorized: !t.insecureSkipVerify,
    ...(t.caBundle ? { ca: t.caBundle } : {}),
    ...(t.serverName ? { servername: t.serverName } : {}),
  };
  return new Promise((resolveScrape, reject) => {
    const deadline = setTimeout(() => req.destroy(new ScrapeError('MetricsUnreachable', `no complete answer from ${url.host} within ${t.timeoutMs} ms`)), t.timeoutMs);
    const fail = (e: Error) => {
      clearTimeout(deadline);
      reject(e instanceof ScrapeError ? e : new ScrapeError('MetricsUnreachable', `${url.host}: ${e.message}`));
    };
    const req = send(url, opts, (res) => {
      const status = res.statusCode ?? 0;
      if (status === 401 || status === 403) {
        res.resume();
        fail(new ScrapeError('MetricsUnauthorized', `${url.host} answered ${status}: the token may not get ${url.pathname}`));
        return;
      }
      if (status < 200 || status >= 300) {
        res.resume();
        fail(new ScrapeError('MetricsUnreachable', `${url.host} answered HTTP ${status}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > t.maxBytes) {
          req.destroy(new ScrapeError('MetricsResponseTooLarge', `${url.host} sent more than ${t.maxBytes} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        clearTimeout(deadline);
        const parsed = parsePrometheusText(Buffer.concat(chunks).toString('utf8'));
        if (parsed.samples.length === 0 && parsed.skipped > 0) reject(new ScrapeError('MetricsInvalid', `${url.host} sent no parsable samples (${parsed.skipped} bad lines)`));
        else resolveScrape(parsed.samples);
      });
      res.on('error', fail);
    });
    req.on('error', fail);
    req.on('timeout', () => req.destroy(new ScrapeError('MetricsUnreachable', `${url.host}: timed out after ${t.timeoutMs} ms`)));
    req.end();
  });
}
