/** Exponential backoff with full jitter in [d/2, d]: initial, ×2 per failure, capped at max. */
export class Backoff {
  private failures = 0;
  constructor(
    private readonly initialMs = 1000,
    private readonly maxMs = 30_000,
    private readonly random = Math.random,
  ) {}

  next(): number {
    const d = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return Math.round(d / 2 + (d / 2) * this.random());
  }

  reset(): void {
    this.failures = 0;
  }
}

/** Sleeps `ms`, resolving early (false) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolveSleep) => {
    if (signal?.aborted) {
      resolveSleep(false);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      resolveSleep(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolveSleep(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
