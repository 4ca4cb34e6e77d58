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
  maxKeptBytes: 16 * 1024 * 1024,
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
  return s.length < 13 ? s : ` ${s}`.slice(1);
}

const TYPE_LINE = /^#\s+TYPE\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s+(\w+)/;
const FLOAT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const HEX = /^[-+]?0[xX][0-9a-fA-F]+$/;

export function parseValue(s: string): number | undefined {
  switch (s) {
    case '+Inf':
    case 'Inf':
    case '+inf':
    case 'inf':
      return Infinity;
    case '-Inf':
    case '-inf':
      return -Infinity;
    case 'NaN':
    case 'nan':
      return NaN;
  }
  if (!FLOAT.test(s) && !HEX.test(s)) return undefined;
  const n = Number(s);
  return Number.isNaN(n) ? undefined : n;
}

/** [a-zA-Z_] (and ':' in metric names), plus digits after the first character. */
function nameChar(c: number, colon: boolean, first: boolean): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (colon && c === 58) || (!first && c >= 48 && c <= 57);
}

/** End of the name starting at i (i itself when there is none). Scans char codes: no slices, no regex. */
function nameEnd(s: string, i: number, colon: boolean): number {
  let j = i;
  while (j < s.length && nameChar(s.charCodeAt(j), colon, j === i)) j++;
  return j;
}

const isSpace = (c: number) => c === 32 || c === 9 || c === 11 || c === 12 || c === 13;
const ESCAPED: Record<string, string> = { n: '\n', '"': '"', '\\': '\\' };

/** Feed it lines; read result() at the end. Allocates only what it keeps (plus one slice per token). */
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
  /** Output of parseLabels (fields, not an object per line). */
  private labels: Record<string, string> = Object.create(null) as Record<string, string>;
  private labelCount = 0;
  private labelChars = 0;
  private labelsLong = 0;
  private labelsEnd = 0;

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
    if (line.charCodeAt(0) === 35 /* # */) {
      const m = TYPE_LINE.exec(line);
      if (m?.[1] && m[2] && this.types.size < 1000 && (!keep || keep(m[1]))) this.types.set(this.intern(m[1]), this.intern(m[2]));
      return;
    }
    let i = nameEnd(line, 0, true);
    if (i === 0) {
      this.skipped++;
      return;
    }
    const name = line.slice(0, i);
    const kept = !keep || keep(name);
    if (kept && this.truncated) return; // past the limits: no more work per line
    let labels: Record<string, string> | undefined;
    let count = 0;
    let long = 0;
    let chars = name.length;
    if (line.charCodeAt(i) === 123 /* { */) {
      if (kept) {
        if (!this.parseLabels(line, i)) {
          this.skipped++;
          return;
        }
        labels = this.labels;
        count = this.labelCount;
        long = this.labelsLong;
        chars += this.labelChars;
        i = this.labelsEnd;
      } else {
        // Not kept: only check the shape cheaply (labels closed, a value after them); nothing is parsed or copied.
        const close = line.lastIndexOf('}');
        if (close < i) {
          this.skipped++;
          return;
        }
        i = close + 1;
      }
    }
    const value = this.valueAt(line, i);
    if (value === undefined) {
      this.skipped++;
      return;
    }
    if (!kept) {
      this.ignored++;
      return;
    }
    this.longLabels += long;
    const bytes = sampleBytes(chars, count);
    if (this.samples.length >= this.lim.maxSamples || this.bytes + bytes > this.lim.maxKeptBytes) {
      this.truncated = true;
      return;
    }
    this.bytes += bytes;
    this.samples.push({ name: this.intern(name), labels: labels ?? (Object.create(null) as Record<string, string>), value });
  }

  result(): ParseResult {
    return {
      samples: this.samples,
      types: this.types,
      skipped: this.skipped,
      truncated: this.truncated,
      longLabels: this.longLabels,
      ignored: this.ignored,
      bytes: this.bytes,
    };
  }

  /** `<value> [<timestamp>|# exemplar...]` from i on; undefined when malformed. */
  private valueAt(line: string, i: number): number | undefined {
    const n = line.length;
    while (i < n && isSpace(line.charCodeAt(i))) i++;
    let j = i;
    while (j < n && !isSpace(line.charCodeAt(j))) j++;
    if (i === j) return undefined;
    const value = parseValue(line.slice(i, j));
    while (j < n && isSpace(line.charCodeAt(j))) j++;
    if (j === n || value === undefined) return value;
    let k = j;
    while (k < n && !isSpace(line.charCodeAt(k))) k++;
    const next = line.slice(j, k);
    return next === '#' || parseValue(next) !== undefined ? value : undefined;
  }

  /**
   * Parses `{a="x",b="y"}` starting at `i` (at '{') into this.labels (keys interned, values copied; values over
   * the length bound dropped and counted); false when malformed.
   */
  private parseLabels(line: string, i: number): boolean {
    const { maxLabels, maxLabelValueLength: maxValue } = this.lim;
    const labels: Record<string, string> = Object.create(null) as Record<string, string>;
    let count = 0;
    let chars = 0;
    let long = 0;
    let backslash = line.indexOf('\\', i);
    i++; // '{'
    for (;;) {
      let c = line.charCodeAt(i);
      while (c === 32 || c === 44) c = line.charCodeAt(++i);
      if (c === 125 /* } */) break;
      const keyEnd = nameEnd(line, i, false);
      if (keyEnd === i || keyEnd - i > 256) return false;
      const keyStart = i;
      i = keyEnd;
      while (line.charCodeAt(i) === 32) i++;
      if (line.charCodeAt(i) !== 61 /* = */) return false;
      i++;
      while (line.charCodeAt(i) === 32) i++;
      if (line.charCodeAt(i) !== 34 /* " */) return false;
      i++;
      // The value runs to the next unescaped quote; copied in runs between escapes (no per-character strings).
      let value = '';
      let length = 0;
      for (;;) {
        const quote = line.indexOf('"', i);
        if (quote < 0) return false;
        if (backslash >= 0 && backslash < i) backslash = line.indexOf('\\', i);
        if (backslash < 0 || quote < backslash) {
          length += quote - i;
          if (length <= maxValue) value += line.slice(i, quote);
          i = quote + 1;
          break;
        }
        length += backslash - i + 1;
        if (length <= maxValue) {
          const e = line[backslash + 1] ?? '';
          value += line.slice(i, backslash) + (ESCAPED[e] ?? `\\${e}`);
        }
        i = backslash + 2;
      }
      if (++count > maxLabels) return false;
      if (length > maxValue) {
        long++;
        continue;
      }
      labels[this.intern(line.slice(keyStart, keyEnd))] = flat(value);
      chars += keyEnd - keyStart + value.length;
    }
    this.labels = labels;
    this.labelCount = count;
    this.labelChars = chars;
    this.labelsLong = long;
    this.labelsEnd = i + 1;
    return true;
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
