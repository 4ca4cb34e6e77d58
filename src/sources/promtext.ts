/**
 * A small, defensive parser for the Prometheus text exposition format (0.0.4; OpenMetrics lines are tolerated).
 * It never throws, reads line by line (so a scrape can be parsed while it streams in), and bounds what it keeps
 * while parsing: only the metric names `keep` accepts, label values up to maxLabelValueLength (longer ones are
 * dropped and counted), at most maxSamples samples and maxKeptBytes estimated bytes (then `truncated`).
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParseResult {
  samples: Sample[];
  types: Map<string, string>;
  /** Malformed or over-long lines. */
  skipped: number;
  /** More samples matched than the limits allow; the first ones were kept. */
  truncated: boolean;
  /** Label values dropped for being longer than maxLabelValueLength. */
  longLabels: number;
  /** Well-formed samples of metrics `keep` did not accept. */
  ignored: number;
  /** Estimated heap bytes of the kept samples (see sampleBytes). */
  bytes: number;
}

export interface ParseLimits {
  maxSamples?: number;
  maxLineLength?: number;
  maxLabels?: number;
  maxLabelValueLength?: number;
  /** Stop keeping samples once their estimated size passes this. */
  maxKeptBytes?: number;
  /** Keep only samples whose metric name this accepts (checked before the labels are parsed). */
  keep?: (name: string) => boolean;
}

export const PARSE_DEFAULTS = {
  maxSamples: 50_000,
  maxLineLength: 65_536,
  maxLabels: 64,
  maxLabelValueLength: 1024,
  maxKeptBytes: 32 * 1024 * 1024,
} as const;

/**
 * Upper estimate of the heap a kept sample holds: the sample object, its label dictionary, and its `chars` kept
 * characters at two bytes each (kept strings are copies, never slices of the line or the chunk it came in).
 */
export function sampleBytes(chars: number, labels: number): number {
  return 96 + 2 * chars + 64 * labels;
}

/** A flat copy of a string (not a slice that keeps its parent alive); short strings are copies already. */
function flat(s: string): string {
  return s.length < 13 ? s : (` ${s}`).slice(1);
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPE_LINE = /^#\s+TYPE\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s+(\w+)/;
const FLOAT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const HEX = /^[-+]?0[xX][0-9a-fA-F]+$/;

export function parseValue(s: string): number | undefined {
  switch (s) {
    case '+Inf': case 'Inf': case '+inf': case 'inf': return Infinity;
    case '-Inf': case '-inf': return -Infinity;
    case 'NaN': case 'nan': return NaN;
  }
  if (!FLOAT.test(s) && !HEX.test(s)) return undefined;
  const n = Number(s);
  return Number.isNaN(n) ? undefined : n;
}

interface Labels {
  labels: Record<string, string>;
  count: number;
  end: number;
  long: number;
  /** Characters of the kept keys and values. */
  chars: number;
}

interface LabelOptions {
  maxLabels: number;
  /** Longer values are dropped (counted in `long`). */
  maxValue: number;
  key: (k: string) => string;
  value: (v: string) => string;
}

/** Parses `{a="x",b="y"}` starting at `i` (at '{'); returns labels and the index after '}', or undefined. */
function parseLabels(line: string, i: number, o: LabelOptions): Labels | undefined {
  const { maxLabels, maxValue } = o;
  const labels: Record<string, string> = Object.create(null) as Record<string, string>;
  let count = 0;
  let long = 0;
  let chars = 0;
  i++; // '{'
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return { labels, count, end: i + 1, long, chars };
    const m = LABEL_NAME.exec(line.slice(i, i + 256));
    if (!m) return undefined;
    const key = m[0];
    i += key.length;
    while (line[i] === ' ') i++;
    if (line[i] !== '=') return undefined;
    i++;
    while (line[i] === ' ') i++;
    if (line[i] !== '"') return undefined;
    i++;
    // The value runs to the next unescaped quote; copy it in runs between escapes (no per-character strings).
    let value = '';
    let length = 0;
    for (;;) {
      const quote = line.indexOf('"', i);
      const backslash = line.indexOf('\\', i);
      if (quote < 0) return undefined;
      if (backslash < 0 || quote < backslash) {
        length += quote - i;
        if (length <= maxValue) value += line.slice(i, quote);
        i = quote + 1;
        break;
      }
      length += backslash - i + 1;
      if (length <= maxValue) {
        const n = line[backslash + 1];
        value += line.slice(i, backslash) + (n === 'n' ? '\n' : n === '"' ? '"' : n === '\\' ? '\\' : `\\${n ?? ''}`);
      }
      i = backslash + 2;
    }
    if (++count > maxLabels) return undefined;
    if (length > maxValue) long++;
    else {
      labels[o.key(key)] = o.value(value);
      chars += key.length + value.length;
    }
  }
}

