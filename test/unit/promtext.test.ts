import { expect } from 'chai';
import fc from 'fast-check';
import { parsePrometheusText, PromTextParser, type Sample, sumOf } from '../../src/sources/promtext.js';

const CONTROLLER_RUNTIME = `# HELP controller_runtime_reconcile_errors_total Total number of reconciliation errors per controller
# TYPE controller_runtime_reconcile_errors_total counter
controller_runtime_reconcile_errors_total{controller="kaiwojob"} 3
controller_runtime_reconcile_errors_total{controller="kaiwoservice"} 0
# TYPE controller_runtime_reconcile_time_seconds histogram
controller_runtime_reconcile_time_seconds_bucket{controller="kaiwojob",le="0.005"} 1
controller_runtime_reconcile_time_seconds_bucket{controller="kaiwojob",le="+Inf"} 7
controller_runtime_reconcile_time_seconds_sum{controller="kaiwojob"} 1.5e-01
workqueue_depth{controller="kaiwojob",name="kaiwojob",priority=""} 12 1700000000000
leader_election_master_status{name="83fc2279.silogen.ai"} 1
go_gc_duration_seconds{quantile="0.5"} NaN
weird{msg="a \\"quoted\\" \\\\ value\\nline"} -Inf
`;

const name = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,20}$/);
const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,10}$/).filter((n) => n !== '__proto__');
const sample = fc.record({
  name,
  labels: fc.dictionary(labelName, fc.string({ maxLength: 20 }), { maxKeys: 5 }),
  value: fc.oneof(fc.double({ noNaN: true }), fc.integer()),
});
const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const render = (s: { name: string; labels: Record<string, string>; value: number }) => {
  const l = Object.entries(s.labels)
    .map(([k, v]) => `${k}="${escape(v)}"`)
    .join(',');
  const v = Number.isNaN(s.value) ? 'NaN' : s.value === Infinity ? '+Inf' : s.value === -Infinity ? '-Inf' : String(s.value);
  return `${s.name}${l ? `{${l}}` : ''} ${v}`;
};

