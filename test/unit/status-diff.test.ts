import { expect } from 'chai';
import { jsonEqual, mergePatch } from '../../src/runtime/status.js';

describe('status diffing', () => {
  it('compares JSON deeply, ignoring key order and undefined', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).to.equal(true);
    expect(jsonEqual({ a: 1, x: undefined }, { a: 1 })).to.equal(true);
    expect(jsonEqual({ a: [1, 2] }, { a: [2, 1] })).to.equal(false);
    expect(jsonEqual({ a: 1 }, { a: '1' })).to.equal(false);
  });

  it('produces no patch when nothing changed', () => {
    expect(mergePatch({ a: { b: 1 } }, { a: { b: 1 } })).to.equal(undefined);
  });

  it('sets changed keys, nulls removed keys, replaces arrays whole', () => {
    const from = { conditions: [{ type: 'A' }], summary: { kueue: { display: 'x' }, gpuNodes: { display: 'y' } }, keep: 1 };
    const to = { conditions: [{ type: 'A' }, { type: 'B' }], summary: { gpuNodes: { display: 'z' } }, keep: 1 };
    expect(mergePatch(from, to)).to.deep.equal({
      conditions: [{ type: 'A' }, { type: 'B' }],
      summary: { kueue: null, gpuNodes: { display: 'z' } },
    });
  });
});
