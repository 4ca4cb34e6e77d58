import { fetchText, type HttpAnswer, isOk } from '../runtime/http.js';
import { isRecord } from '../runtime/objects.js';
import { PARSE_DEFAULTS, parseValue, type Sample, sampleBytes } from './promtext.js';
import { ScrapeError, scrapeFailure } from './scrape.js';

export interface PromQuery {
  url: string;
  query: string;
  timeoutMs: number;
  maxBytes: number;
  caBundle?: string;
  insecureSkipVerify?: boolean;
  serverName?: string;
  token?: string;
}

export interface DecodeLimits {
  maxSamples?: number;
  maxLabels?: number;
  maxLabelValueLength?: number;
  /** Stop keeping samples once their estimated size (promtext's sampleBytes) passes this. */
  maxKeptBytes?: number;
  /** Accepted sample values, inclusive; anything else (NaN and ±Inf included) fails the query. */
  min?: number;
  max?: number;
}

export interface QueryResult {
  samples: Sample[];
  truncated: boolean;
  longLabels: number;
  bytes: number;
}

/** Values a status can carry as an int64 and a float without loss; utilization and counts live well inside. */
export const VALUE_RANGE = { min: 0, max: Number.MAX_SAFE_INTEGER } as const;

const show = (x: unknown) => {
  if (typeof x === 'string') return JSON.stringify(x.slice(0, 40));
  return Array.isArray(x) ? 'an array' : x === null ? 'null' : typeof x;
};

function seriesName(metric: Record<string, unknown>): string {
  const pick = ['__name__', 'namespace', 'pod', 'gpu_id', 'gpu'].flatMap((k) => {
    const v = metric[k];
    return typeof v === 'string' ? [`${k}="${v.slice(0, 60)}"`] : [];
  });
  return `{${pick.join(',')}}`;
}

/**
 * The one validating decoder for Prometheus /api/v1/query answers: checks the whole shape, accepts only an
 * instant vector of float samples with finite values in [min, max], and keeps at most maxSamples (then
 * `truncated`). Throws Error with a specific message on anything else; never returns a half-checked value.
 */
export function decodeInstantVector(body: unknown, limits: DecodeLimits = {}): QueryResult {
  const steps = decodeSteps(body, limits);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** decodeInstantVector giving the event loop a turn every SERIES_PER_TURN series (a 50k-series answer is no one long task). */
export async function decodeInstantVectorAsync(body: unknown, limits: DecodeLimits = {}): Promise<QueryResult> {
  const steps = decodeSteps(body, limits);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await new Promise<void>((r) => {
      setImmediate(r);
    });
  }
}

const SERIES_PER_TURN = 2000;