describe('Prometheus text parser', () => {
  it('parses controller-runtime output: labels, escapes, timestamps, +Inf/-Inf/NaN, types', () => {
    const r = parsePrometheusText(CONTROLLER_RUNTIME);
    expect(r.skipped).to.equal(0);
    expect(r.samples).to.have.length(9);
    expect(sumOf(r.samples, 'controller_runtime_reconcile_errors_total')).to.equal(3);
    expect(sumOf(r.samples, 'workqueue_depth', { controller: 'kaiwojob' })).to.equal(12);
    expect(r.samples.find((s) => s.labels.le === '+Inf')?.value).to.equal(7);
    expect(r.samples.find((s) => s.name === 'weird')).to.deep.include({ value: -Infinity });
    expect(r.samples.find((s) => s.name === 'weird')?.labels.msg).to.equal('a "quoted" \\ value\nline');
    expect(r.samples.find((s) => s.name === 'go_gc_duration_seconds')?.value, 'go_gc_duration_seconds').to.be.NaN;
    expect(r.types.get('controller_runtime_reconcile_time_seconds')).to.equal('histogram');
  });

  it('skips malformed lines and keeps the good ones', () => {
    const r = parsePrometheusText('good 1\nbad{ 2\n{x="y"} 3\nalso_bad{a="b"} notanumber\nnum{a="b",} 4\n');
    expect(r.samples.map((s) => s.name)).to.deep.equal(['good', 'num']);
    expect(r.skipped).to.equal(3);
  });

  it('round-trips any rendered sample (property)', () => {
    fc.assert(
      fc.property(fc.array(sample, { maxLength: 30 }), (samples) => {
        const parsed = parsePrometheusText(samples.map(render).join('\n'));
        expect(parsed.skipped).to.equal(0);
        expect(parsed.samples.map((s: Sample) => ({ name: s.name, labels: { ...s.labels }, value: s.value }))).to.deep.equal(
          samples.map((s) => ({ ...s, value: Object.is(s.value, -0) ? 0 : s.value })),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary input, hostile bytes included (fuzz)', function () {
    this.timeout(120_000); // 1000 generated inputs: seconds on a quiet machine, much more on a loaded one
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 2000 }),
          fc.string({ unit: 'binary', maxLength: 2000 }),
          fc
            .array(fc.constantFrom('{', '}', '"', '\\', '=', ',', ' ', '\n', '#', 'a', '1', 'e', '+Inf', 'NaN'), { maxLength: 500 })
            .map((a) => a.join('')),
        ),
        (text) => {
          const r = parsePrometheusText(text);
          expect(r.samples.length + r.skipped).to.be.at.most(text.split('\n').length);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('bounds memory: caps samples, label count and line length', () => {
    const many = Array.from({ length: 1000 }, (_, i) => `m ${i}`).join('\n');
    const capped = parsePrometheusText(many, { maxSamples: 100 });
    expect(capped.samples).to.have.length(100);
    expect(capped.truncated).to.equal(true);
    const wide = `m{${Array.from({ length: 100 }, (_, i) => `l${i}="v"`).join(',')}} 1`;
    expect(parsePrometheusText(wide).samples).to.have.length(0);
    const long = `m{a="${'x'.repeat(100_000)}"} 1\nok 2`;
    const r = parsePrometheusText(long);
    expect(r.samples.map((s) => s.name)).to.deep.equal(['ok']);
    expect(r.skipped).to.equal(1);
  });

  it('keeps only what the keep predicate names, while parsing; other metrics are only shape-checked', () => {
    const text = 'a_total 1\nb_total{x="y"} 2\nc_bucket{le="1"} 3\nb_total{broken 4\n';
    const r = parsePrometheusText(text, { keep: (n) => n === 'a_total' || n.startsWith('c_') });
    expect(r.samples.map((x) => x.name)).to.deep.equal(['a_total', 'c_bucket']);
    expect(r).to.include({ ignored: 1, skipped: 1, truncated: false });
  });

  it('drops label values longer than the bound (counted) and keeps the sample', () => {
    const r = parsePrometheusText(`m{pod="p",image="${'x'.repeat(1025)}",ok="${'y'.repeat(1024)}"} 1\nm{esc="${'\\"'.repeat(1100)}"} 2`);
    expect(r.samples).to.have.length(2);
    expect(r.samples[0]?.labels).to.deep.equal({ pod: 'p', ok: 'y'.repeat(1024) });
    expect(r.samples[1]?.labels).to.deep.equal({});
    expect(r.longLabels).to.equal(2);
  });

  it('stops keeping samples at the estimated byte budget and marks the result truncated', () => {
    const lines = Array.from({ length: 1000 }, (_, i) => `m{i="${i}"} ${i}`).join('\n');
    const all = parsePrometheusText(lines);
    const budget = Math.floor(all.bytes / 4);
    const r = parsePrometheusText(lines, { maxKeptBytes: budget });
    expect(r.truncated).to.equal(true);
    expect(r.bytes).to.be.at.most(budget);
    expect(r.samples.length).to.be.within(200, 260);
    expect(r.samples.map((x) => x.value)).to.deep.equal(all.samples.slice(0, r.samples.length).map((x) => x.value));
  });

  it('parses the same line by line as from one string (property)', () => {
    const noiseLines = fc.array(fc.constantFrom('', '# HELP x y', 'garbage{', '  '), { maxLength: 5 });
    fc.assert(
      fc.property(fc.array(sample, { maxLength: 20 }), noiseLines, (samples, noise) => {
        const lines = [...samples.map(render), ...noise];
        const p = new PromTextParser();
        for (const l of lines) p.line(l);
        expect(p.result()).to.deep.equal(parsePrometheusText(lines.join('\n')));
      }),
      { numRuns: 200 },
    );
  });

  it('does not let label names pollute prototypes', () => {
    const r = parsePrometheusText('m{__proto__="x",constructor="y"} 1');
    expect(({} as Record<string, unknown>).x).to.equal(undefined);
    expect(r.samples[0]?.labels.constructor).to.equal('y');
  });
});
