import type { Clock } from '../../src/runtime/workqueue.js';

/** A clock that only moves when told to: `advance(ms)` fires every timer due by then, in due order. */
export class ManualClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): () => void {
    const id = this.seq++;
    this.timers.set(id, { at: this.t + ms, fn });
    return () => {
      this.timers.delete(id);
    };
  }

  /** Timers not yet fired, as delays from now (sorted). */
  get pendingDelays(): number[] {
    return [...this.timers.values()].map((x) => x.at - this.t).sort((a, b) => a - b);
  }

  /** Moves time forward by `ms`, firing due timers one by one and letting their async work settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, x]) => x.at <= end).sort(([a, x], [b, y]) => x.at - y.at || a - b)[0];
      if (!due) break;
      const [id, timer] = due;
      this.timers.delete(id);
      this.t = timer.at;
      timer.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }
}

/** Lets every promise chain started so far run to completion (one macrotask turn). */
export function settle(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
