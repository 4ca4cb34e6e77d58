import { expect } from 'chai';
import {
  sameTaint,
  selects,
  taintsOf,
  taintString,
  type Toleration,
  tolerates,
  toleratesAny,
  tolerationsOf,
} from '../../../src/checks/scheduling.js';

const taint = { key: 'kaiwo.silogen.ai/gpu', value: 'true', effect: 'NoSchedule' };
const tol = (t: Partial<Toleration>): Toleration => ({ key: '', operator: 'Equal', value: '', effect: '', ...t });

describe('taints and tolerations (core/v1 ToleratesTaint)', () => {
  it('Exists matches any value of its key; Equal (or no operator) only the same value', () => {
    expect(tolerates(tol({ key: taint.key, operator: 'Exists', effect: 'NoSchedule' }), taint)).to.equal(true);
    expect(tolerates(tol({ key: taint.key, operator: 'Equal', value: 'true' }), taint)).to.equal(true);
    expect(tolerates(tol({ key: taint.key, operator: '', value: 'true' }), taint)).to.equal(true);
    expect(tolerates(tol({ key: taint.key, operator: 'Equal', value: 'false' }), taint)).to.equal(false);
    expect(tolerates(tol({ key: 'other', operator: 'Exists' }), taint)).to.equal(false);
  });

  it('an empty effect matches every effect, a set one only its own; an empty key with Exists matches every taint', () => {
    expect(tolerates(tol({ key: taint.key, operator: 'Exists' }), { ...taint, effect: 'NoExecute' })).to.equal(true);
    expect(tolerates(tol({ key: taint.key, operator: 'Exists', effect: 'NoSchedule' }), { ...taint, effect: 'NoExecute' })).to.equal(false);
    expect(tolerates(tol({ operator: 'Exists' }), { key: 'maintenance', value: 'x', effect: 'NoExecute' })).to.equal(true);
  });

  it('Lt and Gt compare int64 values; anything else, or an unknown operator, tolerates nothing', () => {
    const t = { key: 'gpu-errors', value: '3', effect: 'NoSchedule' };
    expect(tolerates(tol({ key: 'gpu-errors', operator: 'Lt', value: '5' }), t)).to.equal(true);
    expect(tolerates(tol({ key: 'gpu-errors', operator: 'Gt', value: '5' }), t)).to.equal(false);
    expect(tolerates(tol({ key: 'gpu-errors', operator: 'Gt', value: '-1' }), t)).to.equal(true);
    expect(tolerates(tol({ key: 'gpu-errors', operator: 'Lt', value: '5' }), { ...t, value: 'three' })).to.equal(false);
    expect(tolerates(tol({ key: 'gpu-errors', operator: 'Lt', value: '99999999999999999999' }), t)).to.equal(false);
    expect(tolerates(tol({ key: 'gpu-errors', operator: 'Lt', value: '05' }), t)).to.equal(false);
    expect(tolerates(tol({ key: 'gpu-errors', operator: 'Matches', value: '3' }), t)).to.equal(false);
    expect(toleratesAny([], t)).to.equal(false);
  });

  it('reads tolerations as the API server defaults them: operator Equal, duplicates dropped, stable order', () => {
    expect(
      tolerationsOf([
        { key: 'b', value: 'v' },
        { key: 'a', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 5 },
        { key: 'b', value: 'v' },
      ]),
    ).to.deep.equal([
      { key: 'a', operator: 'Exists', value: '', effect: 'NoSchedule' },
      { key: 'b', operator: 'Equal', value: 'v', effect: '' },
    ]);
  });

  it('survives hostile lists: not arrays, not objects, wrong types, huge arrays and strings', () => {
    for (const v of [undefined, null, 'x', 7, {}, { length: 3 }]) {
      expect(tolerationsOf(v)).to.deep.equal([]);
      expect(taintsOf(v)).to.deep.equal([]);
    }
    expect(tolerationsOf([null, 'x', 3, [], { key: 5, operator: {}, value: [], effect: null }])).to.deep.equal([
      { key: '', operator: 'Equal', value: '', effect: '' },
    ]);
    const huge = Array.from({ length: 200_000 }, (_, i) => ({ key: `k${i}`, effect: 'NoSchedule' }));
    expect(taintsOf(huge)).to.have.length(32);
    expect(tolerationsOf(huge)).to.have.length(32);
    const [long] = taintsOf([{ key: 'k'.repeat(100_000), value: 'v'.repeat(100_000), effect: 'NoSchedule' }]);
    expect(long?.key).to.have.length(317);
    expect(long?.value).to.have.length(63);
  });

  it('names a taint the way kubectl does', () => {
    expect(taintString(taint)).to.equal('kaiwo.silogen.ai/gpu=true:NoSchedule');
    expect(taintString({ key: 'maintenance', value: '', effect: 'NoExecute' })).to.equal('maintenance:NoExecute');
  });

  it('sameTaint compares key, value and effect', () => {
    expect(sameTaint(taint, { ...taint })).to.equal(true);
    expect(sameTaint(taint, { ...taint, value: 'false' })).to.equal(false);
    expect(sameTaint(taint, { ...taint, effect: 'NoExecute' })).to.equal(false);
  });
});

describe("node selectors against a flavor's nodeLabels", () => {
  const labels: [string, string][] = [
    ['pool', 'mi300x'],
    ['zone', 'a'],
  ];

  it('selects when every label is in the selector with the same value; extra selector entries do not matter', () => {
    expect(selects({ pool: 'mi300x', zone: 'a', 'kubernetes.io/arch': 'amd64' }, labels)).to.equal(true);
    expect(selects({ pool: 'mi300x' }, labels)).to.equal(false);
    expect(selects({ pool: 'mi300x', zone: 'b' }, labels)).to.equal(false);
  });

  it('no labels: every selector selects', () => {
    expect(selects({}, [])).to.equal(true);
  });
});
