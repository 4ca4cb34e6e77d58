import { expect } from 'chai';
import { TokenBucket } from '../../src/runtime/token-bucket.js';

describe('token bucket', () => {
  it('allows a burst of 25, then one per 5 minutes (client-go event spam filter)', () => {
    const b = new TokenBucket(25, 300_000, 0);
    let allowed = 0;
    for (let i = 0; i < 100; i++) if (b.take(0)) allowed++;
    expect(allowed).to.equal(25);
    expect(b.take(299_000)).to.equal(false);
    expect(b.take(300_500)).to.equal(true);
    expect(b.take(300_600)).to.equal(false);
  });

  it('says how long until the next token, and never holds more than the burst', () => {
    const b = new TokenBucket(2, 100, 0);
    expect(b.delay(0)).to.equal(0);
    expect([b.take(0), b.take(0), b.take(0)]).to.deep.equal([true, true, false]);
    expect(b.delay(0)).to.equal(100);
    expect(b.delay(40)).to.equal(60);
    expect(b.take(100)).to.equal(true);
    expect(b.delay(100)).to.equal(100);
    expect(b.delay(10_000)).to.equal(0);
    expect([b.take(10_000), b.take(10_000), b.take(10_000)]).to.deep.equal([true, true, false]);
  });

  it('refills nothing while time goes backwards, and refills from there after', () => {
    const b = new TokenBucket(1, 100, 1000);
    expect(b.take(1000)).to.equal(true);
    expect(b.take(500)).to.equal(false);
    expect(b.take(550)).to.equal(false);
    expect(b.take(600)).to.equal(true);
  });
});
