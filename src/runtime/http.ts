import {
  type ClientRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request as plainRequest,
  validateHeaderValue,
} from 'node:http';
import { request as tlsRequest, type RequestOptions } from 'node:https';
import { StringDecoder } from 'node:string_decoder';
import { apiLimiter } from './api-limit.js';
import type { KubeConfig } from './kubeconfig.js';

/**
 * The one HTTP transport under every client of the operator (API server requests and watches, /metrics scrapes,
 * PromQL queries), like client-go's rest.Client: TLS from a kubeconfig or a spec, a bearer token, one deadline
 * for connect + headers + body, a size cap enforced while reading, redirects never followed, and on every
 * failure path (error, oversize, timeout, abort, a non-2xx body longer than we keep) the response and its socket
 * are destroyed. API server requests (with a kubeconfig) first wait for their kubeconfig's rate limit (see
 * api-limit.ts). Failures are HttpError with a machine-readable reason.
 */
export type HttpFailure = 'Unreachable' | 'Timeout' | 'TooLarge' | 'HttpStatus' | 'Invalid' | 'BadRequest' | 'BadToken' | 'Aborted';

export class HttpError extends Error {
  constructor(
    readonly reason: HttpFailure,
    message: string,
    readonly status = 0,
    readonly body = '',
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The one error for a non-2xx answer (reason HttpStatus). The informer, status writer and leader election branch on `status`. */
export class HttpStatusError extends HttpError {
  constructor(status: number, message: string, body = '') {
    super('HttpStatus', message, status, body);
  }
}

export interface TlsSpec {
  caBundle?: string;
  insecureSkipVerify?: boolean;
  serverName?: string;
}

export interface HttpCall {
  /** Absolute, or relative to the kubeconfig's server when `kubeconfig` is set. */
  url: string | URL;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  token?: string;
  /** TLS, credentials, a relative URL's base and the request rate limit from a kubeconfig... */
  kubeconfig?: KubeConfig;
  /** ...or TLS from a spec. Either way a fresh connection per call unless the kubeconfig brings an agent. */
  tls?: TlsSpec;
  /** Not held by the kubeconfig's request limit: leader election, whose lease must not wait behind other traffic. */
  unlimited?: boolean;
  /** One deadline from the request to the last byte (connect + headers + body). */
  timeoutMs?: number;
  /** Fails when no byte arrives for this long (connect and headers included): for streams without a deadline. */
  idleMs?: number;
  /** Cap on a 2xx body, enforced while reading. */
  maxBytes: number;
  /**
   * Read at most about this many bytes of a 2xx body a second (at least one chunk): beyond it the response is paused
   * until the next second, so TCP pushes back on the sender instead of us buffering (e.g. a log stream per container).
   */
  maxBytesPerSecond?: number;
  /** How much of a non-2xx body to keep (default 4 KiB); the connection is destroyed instead of reading the rest. */
  errorBodyBytes?: number;
  /** Called once the status line and headers arrived (a stream that may stay quiet is then known to be open). */
  onResponse?: (status: number) => void;
  signal?: AbortSignal;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The 2xx body (buffered calls) or the first errorBodyBytes of a non-2xx body. */
  body: string;
}

/** Whether a string can be sent as an HTTP header value (no newline or other control character). */
export function headerSafe(value: string): boolean {
  try {
    validateHeaderValue('x', value);
    return true;
  } catch {
    return false;
  }
}

export function isOk(status: number): boolean {
  return status >= 200 && status < 300;
}

/** Receives a 2xx body chunk by chunk; may throw to fail the call (the error is passed through as is). */
interface Sink {
  push(chunk: Buffer): void;
  end(): string;
}

/** A buffered call: resolves with any status; a 2xx body over maxBytes fails with TooLarge. */
export function fetchText(call: HttpCall): Promise<HttpAnswer> {
  const parts: Buffer[] = [];
  let size = 0;
  return exchange(call, {
    push: (c) => {
      parts.push(c);
      size += c.length;
    },
    end: () => Buffer.concat(parts, size).toString('utf8'),
  });
}

export interface LineOptions {
  maxLineChars: number;
  /** 'fail': a longer line fails the call (TooLarge); 'skip': it is dropped and onLongLine is called. */
  longLines: 'fail' | 'skip';
  onLongLine?: () => void;
}

/** A streamed call: a 2xx body is handed to onLine line by line (never held whole); resolves at its end. */
export function fetchLines(call: HttpCall, onLine: (line: string) => void, opts: LineOptions): Promise<HttpAnswer> {
  const split = new LineSplitter(onLine, opts);
  return exchange(call, {
    push: (c) => {
      split.push(c);
    },
    end: () => {
      split.end();
      return '';
    },
  });
}

/**
 * Splits a byte stream into UTF-8 lines on '\n' (a character split across chunks stays whole); holds at most
 * maxLineChars of an unfinished line. A line is a slice of its decoded chunk: a consumer keeping part of it must
 * copy that part, or the slice keeps the whole chunk alive.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private skipping = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly opts: LineOptions,
  ) {}

  push(chunk: Buffer): void {
    this.text(this.decoder.write(chunk));
  }

  end(): void {
    this.text(this.decoder.end());
    if (this.pending !== '') this.flush();
    this.skipping = false;
  }

  private text(s: string): void {
    let start = 0;
    let nl = s.indexOf('\n');
    while (nl >= 0) {
      this.add(s, start, nl);
      this.flush();
      start = nl + 1;
      nl = s.indexOf('\n', start);
    }
    this.add(s, start, s.length);
  }

  private add(s: string, from: number, to: number): void {
    if (this.skipping || from === to) return;
    if (this.pending.length + to - from > this.opts.maxLineChars) {
      if (this.opts.longLines === 'fail') throw new HttpError('TooLarge', `a line is longer than ${this.opts.maxLineChars} characters`);
      this.skipping = true;
      this.pending = '';
      this.opts.onLongLine?.();
      return;
    }
    this.pending = this.pending === '' ? s.slice(from, to) : this.pending + s.slice(from, to);
  }

  private flush(): void {
    const line = this.pending;
    const skipped = this.skipping;
    this.pending = '';
    this.skipping = false;
    if (!skipped) this.onLine(line);
  }
}

const TOKEN_NOT_SENDABLE = 'the bearer token contains characters not allowed in an HTTP header (a newline or control character)';

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function options(call: HttpCall): Promise<{ url: URL; opts: RequestOptions }> {
  let url: URL;
  const base = call.kubeconfig?.getCurrentCluster()?.server;
  try {
    url = typeof call.url === 'string' ? new URL(call.url, base) : call.url;
  } catch {
    throw new HttpError('BadRequest', `not a URL: ${String(call.url).slice(0, 200)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HttpError('BadRequest', `unsupported protocol ${url.protocol}`);
  if (call.token !== undefined && !headerSafe(call.token)) throw new HttpError('BadToken', TOKEN_NOT_SENDABLE);
  const headers: Record<string, string> = { Accept: '*/*', 'User-Agent': 'kaiwo-monitor', ...call.headers };
  if (call.token !== undefined) headers.Authorization = `Bearer ${call.token}`;
  if (call.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(call.body));
  for (const [k, v] of Object.entries(headers)) {
    if (!headerSafe(v)) throw new HttpError('BadRequest', `header ${k} contains a newline or other character not allowed in HTTP`);
  }
  const opts: RequestOptions = { method: call.method ?? 'GET', headers };
  if (call.kubeconfig) {
    if (!base) throw new HttpError('BadRequest', 'kubeconfig has no current cluster');
    try {
      await call.kubeconfig.applyToHTTPSOptions(opts);
    } catch (e) {
      throw new HttpError('BadRequest', `kubeconfig credentials: ${describe(e)}`);
    }
  } else {
    opts.agent = false; // a fresh connection, closed after the answer: nothing pooled to leak
    const t = call.tls ?? {};
    opts.rejectUnauthorized = !t.insecureSkipVerify;
    if (t.caBundle) opts.ca = t.caBundle;
    if (t.serverName) opts.servername = t.serverName;
  }
  return { url, opts };
}

/** Maps a socket/parser error to a reason; errors we raised ourselves pass through. */
function wrap(e: unknown, host: string): Error {
  if (e instanceof HttpError) return e;
  const code = (e as { code?: string } | undefined)?.code ?? '';
  if (code.startsWith('HPE_')) return new HttpError('Invalid', `${host}: malformed HTTP answer (${code})`);
  return new HttpError('Unreachable', `${host}: ${describe(e)}`);
}

const notSent = () => new HttpError('Aborted', 'aborted before the request was sent');

/** Settles like `p`, or rejects with Aborted as soon as `signal` aborts (`p` then runs on, its outcome ignored). */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(notSent());
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      reject(notSent());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([p, aborted]).finally(() => {
    signal.removeEventListener('abort', onAbort);
  });
}

