import { expect } from 'chai';
import { MAX_QUANTITY_LENGTH, parseQuantity } from '../../src/api/quantity.js';
import { quantity } from '../../src/checks/util.js';

const Ki = 1024;
const MAX_INT64 = Number(2n ** 63n - 1n);

// Cases from apimachinery's resource.Quantity rules and its TestQuantityParse table.
const valid: [string, number][] = [
  // zero with every suffix
  ['0', 0],
  ['0n', 0],
  ['0u', 0],
  ['0m', 0],
  ['0Ki', 0],
  ['0k', 0],
  ['0Mi', 0],
  ['0M', 0],
  ['0Gi', 0],
  ['0G', 0],
  ['0Ti', 0],
  ['0T', 0],
  ['1', 1],
  ['9', 9],
  // binary SI
  ['1Ki', Ki],
  ['8Ki', 8 * Ki],
  ['7Mi', 7 * Ki ** 2],
  ['6Gi', 6 * Ki ** 3],
  ['5Ti', 5 * Ki ** 4],
  ['4Pi', 4 * Ki ** 5],
  ['3Ei', 3 * Ki ** 6],
  ['10Ti', 10 * Ki ** 4],
  ['100Ti', 100 * Ki ** 4],
  // decimal SI
  ['5n', 5e-9],
  ['4u', 4e-6],
  ['3m', 3e-3],
  ['8k', 8e3],
  ['50k', 5e4],
  ['7M', 7e6],
  ['6G', 6e9],
  ['5T', 5e12],
  ['40T', 4e13],
  ['300T', 3e14],
  ['2P', 2e15],
  ['1E', 1e18],
  ['10E', 1e19],
  ['12E', 1.2e19],
  // decimal exponents
  ['1E-3', 1e-3],
  ['1e3', 1e3],
  ['1E6', 1e6],
  ['1e9', 1e9],
  ['1E12', 1e12],
  ['1e15', 1e15],
  ['1E18', 1e18],
  ['1e14', 1e14],
  ['1e13', 1e13],
  ['1.2e3', 1200],
  ['1.3E+6', 1.3e6],
  ['1.40e9', 1.4e9],
  ['1.53E12', 1.53e12],
  ['1.6e15', 1.6e15],
  ['1.7E18', 1.7e18],
  ['0.5e0', 0.5],
  ['0.5e-1', 0.05],
  ['0.5e-2', 0.005],
  // fractions
  ['100.035k', 100035],
  ['0.001', 0.001],
  ['0.0005k', 0.5],
  ['0.005', 0.005],
  ['0.05', 0.05],
  ['0.5', 0.5],
  ['0.00050k', 0.5],
  ['0.50000', 0.5],
  ['10.035M', 10035000],
  ['9.01', 9.01],
  ['8.1k', 8100],
  ['7.123456M', 7123456],
  ['6.987654321G', 6987654321],
  ['5.444T', 5.444e12],
  ['2.5P', 2.5e15],
  ['1.01E', 1.01e18],
  // rounded up to a whole nano unit
  ['3.001n', 4e-9],
  ['1.1E-9', 2e-9],
  ['0.0000000001', 1e-9],
  ['0.0000000005', 1e-9],
  ['0.5e-9', 1e-9],
  ['0.9n', 1e-9],
  ['0.00000012345', 124e-9],
  ['0.00000012354', 124e-9],
  ['1e-400', 1e-9],
  // binary values are capped at int64
  ['9Ei', MAX_INT64],
  ['9223372036854775807Ki', MAX_INT64],
  // fractional binary
  ['100.035Ki', 102435.84],
  ['0.5Mi', 0.5 * Ki ** 2],
  ['0.05Gi', 53687091.2],
  ['0.025Ti', 27487790694.4],
  // "written by trolls", still valid
  ['0.000000000001Ki', 2e-9],
  ['.001', 0.001],
  ['.0001k', 0.1],
  ['1.', 1],
  ['1.G', 1e9],
  ['.', 0],
  ['+', 0],
];

const invalid = [
  '',
  '1.1.M',
  '1+1.0M',
  '0.1mi',
  '0.1am',
  'aoeu',
  '.5i',
  '1i',
  '-3.01i',
  '-3.01e-',
  ' 1',
  '1 ',
  '1e',
  '1KiB',
  '1Ki5',
  '1ee3',
  '1e1.5',
  'Non-Numeric',
  '1,5',
  '0x10',
  'Infinity',
  'NaN',
  '1'.repeat(MAX_QUANTITY_LENGTH + 1),
];

describe('resource quantities (apimachinery resource.Quantity rules)', () => {
  for (const [s, want] of valid) {
    it(`${JSON.stringify(s)} = ${want}`, () => {
      expect(parseQuantity(s)).to.equal(want);
      if (want !== 0) {
        expect(parseQuantity(`-${s.replace(/^\+/, '')}`), `-${s}`).to.equal(-want);
        if (!s.startsWith('+')) expect(parseQuantity(`+${s}`), `+${s}`).to.equal(want);
      }
    });
  }

  it('rejects everything else', () => {
    for (const s of invalid) expect(parseQuantity(s), JSON.stringify(s)).to.equal(undefined);
  });

  it('gives ±Infinity beyond double range', () => {
    expect(parseQuantity('1e400')).to.equal(Infinity);
    expect(parseQuantity('-2e999')).to.equal(-Infinity);
  });

  it('checks read quantities through it: invalid or absent is 0, numbers pass, infinities stay finite', () => {
    expect(quantity('1e9')).to.equal(1e9);
    expect(quantity('10E')).to.equal(1e19);
    expect(quantity('8')).to.equal(8);
    expect(quantity(4)).to.equal(4);
    expect(quantity('garbage')).to.equal(0);
    expect(quantity(undefined)).to.equal(0);
    expect(quantity(null)).to.equal(0);
    expect(quantity({ value: 3 })).to.equal(0);
    expect(quantity(Number.NaN)).to.equal(0);
    expect(quantity('1e400')).to.equal(Number.MAX_VALUE);
    expect(quantity(-Infinity)).to.equal(-Number.MAX_VALUE);
  });
});
