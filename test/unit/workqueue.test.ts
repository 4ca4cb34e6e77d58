import { expect } from 'chai';
import { ItemBackoff, WorkQueue } from '../../src/runtime/workqueue.js';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('work queue', () => {
  it('deduplicates keys that are queued but not yet processed', async () => {
    const seen: string[] = [];
    const q = new WorkQueue((k) => { seen.push(k); return Promise.resolve({}); });
    q.add('a');
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.depth).to.equal(2);
    q.start();
    await tick(20);
    expect(seen).to.deep.equal(['a', 'b']);
    await q.shutdown();
  });

  it('never runs one key twice at once; an add while processing re-queues it afterwards', async () => {
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    let release: () => void = () => undefined;
    const q = new WorkQueue(async () => {
      calls++;
      running++;
      maxRunning = Math.max(maxRunning, running);
      if (calls === 1) await new Promise<void>((r) => { release = r; });
      running--;
      return {};
    }, { concurrency: 4 });
    q.start();
    q.add('k');
    await tick();
    q.add('k');
    q.add('k');
    await tick();
    expect(calls).to.equal(1);
    release();
    await tick(20);
    expect(calls).to.equal(2);
    expect(maxRunning).to.equal(1);
    await q.shutdown();
  });

  it('runs different keys concurrently up to the limit', async () => {
    let running = 0;
    let maxRunning = 0;
    const q = new WorkQueue(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await tick(20);
      running--;
      return {};
    }, { concurrency: 3 });
    q.start();
    for (const k of ['a', 'b', 'c', 'd', 'e']) q.add(k);
    await tick(80);
    expect(maxRunning).to.equal(3);
    await q.shutdown();
  });

  it('retries failures with per-key exponential backoff and forgets on success', async () => {
    const times: number[] = [];
    const q = new WorkQueue(() => {
      times.push(Date.now());
      if (times.length < 4) return Promise.reject(new Error('boom'));
      return Promise.resolve({});
    }, { baseDelayMs: 10, maxDelayMs: 1000 });
    q.start();
    q.add('k');
    await tick(200);
    expect(times).to.have.length(4);
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    expect(gaps[0]).to.be.at.least(9);
    expect(gaps[1]).to.be.at.least(19);
    expect(gaps[2]).to.be.at.least(39);
    expect(q.backoff.failuresOf('k')).to.equal(0);
    await q.shutdown();
  });

  it('requeueAfter re-runs the key later; the earliest pending delay wins', async () => {
    const times: number[] = [];
    const start = Date.now();
    const q = new WorkQueue(() => {
      times.push(Date.now() - start);
      return Promise.resolve(times.length === 1 ? { requeueAfterMs: 40 } : {});
    });
    q.start();
    q.add('k');
    await tick(10);
    q.addAfter('k', 500);
    await tick(80);
    expect(times).to.have.length(2);
    expect(times[1]).to.be.within(35, 200);
    q.addAfter('x', 1000);
    q.addAfter('x', 10);
    await tick(40);
    expect(times).to.have.length(3);
    await q.shutdown();
  });

  it('caps the per-item backoff', () => {
    const b = new ItemBackoff(100, 1000);
    expect([b.when('k'), b.when('k'), b.when('k'), b.when('k'), b.when('k')]).to.deep.equal([100, 200, 400, 800, 1000]);
    b.forget('k');
    expect(b.when('k')).to.equal(100);
  });
});