/** Feed it lines; read result() at the end. */
export class PromTextParser {
  private readonly samples: Sample[] = [];
  private readonly types = new Map<string, string>();
  private skipped = 0;
  private truncated = false;
  private longLabels = 0;
  private ignored = 0;
  private bytes = 0;
  /** Metric names and label keys, copied once and shared by every sample (bounded). */
  private readonly strings = new Map<string, string>();
  private readonly lim: Required<Omit<ParseLimits, 'keep'>>;

  constructor(private readonly limits: ParseLimits = {}) {
    this.lim = { ...PARSE_DEFAULTS, ...Object.fromEntries(Object.entries(limits).filter(([k, v]) => k !== 'keep' && v !== undefined)) };
  }

  private intern(s: string): string {
    const hit = this.strings.get(s);
    if (hit !== undefined) return hit;
    const copy = flat(s);
    if (this.strings.size < 10_000) this.strings.set(copy, copy);
    return copy;
  }

  /** A line too long to be handed over whole (a streaming reader skipped it). */
  longLine(): void {
    this.skipped++;
  }

  line(raw: string): void {
    if (raw.length > this.lim.maxLineLength) {
      if (raw.trim() !== '') this.skipped++;
      return;
    }
    const line = raw.trim();
    if (line === '') return;
    const keep = this.limits.keep;
    if (line.startsWith('#')) {
      const m = TYPE_LINE.exec(line);
      if (m?.[1] && m[2] && this.types.size < 1000 && (!keep || keep(m[1]))) this.types.set(this.intern(m[1]), this.intern(m[2]));
      return;
    }
    const nm = NAME.exec(line);
    if (!nm) {
      this.skipped++;
      return;
    }
    const name = nm[0];
    const kept = !keep || keep(name);
    if (kept && this.truncated) return; // past the limits: no more work per line
    let i = name.length;
    let labels: Record<string, string> = Object.create(null) as Record<string, string>;
    let count = 0;
    let chars = name.length;
    if (!kept && line[i] === '{') {
      // Not kept: only check the shape cheaply (labels closed, a value after them); nothing is parsed or copied.
      const close = line.lastIndexOf('}');
      if (close < i) {
        this.skipped++;
        return;
      }
      i = close + 1;
    } else if (line[i] === '{') {
      const l = parseLabels(line, i, {
        maxLabels: this.lim.maxLabels, maxValue: this.lim.maxLabelValueLength,
        key: (k) => this.intern(k), value: flat,
      });
      if (!l) {
        this.skipped++;
        return;
      }
      ({ labels, count } = l);
      chars += l.chars;
      this.longLabels += l.long;
      i = l.end;
    }
    const rest = line.slice(i).trim().split(/\s+/, 3);
    const value = rest[0] === undefined ? undefined : parseValue(rest[0]);
    if (value === undefined || (rest[1] !== undefined && rest[1] !== '#' && parseValue(rest[1]) === undefined)) {
      this.skipped++;
      return;
    }
    if (!kept) {
      this.ignored++;
      return;
    }
    const bytes = sampleBytes(chars, count);
    if (this.truncated || this.samples.length >= this.lim.maxSamples || this.bytes + bytes > this.lim.maxKeptBytes) {
      this.truncated = true;
      return;
    }
    this.bytes += bytes;
    this.samples.push({ name: this.intern(name), labels, value });
  }

  result(): ParseResult {
    return {
      samples: this.samples, types: this.types, skipped: this.skipped, truncated: this.truncated,
      longLabels: this.longLabels, ignored: this.ignored, bytes: this.bytes,
    };
  }
}

export function parsePrometheusText(text: string, limits: ParseLimits = {}): ParseResult {
  const p = new PromTextParser(limits);
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end - start > (limits.maxLineLength ?? PARSE_DEFAULTS.maxLineLength)) p.longLine();
    else p.line(text.slice(start, end));
    start = end + 1;
  }
  return p.result();
}

/** Sum of a metric's samples whose labels include `match`. */
export function sumOf(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number | undefined {
  const want = Object.entries(match);
  let total: number | undefined;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (want.length && want.some(([k, v]) => s.labels[k] !== v)) continue;
    total = (total ?? 0) + s.value;
  }
  return total;
}
