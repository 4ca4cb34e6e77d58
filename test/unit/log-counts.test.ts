import { expect } from 'chai';
import type { LogErrorLine } from '../../src/checks/types.js';
import { countLine, countsInWindow, type LogCounts, MAX_CONTROLLERS, NO_COUNTS } from '../../src/controller/logs-counts.js';

const NOW = 1_000_000;
const WINDOW = 60_000;
const line = (at: number, over: Partial<LogErrorLine> = {}): LogErrorLine => ({
  at,
  pod: 'op-0',
  container: 'manager',
  error: true,
  reconcileError: false,
  message: 'boom',
  ...over,
});
const reconcile = (at: number, controller?: string) => line(at, { reconcileError: true, ...(controller ? { controller } : {}) });
const count = (lines: LogErrorLine[], now = NOW, from: LogCounts = NO_COUNTS) => lines.reduce((c, l) => countLine(c, l, now, WINDOW), from);

describe('log counts (per second, pure)', () => {
  it('counts error lines and Reconciler errors by controller into their second, oldest second first', () => {
    const c = count([
      reconcile(NOW - 2500, 'kaiwojob'),
      line(NOW - 2100),
      reconcile(NOW - 5000, 'kaiwojob'),
      line(NOW - 2999, { error: false, reconcileError: true, controller: 'x' }),
    ]);
    expect(c.buckets).to.deep.equal([
      { at: NOW - 5000, errors: 1, reconcileErrors: { kaiwojob: 1 } },
      { at: NOW - 3000, errors: 2, reconcileErrors: { kaiwojob: 1, x: 1 } },
    ]);
  });

  it('returns new counts and leaves the old ones as they were', () => {
    const one = count([line(NOW - 1000)]);
    const two = countLine(one, line(NOW - 1000), NOW, WINDOW);
    expect(one.buckets[0]?.errors).to.equal(1);
    expect(two.buckets[0]?.errors).to.equal(2);
    expect(two).to.not.equal(one);
  });

  it('ignores a line outside the window (the same counts back) and drops seconds that left it', () => {
    const old = count([line(NOW - 50_000)]);
    expect(countLine(old, line(NOW - WINDOW), NOW, WINDOW)).to.equal(old);
    const later = countLine(old, line(NOW + 20_000), NOW + 20_000, WINDOW);
    expect(later.buckets.map((b) => b.at)).to.deep.equal([NOW + 20_000]);
  });

  it('keeps the last five lines, newest last', () => {
    const c = count([1, 2, 3, 4, 5, 6, 7].map((i) => line(NOW - 10_000 + i, { message: `m${i}` })));
    expect(c.last.map((l) => l.message)).to.deep.equal(['m3', 'm4', 'm5', 'm6', 'm7']);
  });

  it('counts at most 16 controllers a second by name, the rest (and unnamed ones) as other', () => {
    const names = Array.from({ length: MAX_CONTROLLERS + 2 }, (_, i) => `c${i}`);
    const c = count([...names.map((n) => reconcile(NOW - 100, n)), reconcile(NOW - 100, 'c0'), reconcile(NOW - 100)]);
    const counted = c.buckets[0]?.reconcileErrors ?? {};
    expect(Object.keys(counted)).to.have.length(MAX_CONTROLLERS + 1);
    expect(counted).to.include({ c0: 2, other: 3 });
  });

  it('countsInWindow: what is still within the window at a later time', () => {
    const c = count([line(NOW - 50_000), line(NOW - 1000)]);
    const later = countsInWindow(c, NOW + 15_000, WINDOW);
    expect(later.buckets.map((b) => b.at)).to.deep.equal([NOW - 1000]);
    expect(later.last.map((l) => l.at)).to.deep.equal([NOW - 1000]);
  });
});
