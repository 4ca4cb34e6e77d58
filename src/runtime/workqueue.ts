/** Per-item exponential backoff: base × 2^failures, capped (controller-runtime: 5 ms → 1000 s). */
export class ItemBackoff {
  private readonly failures = new Map<string, number>();
  constructor(
    private readonly baseMs = 100,
    private readonly maxMs = 300_000,
  ) {}

  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return Math.min(this.maxMs, this.baseMs * 2 ** Math.min(n, 40));
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }
}

export interface ReconcileResult {
  /** Reconcile again after this many milliseconds (0 = as soon as possible). */
  requeueAfterMs?: number;
}

/** Time for delayed adds: the real one by default, a manual one in tests. */
export interface Clock {
  now(): number;
  /** Calls `fn` after `ms`; the timer must not keep the process alive. Returns a cancel function. */
  after(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => {
      clearTimeout(timer);
    };
  },
};

export interface WorkQueueHooks {
  onDepth?: (depth: number) => void;
  onAdd?: () => void;
  onRetry?: () => void;
  onResult?: (key: string, result: 'success' | 'error' | 'requeue_after', seconds: number, error?: unknown) => void;
}

/**
 * A dedup work queue of string keys with client-go's guarantees: a key is queued at most once, at most one
 * worker handles a key at a time (an add during processing re-queues it afterwards), N workers, per-key
 * exponential retry on error, and delayed adds for requeueAfter (the earliest pending delay wins).
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly timers = new Map<string, { at: number; cancel: () => void }>();
  private waiting: (() => void)[] = [];
  private workers: Promise<void>[] = [];
  private shuttingDown = false;
  readonly backoff: ItemBackoff;
  private readonly clock: Clock;

  constructor(
    private readonly handler: (key: string) => Promise<ReconcileResult>,
    private readonly opts: { concurrency?: number; baseDelayMs?: number; maxDelayMs?: number; hooks?: WorkQueueHooks; clock?: Clock } = {},
  ) {
    this.backoff = new ItemBackoff(opts.baseDelayMs ?? 100, opts.maxDelayMs ?? 300_000);
    this.clock = opts.clock ?? systemClock;
  }

  get depth(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.opts.hooks?.onAdd?.();
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.opts.hooks?.onDepth?.(this.queue.length);
    this.wake();
  }

  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    existing?.cancel();
    const cancel = this.clock.after(ms, () => {
      this.timers.delete(key);
      this.add(key);
    });
    this.timers.set(key, { at, cancel });
  }

  addRateLimited(key: string): void {
    this.opts.hooks?.onRetry?.();
    this.addAfter(key, this.backoff.when(key));
  }

  forget(key: string): void {
    this.backoff.forget(key);
  }

  start(): void {
    if (this.workers.length) return;
    for (let i = 0; i < (this.opts.concurrency ?? 1); i++) this.workers.push(this.work());
  }

  /** Stops taking new keys, lets in-flight reconciles finish. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const { cancel } of this.timers.values()) cancel();
    this.timers.clear();
    this.queue.length = 0;
    this.dirty.clear();
    this.wake(true);
    await Promise.all(this.workers);
    this.workers = [];
  }

  private wake(all = false): void {
    const w = all ? this.waiting.splice(0) : this.waiting.splice(0, 1);
    for (const f of w) f();
  }

  private async next(): Promise<string | undefined> {
    while (!this.shuttingDown) {
      const key = this.queue.shift();
      if (key !== undefined) {
        this.opts.hooks?.onDepth?.(this.queue.length);
        return key;
      }
      await new Promise<void>((r) => this.waiting.push(r));
    }
    return undefined;
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.next();
      if (key === undefined) return;
      this.dirty.delete(key);
      this.processing.add(key);
      const started = performance.now();
      try {
        const res = await this.handler(key);
        const secs = (performance.now() - started) / 1000;
        this.forget(key);
        if (res.requeueAfterMs !== undefined) {
          this.opts.hooks?.onResult?.(key, 'requeue_after', secs);
          this.addAfter(key, res.requeueAfterMs);
        } else {
          this.opts.hooks?.onResult?.(key, 'success', secs);
        }
      } catch (err) {
        this.opts.hooks?.onResult?.(key, 'error', (performance.now() - started) / 1000, err);
        this.addRateLimited(key);
      } finally {
        this.processing.delete(key);
        if (this.dirty.has(key) && !this.shuttingDown) {
          this.queue.push(key);
          this.opts.hooks?.onDepth?.(this.queue.length);
          this.wake();
        }
      }
    }
  }
}
