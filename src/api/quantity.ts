/**
 * Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource.Quantity), parsed by the same rules:
 *
 *   <quantity> ::= <sign>? <number> <suffix>
 *   <number>   ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
 *   <suffix>   ::= <binarySI> | <decimalSI> | <decimalExponent>
 *   binarySI   Ki Mi Gi Ti Pi Ei (powers of 1024)
 *   decimalSI  n u m "" k M G T P E (10^-9 … 10^18; a lone "E" is exa, so "10E" = 10^19)
 *   exponent   e or E followed by a signed integer ("1e9", "1.5E-3", "1E+6")
 *
 * No whitespace; anything else is invalid. Like ParseQuantity, a non-zero value is rounded up (away from
 * zero) to a whole number of nano units, and binary-suffixed values are capped at 2^63-1.
 */

const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const SHAPE = /^([+-]?)(\d*)(?:\.(\d*))?([eEinumkKMGTP]*)([+-]?\d*)$/;
const MAX_INT64 = 2n ** 63n - 1n;
/** Quantities are short in practice; longer strings are refused so parsing stays cheap on hostile input. */
export const MAX_QUANTITY_LENGTH = 256;
/** Exponents beyond this put the value outside double range either way. */
const MAX_EXPONENT = 400;

interface Parsed {
  negative: boolean;
  digits: string;
  /** Power of ten applied to `digits` (the decimal suffix or exponent minus the fraction's length). */
  scale: number;
  /** Power of two applied (binary suffixes). */
  binary: number;
}

function parse(s: string): Parsed | undefined {
  if (s.length === 0 || s.length > MAX_QUANTITY_LENGTH) return undefined;
  const m = SHAPE.exec(s);
  if (!m) return undefined;
  const [, sign = '', int = '', frac = '', letters = '', tail = ''] = m;
  let suffix = letters + tail;
  let scale: number;
  let binary = 0;
  const dec = DECIMAL[suffix];
  const bin = BINARY[suffix];
  if (dec !== undefined) scale = dec;
  else if (bin !== undefined) {
    scale = 0;
    binary = bin;
  } else if (suffix.length > 1 && (suffix.startsWith('e') || suffix.startsWith('E')) && /^[+-]?\d+$/.test(suffix.slice(1))) {
    suffix = suffix.slice(1);
    const exp = Number(suffix);
    // apimachinery keeps the exponent as an int32; beyond that the value is meaningless here.
    if (!Number.isSafeInteger(exp) || Math.abs(exp) > 2 ** 31 - 1) return undefined;
    scale = exp;
  } else {
    return undefined;
  }
  return { negative: sign === '-', digits: (int + frac).replace(/^0+/, ''), scale: scale - frac.length, binary };
}

/**
 * The value of a quantity string as a number (±Infinity beyond double range), or undefined when it is not a
 * valid quantity.
 */
export function parseQuantity(s: string): number | undefined {
  const p = parse(s);
  if (!p) return undefined;
  if (p.digits === '') return 0;
  const d = BigInt(p.digits);
  const twos = 2n ** BigInt(p.binary);
  let nano: bigint;
  if (p.scale >= -9) {
    if (p.scale + p.digits.length > MAX_EXPONENT) return p.negative ? -Infinity : Infinity;
    nano = d * twos * 10n ** BigInt(p.scale + 9);
  } else {
    const k = -9 - p.scale; // digits below a nano unit
    if (k > p.digits.length + 20)
      nano = 1n; // far below 1n: rounds up to the smallest unit
    else {
      const div = 10n ** BigInt(k);
      const n = d * twos;
      nano = n / div + (n % div === 0n ? 0n : 1n);
    }
  }
  if (p.binary > 0 && nano > MAX_INT64 * 1_000_000_000n) nano = MAX_INT64 * 1_000_000_000n;
  const value = Number(`${nano.toString()}e-9`);
  return p.negative ? -value : value;
}
