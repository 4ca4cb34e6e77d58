import { fetchLines, headerSafe, HttpError, isOk } from '../runtime/http.js';
import { type ParseLimits, type ParseResult, PromTextParser } from './promtext.js';

export type ScrapeFailure =
  'MetricsUnreachable' | 'MetricsUnauthorized' | 'MetricsResponseTooLarge' | 'MetricsInvalid' | 'PrometheusQueryFailed';

export const TOKEN_NOT_SENDABLE = 'the bearer token contains characters not allowed in an HTTP header (a newline or control character)';

export class ScrapeError extends Error {
  constructor(readonly reason: ScrapeFailure, message: string) {
    super(message);
    this.name = 'ScrapeError';
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

/** A transport failure as the scrape reason a condition shows. */
export function scrapeFailure(err: unknown, host: string): ScrapeError {
  if (err instanceof ScrapeError) return err;
  if (!(err instanceof HttpError)) {
    return new ScrapeError('MetricsUnreachable', `${host}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 1000));
  }
  switch (err.reason) {
    case 'TooLarge': return new ScrapeError('MetricsResponseTooLarge', err.message);
    case 'Invalid': return new ScrapeError('MetricsInvalid', err.message);
    case 'HttpStatus':
      if (err.status === 401 || err.status === 403) return new ScrapeError('MetricsUnauthorized', err.message);
      return new ScrapeError('MetricsUnreachable', err.message);
    default: return new ScrapeError('MetricsUnreachable', err.message);
  }
}

function statusError(status: number, location: string | string[] | undefined, url: URL): HttpError {
  const where = `${url.host}${url.pathname}`;
  if (status === 401 || status === 403) {
    return new HttpError('HttpStatus', `${url.host} answered ${status}: the token may not get ${url.pathname}`, status);
  }
  if (status >= 300 && status < 400) {
    const to = typeof location === 'string' ? ` to ${location.slice(0, 200)}` : '';
    return new HttpError('HttpStatus', `${where} answered ${status}, a redirect${to}; redirects are not followed`, status);
  }
  return new HttpError('HttpStatus', `${where} answered HTTP ${status}`, status);
}

/**
 * GETs a Prometheus text endpoint over the transport (bearer token, CA bundle or explicit insecureSkipVerify,
 * one deadline, size cap) and parses it while it streams in, keeping only what `limits` allow (see
 * PromTextParser). Rejects with a ScrapeError whose reason becomes the component's Unknown reason.
 */
export async function scrape(t: ScrapeTarget, limits: ParseLimits = {}): Promise<ParseResult> {
  let url: URL;
  try {
    url = new URL(t.url);
  } catch {
    throw new ScrapeError('MetricsUnreachable', `not a URL: ${t.url.slice(0, 200)}`);
  }
  if (t.token !== undefined && !headerSafe(t.token)) {
    throw new ScrapeError('MetricsUnauthorized', TOKEN_NOT_SENDABLE);
  }
  const parser = new PromTextParser(limits);
  try {
    const res = await fetchLines({
      url, ...(t.token ? { token: t.token } : {}), headers: { Accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1' },
      tls: { insecureSkipVerify: t.insecureSkipVerify ?? false, caBundle: t.caBundle, serverName: t.serverName },
      timeoutMs: t.timeoutMs, maxBytes: t.maxBytes, errorBodyBytes: 0,
    }, (line) => { parser.line(line); }, {
      maxLineChars: limits.maxLineLength ?? 65_536, longLines: 'skip', onLongLine: () => { parser.longLine(); },
    });
    if (!isOk(res.status)) throw statusError(res.status, res.headers.location, url);
  } catch (err) {
    throw scrapeFailure(err, url.host);
  }
  const parsed = parser.result();
  if (parsed.samples.length === 0 && parsed.ignored === 0 && parsed.skipped > 0) {
    throw new ScrapeError('MetricsInvalid', `${url.host} sent no parsable samples (${parsed.skipped} bad lines)`);
  }
  return parsed;
}
