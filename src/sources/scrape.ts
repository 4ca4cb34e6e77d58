import { fetchLines, HttpError, HttpStatusError, isOk } from '../runtime/http.js';
import { type ParseLimits, type ParseResult, PromTextParser } from './promtext.js';

export type ScrapeFailure =
  'MetricsUnreachable' | 'MetricsUnauthorized' | 'MetricsResponseTooLarge' | 'MetricsInvalid' | 'PrometheusQueryFailed';

export class ScrapeError extends Error {
  constructor(
    readonly reason: ScrapeFailure,
    message: string,
  ) {
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

/** What failed: a /metrics scrape, or a Prometheus query. */
export type ScrapeSource = 'metrics' | 'prometheus';

/**
 * The one mapping from a transport failure to the reason a condition shows. A token that cannot be sent is
 * MetricsUnauthorized; any other failure of a Prometheus query PrometheusQueryFailed; of a scrape by kind
 * (TooLarge, Invalid, HTTP 401/403, else MetricsUnreachable). The message names the host.
 */
export function scrapeFailure(err: unknown, host: string, source: ScrapeSource = 'metrics'): ScrapeError {
  if (err instanceof ScrapeError) return err;
  const text = err instanceof Error ? err.message : String(err);
  const message = (text.includes(host) ? text : `${host}: ${text}`).slice(0, 1000);
  const http = err instanceof HttpError ? err : undefined;
  if (http?.reason === 'BadToken') return new ScrapeError('MetricsUnauthorized', message);
  if (source === 'prometheus') return new ScrapeError('PrometheusQueryFailed', message);
  switch (http?.reason) {
    case 'TooLarge':
      return new ScrapeError('MetricsResponseTooLarge', message);
    case 'Invalid':
      return new ScrapeError('MetricsInvalid', message);
    case 'HttpStatus':
      return new ScrapeError(http.status === 401 || http.status === 403 ? 'MetricsUnauthorized' : 'MetricsUnreachable', message);
    default:
      return new ScrapeError('MetricsUnreachable', message);
  }
}

function statusError(status: number, location: string | string[] | undefined, url: URL): HttpStatusError {
  const where = `${url.host}${url.pathname}`;
  if (status === 401 || status === 403) {
    return new HttpStatusError(status, `${url.host} answered ${status}: the token may not get ${url.pathname}`);
  }
  if (status >= 300 && status < 400) {
    const to = typeof location === 'string' ? ` to ${location.slice(0, 200)}` : '';
    return new HttpStatusError(status, `${where} answered ${status}, a redirect${to}; redirects are not followed`);
  }
  return new HttpStatusError(status, `${where} answered HTTP ${status}`);
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
  const parser = new PromTextParser(limits);
  try {
    const res = await fetchLines(
      {
        url,
        ...(t.token ? { token: t.token } : {}),
        headers: { Accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1' },
        tls: { insecureSkipVerify: t.insecureSkipVerify ?? false, caBundle: t.caBundle, serverName: t.serverName },
        timeoutMs: t.timeoutMs,
        maxBytes: t.maxBytes,
        errorBodyBytes: 0,
      },
      (line) => {
        parser.line(line);
      },
      {
        maxLineChars: limits.maxLineLength ?? 65_536,
        longLines: 'skip',
        onLongLine: () => {
          parser.longLine();
        },
      },
    );
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
