import { expect } from 'chai';
import fc from 'fast-check';
import { MAX_INT64_DOUBLE, MIN_INT64_DOUBLE, sanitize, truncateString } from '../../src/api/clamp.js';
import { statusSchema } from '../../src/checks/registry.js';
import type { KaiwoMonitorStatus } from '../../src/api/types.js';
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

describe('status sanitizing against the CRD schema (every status written fits)', () => {
  const long = (n: number, ch = 'x') => ch.repeat(n);
  const condition = (over: object = {}) => ({
    type: 'Ready',
    status: 'True',
    lastTransitionTime: '2026-01-01T00:00:00Z',
    reason: 'Reconciled',
    message: 'ok',
    ...over,
  });
  const finding = (i: number, over: object = {}) => ({
    component: 'gpuNodes',
    severity: 'Critical',
    reason: 'R',
    message: `m${i}`,
    ...over,
  });

  /** Every integer literal in the JSON text, exactly as the API server would parse it. */
  const integersInJson = (v: unknown) =>
    [...JSON.stringify(v).matchAll(/(?<=[:[,])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?(?=[,}\]])/gi)].map((m) => m[0]);

  it('clamps counts to int64 (≥ 2^63, ±Infinity, fractions), drops NaN, and prints them as plain int64 literals', () => {
    const out = sanitize(
      {
        observedGeneration: 2 ** 64,
        summary: {
          gpuNodes: { display: 'x', counts: { huge: 2 ** 63, inf: Infinity, neg: -Infinity, low: -1e30, frac: 2.7, nan: NaN, ok: 7 } },
        },
        findingCounts: { total: 1e300, critical: 3 },
      },
      statusSchema,
    ) as KaiwoMonitorStatus;
    const counts = out.summary?.gpuNodes?.counts ?? {};
    expect(counts).to.deep.equal({
      huge: MAX_INT64_DOUBLE,
      inf: MAX_INT64_DOUBLE,
      neg: MIN_INT64_DOUBLE,
      low: MIN_INT64_DOUBLE,
      frac: 2,
      ok: 7,
    });
    expect(out.observedGeneration).to.equal(MAX_INT64_DOUBLE);
    for (const lit of integersInJson(out)) {
      expect(lit, lit).to.match(/^-?\d+$/);
      expect(BigInt(lit) <= 2n ** 63n - 1n && BigInt(lit) >= -(2n ** 63n), lit).to.equal(true);
    }
  });

  it('truncates strings to maxLength, lists to maxItems, maps to maxProperties, and honours minimum', () => {
    const manyCounts = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`c${i}`, i]));
    const out = sanitize(
      {
        conditions: Array.from({ length: 20 }, (_, i) => condition({ type: `T${i}`, message: long(100 * 1024), observedGeneration: -5 })),
        findings: Array.from({ length: 60 }, (_, i) => finding(i, { message: long(5000), object: { kind: long(100), name: long(300) } })),
        summary: { kueue: { display: long(100), counts: manyCounts } },
      },
      statusSchema,
    ) as KaiwoMonitorStatus;
    expect(out.conditions).to.have.length(16);
    expect(out.conditions?.[0]?.message.length).to.equal(32768);
    expect(out.conditions?.[0]?.message, 'the cut message ends in an ellipsis').to.match(/…$/);
    expect(out.conditions?.[0]?.observedGeneration).to.equal(0);
    expect(out.findings).to.have.length(50);
    expect(out.findings?.[0]?.message.length).to.equal(1024);
    expect(out.findings?.[0]?.object?.kind?.length).to.equal(63);
    expect(out.findings?.[0]?.object?.name?.length).to.equal(253);
    expect(out.summary?.kueue?.display?.length).to.equal(64);
    expect(Object.keys(out.summary?.kueue?.counts ?? {})).to.have.length(32);
  });

  it('drops values of the wrong type, enum values outside the enum and unknown fields', () => {
    const out = sanitize(
      {
        conditions: [condition({ status: 'Maybe' }), 'not an object', condition({ type: 'Healthy' })],
        findings: [finding(1, { severity: 'Bogus' }), finding(2, { component: 'toaster' })],
        summary: { gpuNodes: { display: 42, counts: { a: '3', b: 3 } }, notAComponent: { display: 'x' } },
        lastCheckTime: 12,
        somethingElse: { a: 1 },
      },
      statusSchema,
    ) as Record<string, unknown>;
    expect(out).to.deep.equal({
      conditions: [
        { type: 'Ready', lastTransitionTime: '2026-01-01T00:00:00Z', reason: 'Reconciled', message: 'ok' },
        condition({ type: 'Healthy' }),
      ],
      findings: [
        { component: 'gpuNodes', reason: 'R', message: 'm1' },
        { severity: 'Critical', reason: 'R', message: 'm2' },
      ],
      summary: { gpuNodes: { counts: { b: 3 } } },
    });
  });

  it('never splits a surrogate pair and leaves fitting statuses unchanged', () => {
    expect(truncateString(`${long(9)}😀😀`, 11)).to.equal(`${long(9)}…`);
    const fine = {
      observedGeneration: 3,
      lastCheckTime: '2026-01-01T00:00:00Z',
      conditions: [condition()],
      findings: [finding(1)],
      findingCounts: { total: 1 },
    };
    expect(sanitize(fine, statusSchema)).to.deep.equal(fine);
  });

  it('returns a fitting, idempotent result for arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), fc.jsonValue({ maxDepth: 3 }), (a, b) => {
        const input = { conditions: [a, condition({ message: b })], summary: { gpuNodes: { counts: a } }, findings: [b], findingCounts: a };
        const once = sanitize(input, statusSchema);
        expect(sanitize(once, statusSchema)).to.deep.equal(once);
        for (const lit of integersInJson(once)) expect(Number.isFinite(Number(lit)), lit).to.equal(true);
      }),
      { numRuns: 300 },
    );
  });
});
