import { expect } from 'chai';
import { matchesSelector, selectorErrors, selectorString } from '../../src/runtime/selector.js';

describe('label selectors', () => {
  const sel = {
    matchLabels: { app: 'kaiwo' },
    matchExpressions: [
      { key: 'tier', operator: 'In', values: ['b', 'a'] },
      { key: 'gone', operator: 'DoesNotExist' },
    ],
  };

  it('renders the API server query form', () => {
    expect(selectorString(sel)).to.equal('app=kaiwo,tier in (a,b),!gone');
    expect(selectorString({})).to.equal('');
    expect(
      selectorString({
        matchExpressions: [
          { key: 'x', operator: 'Exists' },
          { key: 'y', operator: 'NotIn', values: ['1'] },
        ],
      }),
    ).to.equal('x,y notin (1)');
  });

  it('matches labels like the API server', () => {
    expect(matchesSelector(sel, { app: 'kaiwo', tier: 'a' })).to.equal(true);
    expect(matchesSelector(sel, { app: 'kaiwo', tier: 'c' })).to.equal(false);
    expect(matchesSelector(sel, { app: 'kaiwo', tier: 'a', gone: '' })).to.equal(false);
    expect(matchesSelector({}, undefined)).to.equal(true);
    expect(matchesSelector(undefined, { a: 'b' })).to.equal(true);
  });

  it('reports invalid keys and values', () => {
    expect(selectorErrors({ matchLabels: { 'bad key!': 'x' } }, 'spec.s')).to.have.length(1);
    expect(selectorErrors({ matchLabels: { ok: 'bad value!' } }, 'spec.s')[0]).to.match(/^spec\.s\.matchLabels: label value/);
    expect(selectorErrors({ matchExpressions: [{ key: 'a/b/c', operator: 'Exists' }] }, 'f')[0]).to.match(/more than one/);
    expect(selectorErrors({ matchLabels: { 'example.com/app': 'v-1.2_3' } }, 'f')).to.deep.equal([]);
  });
});
