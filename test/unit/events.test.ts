import { expect } from 'chai';
import { microTime } from '../../src/api/time.js';
import { eventName, KeyedLimiter, MAX_NAME_LENGTH } from '../../src/runtime/events.js';

describe('event rate limiting (client-go parity: burst 25, then 1 per 5 minutes)', () => {
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

describe('Event names (every valid object name gets Events)', () => {
  const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
  const suffix = `${Date.UTC(2026, 0, 1).toString(16)}1a2b3c4d`;

  it('keeps the client-go form <name>.<suffix> while it fits', () => {
    expect(eventName('default', suffix)).to.equal(`default.${suffix}`);
    const fits = 'a'.repeat(MAX_NAME_LENGTH - suffix.length - 1);
    expect(eventName(fits, suffix)).to.equal(`${fits}.${suffix}`);
  });

  it('is at most 253 characters and a valid name for every object name up to 253 characters', () => {
    const parts = ['a', 'b.c', 'x-y', 'monitor', 'z9'];
    for (let len = 1; len <= MAX_NAME_LENGTH; len++) {
      let name = '';
      for (let i = 0; name.length < len; i++) name += (name ? '.' : '') + (parts[i % parts.length] ?? 'a');
      name = name.slice(0, len).replace(/[^a-z0-9]+$/, '') || 'a';
      const ev = eventName(name, suffix);
      expect(ev.length, name).to.be.at.most(MAX_NAME_LENGTH);
      expect(ev, name).to.match(DNS_SUBDOMAIN);
      expect(ev.endsWith(`.${suffix}`), name).to.equal(true);
    }
  });

  it('derives long names from a hash with a readable prefix, distinct for names sharing that prefix', () => {
    const long1 = `${'kaiwo-monitor-'.repeat(17)}aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa`.slice(0, 253);
    const long2 = `${long1.slice(0, 252)}b`;
    const a = eventName(long1, suffix);
    const b = eventName(long2, suffix);
    expect(a.length).to.equal(MAX_NAME_LENGTH);
    expect(a.startsWith('kaiwo-monitor-kaiwo-monitor-')).to.equal(true);
    expect(a).to.not.equal(b);
  });
});