async function exchange(call: HttpCall, sink: Sink): Promise<HttpAnswer> {
  const signal = call.signal;
  // Nothing is sent once the signal aborted: each await before sending ends at an abort, and is checked after.
  const limiter = call.kubeconfig && !call.unlimited ? apiLimiter(call.kubeconfig) : undefined;
  if (signal?.aborted || (limiter && !(await limiter.wait(signal)))) throw notSent();
  const { url, opts } = await unlessAborted(options(call), signal);
  if (signal?.aborted) throw notSent();
  const host = url.host;
  const send = url.protocol === 'http:' ? plainRequest : tlsRequest;
  const errorBodyBytes = call.errorBodyBytes ?? 4096;
  return new Promise<HttpAnswer>((resolve, reject) => {
    let req: ClientRequest;
    try {
      req = send(url, opts);
    } catch (e) {
      reject(new HttpError('BadRequest', `${host}: ${describe(e)}`));
      return;
    }
    let res: IncomingMessage | undefined;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (err: Error | undefined, answer?: HttpAnswer, destroy = false) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      signal?.removeEventListener('abort', onAbort);
      if (err || destroy) {
        res?.destroy();
        req.destroy();
      }
      if (err) reject(err);
      else if (answer) resolve(answer);
    };
    const onAbort = () => {
      finish(new HttpError('Aborted', `${host}: aborted`));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (call.timeoutMs !== undefined) {
      const ms = call.timeoutMs;
      timers.push(
        setTimeout(() => {
          finish(new HttpError('Timeout', `no complete answer from ${host} within ${ms} ms`));
        }, ms),
      );
    }
    let idle: NodeJS.Timeout | undefined;
    if (call.idleMs !== undefined) {
      const ms = call.idleMs;
      idle = setTimeout(() => {
        finish(new HttpError('Timeout', `no data from ${host} for ${ms} ms`));
      }, ms);
      timers.push(idle);
    }
    req.on('error', (e) => {
      finish(wrap(e, host));
    });
    req.on('response', (r) => {
      res = r;
      idle?.refresh();
      const status = r.statusCode ?? 0;
      const answer = (body: string): HttpAnswer => ({ status, headers: r.headers, body });
      call.onResponse?.(status);
      let ended = false;
      r.on('error', (e) => {
        finish(wrap(e, host));
      });
      r.on('close', () => {
        if (!ended) finish(new HttpError('Unreachable', `${host} closed the connection before the answer was complete`));
      });
      if (!isOk(status)) {
        // Keep a little of an error body for the message; never drain the rest (it may never end).
        const parts: Buffer[] = [];
        let size = 0;
        r.on('data', (c: Buffer) => {
          if (settled) return;
          idle?.refresh();
          const room = errorBodyBytes - size;
          parts.push(c.length > room ? c.subarray(0, room) : c);
          size += Math.min(c.length, room);
          if (c.length >= room) finish(undefined, answer(Buffer.concat(parts, size).toString('utf8')), true);
        });
        r.on('end', () => {
          ended = true;
          finish(undefined, answer(Buffer.concat(parts, size).toString('utf8')));
        });
        return;
      }
      let size = 0;
      const rate = call.maxBytesPerSecond;
      let second = Date.now();
      let inSecond = 0;
      r.on('data', (c: Buffer) => {
        if (settled) return;
        idle?.refresh();
        size += c.length;
        if (size > call.maxBytes) {
          finish(new HttpError('TooLarge', `${host} sent more than ${call.maxBytes} bytes`));
          return;
        }
        try {
          sink.push(c);
        } catch (e) {
          finish(e instanceof Error ? e : new Error(String(e)));
          return;
        }
        if (rate === undefined) return;
        const now = Date.now();
        if (now - second >= 1000) {
          second = now;
          inSecond = 0;
        }
        inSecond += c.length;
        if (inSecond < rate) return;
        r.pause();
        const t = setTimeout(
          () => {
            timers.splice(timers.indexOf(t), 1);
            second = Date.now();
            inSecond = 0;
            if (!settled) r.resume();
          },
          Math.max(1, 1000 - (now - second)),
        );
        timers.push(t);
      });
      r.on('end', () => {
        ended = true;
        if (settled) return;
        let body: string;
        try {
          body = sink.end();
        } catch (e) {
          finish(e instanceof Error ? e : new Error(String(e)));
          return;
        }
        finish(undefined, answer(body));
      });
    });
    req.end(call.body);
  });
}
