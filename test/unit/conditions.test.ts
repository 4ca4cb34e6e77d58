import { expect } from 'chai';
import { andStatus, isTransition, setCondition } from '../../src/api/conditions.js';
import type { Condition } from '../../src/api/types.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:05:00Z');

describe('condition math (metav1.Condition / SetStatusCondition semantics)', () => {
  it('adds a condition with lastTransitionTime now, in RFC 3339 seconds', () => {
    const list = setCondition([], { type: 'Ready', status: 'Unknown', reason: 'Initializing', message: '', observedGeneration: 1 }, t0);
    expect(list).to.deep.equal([
      {
        type: 'Ready',
        status: 'Unknown',
        reason: 'Initializing',
        message: '',
        observedGeneration: 1,
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ]);
  });

  it('moves lastTransitionTime only when status changes', () => {
    let list = setCondition([], { type: 'Ready', status: 'True', reason: 'A', message: 'm', observedGeneration: 1 }, t0);
    list = setCondition(list, { type: 'Ready', status: 'True', reason: 'B', message: 'n', observedGeneration: 2 }, t1);
    expect(list[0]).to.include({ reason: 'B', message: 'n', observedGeneration: 2, lastTransitionTime: '2026-01-01T00:00:00Z' });
    list = setCondition(list, { type: 'Ready', status: 'False', reason: 'B', message: 'n', observedGeneration: 2 }, t1);
    expect(list[0]?.lastTransitionTime).to.equal('2026-01-01T00:05:00Z');
  });

  it('keeps one entry per type and leaves the input untouched', () => {
    const input: Condition[] = [{ type: 'A', status: 'True', reason: 'R', message: '', lastTransitionTime: 'x' }];
    const out = setCondition(input, { type: 'B', status: 'True', reason: 'R', message: '' }, t0);
    const again = setCondition(out, { type: 'B', status: 'False', reason: 'R', message: '' }, t0);
    expect(input).to.have.length(1);
    expect(again.map((c) => c.type)).to.deep.equal(['A', 'B']);
  });

  it('rejects reasons that are not CamelCase identifiers and caps messages at 32768', () => {
    expect(() => setCondition([], { type: 'A', status: 'True', reason: 'not ok', message: '' }, t0)).to.throw(/CamelCase/);
    const [c] = setCondition([], { type: 'A', status: 'True', reason: 'Ok', message: 'x'.repeat(40000) }, t0);
    expect(c?.message.length).to.equal(32768);
  });

  it('ANDs component statuses: False wins, then Unknown', () => {
    expect(andStatus(['True', 'True'])).to.equal('True');
    expect(andStatus(['True', 'Unknown'])).to.equal('Unknown');
    expect(andStatus(['Unknown', 'False'])).to.equal('False');
    expect(andStatus([])).to.equal('Unknown');
  });

  it('treats status changes and new fault reasons as transitions, Unknown reason churn not', () => {
    const c = (status: Condition['status'], reason: string): Condition => ({
      type: 'X',
      status,
      reason,
      message: '',
      lastTransitionTime: '',
    });
    expect(isTransition(undefined, c('Unknown', 'A'))).to.equal(false);
    expect(isTransition(undefined, c('False', 'A'))).to.equal(true);
    expect(isTransition(c('Unknown', 'A'), c('True', 'A'))).to.equal(true);
    expect(isTransition(c('Unknown', 'A'), c('Unknown', 'B'))).to.equal(false);
    expect(isTransition(c('False', 'A'), c('False', 'B'))).to.equal(true);
    expect(isTransition(c('True', 'A'), c('True', 'B'))).to.equal(false);
  });
});
