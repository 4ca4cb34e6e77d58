import { expect } from 'chai';
import fc from 'fast-check';
import { isoSeconds, microTime, parseTime } from '../../src/api/time.js';

describe('Kubernetes time formats', () => {
  it('writes metav1.Time with seconds and metav1.MicroTime with six fraction digits', () => {
    const d = new Date('2026-01-02T03:04:05.678Z');
    expect(isoSeconds(d)).to.equal('2026-01-02T03:04:05Z');
    expect(isoSeconds(d.getTime())).to.equal('2026-01-02T03:04:05Z');
    expect(microTime(d)).to.equal('2026-01-02T03:04:05.678000Z');
  });

  it('round-trips any time to the second (isoSeconds) and to the millisecond (microTime) (property)', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (d) => {
        expect(parseTime(isoSeconds(d))).to.equal(Math.floor(d.getTime() / 1000) * 1000);
        expect(parseTime(microTime(d))).to.equal(d.getTime());
      }),
    );
  });

  it('parses to undefined when absent or unparsable', () => {
    expect(parseTime(undefined)).to.equal(undefined);
    expect(parseTime('')).to.equal(undefined);
    expect(parseTime('yesterday')).to.equal(undefined);
    expect(parseTime('2026-01-02T03:04:05Z')).to.equal(Date.UTC(2026, 0, 2, 3, 4, 5));
  });
});
