import type { KubeConfig } from './kubeconfig.js';
import { TokenBucket } from './token-bucket.js';
import type { Clock } from './workqueue.js';

/** A client-side limit on API server requests: `qps` a second sustained, up to `burst` at once. */
export interface ApiLimit {
  /** 0 or less: no limit. */
  qps: number;
  burst: number;
}

/**
 * controller-runtime's defaults until 2025 (client-go's own rest.Config defaults are 5 and 10; controller-runtime
 * now turns the client-side limit off and relies on the API server's priority and fairness).
 */
export const API_LIMIT_DEFAULTS: Readonly<ApiLimit> = { qps: 20, burst: 30 };

/** Monotonic time; its timers keep the process alive, since a request is waiting on them. */
const monotonic: Clock = {
  now: () => performance.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => {
      clearTimeout(timer);
    };
  },
};

interface Waiter {
  resolve: (got: boolean) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/**
 * Like client-go's token-bucket rate limiter: wait() takes a token, waiting in arrival order while the bucket is
 * empty (one timer for the whole line). It resolves true once the caller may send, false as soon as the caller's
 * signal aborts (no token taken). It never fails.
 */
export class RequestLimiter {
  private readonly bucket: TokenBucket;
  private readonly line: Waiter[] = [];
  private cancelTimer: (() => void) | undefined;

  constructor(
    limit: ApiLimit,
    private readonly clock: Clock = monotonic,
  ) {
    if (!(limit.qps > 0 && Number.isFinite(limit.qps) && Number.isInteger(limit.burst) && limit.burst >= 1)) {
      throw new Error(`API request limit needs qps > 0 and an integer burst >= 1, got qps ${limit.qps}, burst ${limit.burst}`);
    }
    this.bucket = new TokenBucket(limit.burst, 1000 / limit.qps, clock.now());
  }

  /** Callers waiting for a token. */
  get waiting(): number {
    return this.line.length;
  }

  wait(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    if (this.line.length === 0 && this.bucket.take(this.clock.now())) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const w: Waiter = {
        resolve,
        signal,
        onAbort: () => {
          this.leave(w);
        },
      };
      signal?.addEventListener('abort', w.onAbort, { once: true });
      this.line.push(w);
      this.arm();
    });
  }

  private leave(w: Waiter): void {
    const i = this.line.indexOf(w);
    if (i >= 0) this.line.splice(i, 1);
    w.resolve(false);
    if (this.line.length === 0) {
      this.cancelTimer?.();
      this.cancelTimer = undefined;
    }
  }

  private arm(): void {
    if (this.cancelTimer || this.line.length === 0) return;
    const ms = Math.max(1, Math.ceil(this.bucket.delay(this.clock.now())));
    this.cancelTimer = this.clock.after(ms, () => {
      this.cancelTimer = undefined;
      this.release();
    });
  }

  private release(): void {
    const now = this.clock.now();
    while (this.line.length > 0 && this.bucket.take(now)) {
      const w = this.line.shift();
      w?.signal?.removeEventListener('abort', w.onAbort);
      w?.resolve(true);
    }
    this.arm();
  }
}

const limiters = new WeakMap<KubeConfig, RequestLimiter | null>();

/**
 * Sets the limit on requests made with `kc` (qps 0 or less: none). Unset, requests are not limited: the operator
 * sets API_LIMIT_DEFAULTS (or its --kube-api-qps/--kube-api-burst); one-shot commands, tests and dev tools do not.
 */
export function limitApiRequests(kc: KubeConfig, limit: ApiLimit): void {
  limiters.set(kc, limit.qps <= 0 ? null : new RequestLimiter(limit));
}

/** The limiter every request made with `kc` waits on (undefined: not limited). */
export function apiLimiter(kc: KubeConfig): RequestLimiter | undefined {
  return limiters.get(kc) ?? undefined;
}