function* decodeSteps(body: unknown, limits: DecodeLimits): Generator<undefined, QueryResult> {
  const maxSamples = limits.maxSamples ?? PARSE_DEFAULTS.maxSamples;
  const maxLabels = limits.maxLabels ?? PARSE_DEFAULTS.maxLabels;
  const maxValue = limits.maxLabelValueLength ?? PARSE_DEFAULTS.maxLabelValueLength;
  const maxKeptBytes = limits.maxKeptBytes ?? PARSE_DEFAULTS.maxKeptBytes;
  const min = limits.min ?? VALUE_RANGE.min;
  const max = limits.max ?? VALUE_RANGE.max;
  if (!isRecord(body)) throw new Error(`the answer is ${show(body)}, not a Prometheus API object`);
  if (body.status === 'error') {
    const kind = typeof body.errorType === 'string' ? `${body.errorType.slice(0, 40)}: ` : '';
    throw new Error(`query failed: ${kind}${typeof body.error === 'string' ? body.error.slice(0, 300) : 'no error message'}`);
  }
  if (body.status !== 'success') throw new Error(`the answer's status is ${show(body.status)}, not "success"`);
  const data = body.data;
  if (!isRecord(data)) throw new Error(`the answer's data is ${show(data)}, not an object`);
  if (data.resultType !== 'vector') throw new Error(`query must return an instant vector, got ${show(data.resultType)}`);
  const result = data.result;
  if (!Array.isArray(result)) throw new Error(`data.result is ${show(result)}, not an array`);
  const samples: Sample[] = [];
  let truncated = false;
  let longLabels = 0;
  let bytes = 0;
  for (let i = 0; i < result.length; i++) {
    if (i > 0 && i % SERIES_PER_TURN === 0) yield;
    const r: unknown = result[i];
    if (!isRecord(r)) throw new Error(`result[${i}] is ${show(r)}, not a series`);
    const metric = r.metric ?? {};
    if (!isRecord(metric)) throw new Error(`result[${i}].metric is ${show(metric)}, not an object`);
    const v = r.value;
    if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'number' || typeof v[1] !== 'string') {
      throw new Error(`result[${i}] ${seriesName(metric)}: value is ${show(v)}, not [time, "number"] (no histogram samples)`);
    }
    const value = parseValue(v[1]);
    if (value === undefined) throw new Error(`result[${i}] ${seriesName(metric)}: value ${show(v[1])} is not a number`);
    if (!Number.isFinite(value) || value < min || value > max) {
      throw new Error(`result[${i}] ${seriesName(metric)}: value ${v[1].slice(0, 40)} is outside [${min}, ${max}]`);
    }
    const labels: Record<string, string> = Object.create(null) as Record<string, string>;
    let count = 0;
    let chars = 0;
    for (const [k, lv] of Object.entries(metric)) {
      if (typeof lv !== 'string') throw new Error(`result[${i}].metric.${k.slice(0, 40)} is ${show(lv)}, not a string`);
      if (++count > maxLabels) throw new Error(`result[${i}] has more than ${maxLabels} labels`);
      if (lv.length > maxValue) {
        longLabels++;
        continue;
      }
      labels[k] = lv;
      chars += k.length + lv.length;
    }
    const size = sampleBytes(chars, count);
    if (truncated || samples.length >= maxSamples || bytes + size > maxKeptBytes) {
      truncated = true;
      continue;
    }
    bytes += size;
    samples.push({ name: labels.__name__ ?? '', labels, value });
  }
  return { samples, truncated, longLabels, bytes };
}

/** Instant query against a Prometheus HTTP API (/api/v1/query) over the transport; the answer goes through decodeInstantVector. */
export async function instantQuery(q: PromQuery, limits: DecodeLimits = {}): Promise<QueryResult> {
  let url: URL;
  try {
    url = new URL('api/v1/query', q.url.endsWith('/') ? q.url : `${q.url}/`);
  } catch {
    throw new ScrapeError('PrometheusQueryFailed', `not a URL: ${q.url.slice(0, 200)}`);
  }
  url.searchParams.set('query', q.query);
  url.searchParams.set('timeout', `${Math.max(1, Math.floor(q.timeoutMs / 1000))}s`);
  const fail = (message: string) => new ScrapeError('PrometheusQueryFailed', `${url.host}: ${message}`);
  let res: HttpAnswer;
  try {
    res = await fetchText({
      url,
      ...(q.token ? { token: q.token } : {}),
      headers: { Accept: 'application/json' },
      tls: { insecureSkipVerify: q.insecureSkipVerify ?? false, caBundle: q.caBundle, serverName: q.serverName },
      timeoutMs: q.timeoutMs,
      maxBytes: q.maxBytes,
      errorBodyBytes: 4096,
    });
  } catch (err) {
    throw scrapeFailure(err, url.host, 'prometheus');
  }
  const { status, body: text } = res;
  if (status >= 300 && status < 400) throw fail(`answered ${status}, a redirect; redirects are not followed: use the final address`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw fail(`HTTP ${status}, not a Prometheus API answer (not JSON${isOk(status) ? ', or truncated' : ''})`);
  }
  try {
    if (!isOk(status) && !(isRecord(body) && body.status === 'error')) throw new Error(`HTTP ${status}`);
    return await decodeInstantVectorAsync(body, limits);
  } catch (err) {
    throw fail(err instanceof Error ? err.message : String(err));
  }
}
