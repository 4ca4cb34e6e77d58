import { expect } from 'chai';
import { KeyedLimiter, microTime, TokenBucket } from '../../src/runtime/events.js';

describe('event rate limiting (client-go parity: burst 25, then 1 per 5 minutes)', () => {
  it('allows a burst of 25, then one per 5 minutes', () => {
    const b = new TokenBucket(25, 300_000, 0);
    let allowed = 0;
    for (let i = 0; i < 100; i++) if (b.take(0)) allowed++;
    expect(allowed).to.equal(25);
    expect(b.take(299_000)).to.equal(false);
    expect(b.take(300_500)).to.equal(true);
    expect(b.take(300_600)).to.equal(false);
  });

  it('limits per key, independently, and bounds the number of keys', () => {
    const l = new KeyedLimiter(2, 300_000, 3);
    expect([l.allow('a', 0), l.allow('a', 0), l.allow('a', 0)]).to.deep.equal([true, true, false]);
    expect(l.allow('b', 0)).to.equal(true);
    l.allow('c', 0);
    l.allow('d', 0); // evicts the least recently used key, 'a'
    expect(l.allow('a', 0)).to.equal(true);
  });

  it('formats MicroTime with six fractional digits', () => {
    expect(microTime(new Date('2026-01-02T03:04:05.678Z'))).to.equal('2026-01-02T03:04:05.678000Z');
  });
});
