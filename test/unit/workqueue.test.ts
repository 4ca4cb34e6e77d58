import { expect } from 'chai';
import { ItemBackoff, WorkQueue } from '../../src/runtime/workqueue.js';
import { ManualClock, settle } from '../support/clock.js';

/** A handler whose calls stay open until released, to observe what runs at the same time. */
function gatedHandler() {
  const open: { key: string; release: () => void }[] = [];
  const calls: string[] = [];
  let maxRunning = 0;
  const handler = (key: string) =>
    new Promise<object>((resolve) => {
      calls.push(key);
      open.push({
        key,
        release: () => {
          resolve({});
        },
      });
      maxRunning = Math.max(maxRunning, open.length);
    }).finally(() => {
      open.splice(
        open.findIndex((o) => o.key === key),
        1,
      );
    });
  return { handler, calls, open, maxRunning: () => maxRunning };
}

describe('work queue', () => {
  let q: WorkQueue | undefined;
  afterEach(async () => {
    await q?.shutdown();
    q = undefined;
  });

  it('deduplicates keys that are queued but not yet processed', async () => {
    const seen: string[] = [];
    q = new WorkQueue((k) => {
      seen.push(k);
      return Promise.resolve({});
    });
    for (const k of ['a', 'a', 'b', 'a']) q.add(k);
    expect(q.depth).to.equal(2);
    q.start();
    await settle();
    expect(seen).to.deep.equal(['a', 'b']);
    expect(q.depth).to.equal(0);
  });

  it('never runs one key twice at once; adds while processing re-queue it once afterwards', async () => {
    const h = gatedHandler();
    q = new WorkQueue(h.handler, { concurrency: 4 });
    q.start();
    q.add('k');
    await settle();
    q.add('k');
    q.add('k');
    await settle();
    expect(h.calls).to.deep.equal(['k']);
    h.open[0]?.release();
    await settle();
    expect(h.calls).to.deep.equal(['k', 'k']);
    h.open[0]?.release();
    await settle();
    expect(h.calls).to.have.length(2);
    expect(h.maxRunning()).to.equal(1);
  });

  it('runs different keys concurrently up to the limit', async () => {
    const h = gatedHandler();
    q = new WorkQueue(h.handler, { concurrency: 3 });
    q.start();
    for (const k of ['a', 'b', 'c', 'd', 'e']) q.add(k);
    await settle();
    expect(h.open.map((o) => o.key)).to.deep.equal(['a', 'b', 'c']);
    h.open[1]?.release();
    await settle();
    expect(h.open.map((o) => o.key)).to.deep.equal(['a', 'c', 'd']);
    for (const o of [...h.open]) o.release();
    await settle();
    h.open[0]?.release();
    await settle();
    expect(h.calls).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
    expect(h.maxRunning()).to.equal(3);
  });

  it('retries failures after base × 2^n and forgets the failures on success', async () => {
    const clock = new ManualClock();
    const at: number[] = [];
    q = new WorkQueue(
      () => {
        at.push(clock.now());
        return at.length < 4 ? Promise.reject(new Error('boom')) : Promise.resolve({});
      },
      { baseDelayMs: 10, maxDelayMs: 1000, clock },
    );
    q.start();
    q.add('k');
    await settle();
    expect(at).to.deep.equal([0]);
    expect(clock.pendingDelays).to.deep.equal([10]);
    await clock.advance(9);
    expect(at).to.have.length(1);
    await clock.advance(1);
    expect(at).to.deep.equal([0, 10]);
    expect(q.backoff.failuresOf('k')).to.equal(2);
    await clock.advance(100);
    expect(at).to.deep.equal([0, 10, 30, 70]);
    expect(q.backoff.failuresOf('k')).to.equal(0);
    expect(clock.pendingDelays).to.deep.equal([]);
  });

  it('requeueAfter re-runs the key later; the earliest pending delay wins', async () => {
    const clock = new ManualClock();
    const at: [string, number][] = [];
    q = new WorkQueue(
      (k) => {
        at.push([k, clock.now()]);
        return Promise.resolve(at.length === 1 ? { requeueAfterMs: 40 } : {});
      },
      { clock },
    );
    q.start();
    q.add('k');
    await settle();
    q.addAfter('k', 500); // later than the pending 40 ms: ignored
    expect(clock.pendingDelays).to.deep.equal([40]);
    await clock.advance(39);
    expect(at).to.deep.equal([['k', 0]]);
    await clock.advance(1);
    expect(at).to.deep.equal([
      ['k', 0],
      ['k', 40],
    ]);
    q.addAfter('x', 1000);
    q.addAfter('x', 10); // earlier: replaces the 1000 ms timer
    expect(clock.pendingDelays).to.deep.equal([10]);
    await clock.advance(10);
    expect(at.at(-1)).to.deep.equal(['x', 50]);
    await clock.advance(2000);
    expect(at).to.have.length(3);
  });

  it('drops pending timers and takes no new keys after shutdown', async () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    q = new WorkQueue(
      (k) => {
        seen.push(k);
        return Promise.resolve({});
      },
      { clock },
    );
    q.start();
    q.addAfter('later', 100);
    await q.shutdown();
    expect(clock.pendingDelays).to.deep.equal([]);
    q.add('now');
    await clock.advance(200);
    expect(seen).to.deep.equal([]);
  });

  it('caps the per-item backoff', () => {
    const b = new ItemBackoff(100, 1000);
    expect([b.when('k'), b.when('k'), b.when('k'), b.when('k'), b.when('k')]).to.deep.equal([100, 200, 400, 800, 1000]);
    b.forget('k');
    expect(b.when('k')).to.equal(100);
  });
});
