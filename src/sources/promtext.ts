/**
 * A small, defensive parser for the Prometheus text exposition format (0.0.4; OpenMetrics lines are tolerated).
 * It never throws and never holds more than `maxSamples` samples: malformed lines are skipped and counted.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParseResult {
  samples: Sample[];
  types: Map<string, string>;
  skipped: number;
  truncated: boolean;
}

export interface ParseLimits {
  maxSamples?: number;
  maxLineLength?: number;
  maxLabels?: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(s: string): number | undefined {
  switch (s) {
    case '+Inf': case 'Inf': case '+inf': case 'inf': return Infinity;
    case '-Inf': case '-inf': return -Infinity;
    case 'NaN': case 'nan': return NaN;
  }
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s) && !/^[-+]?0[xX][0-9a-fA-F]+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isNaN(n) ? undefined : n;
}

/** Parses `{a="x",b="y"}` starting at `i` (at '{'); returns labels and the index after '}', or undefined. */
function parseLabels(line: string, i: number, maxLabels: number): { labels: Record<string, string>; end: number } | undefined {
  const labels: Record<string, string> = Object.create(null) as Record<string, string>;
  let count = 0;
  i++; // '{'
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return { labels, end: i + 1 };
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
    let value = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) return undefined;
      if (c === '\\') {
        const n = line[i + 1];
        value += n === 'n' ? '\n' : n === '"' ? '"' : n === '\\' ? '\\' : `\\${n ?? ''}`;
        i += 2;
        continue;
      }
      if (c === '"') {
        i++;
        break;
      }
      value += c;
      i++;
    }
    if (++count > maxLabels) return undefined;
    labels[key] = value;
  }
}

export function parsePrometheusText(text: string, limits: ParseLimits = {}): ParseResult {
  const maxSamples = limits.maxSamples ?? 200_000;
  const maxLine = limits.maxLineLength ?? 65_536;
  const maxLabels = limits.maxLabels ?? 64;
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  let skipped = 0;
  let truncated = false;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const raw = text.slice(start, Math.min(end, start + maxLine + 1));
    const tooLong = end - start > maxLine;
    start = end + 1;
    const line = raw.trim();
    if (line === '') continue;
    if (tooLong) {
      skipped++;
      continue;
    }
    if (line.startsWith('#')) {
      const m = /^#\s+TYPE\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s+(\w+)/.exec(line);
      if (m?.[1] && m[2] && types.size < 10_000) types.set(m[1], m[2]);
      continue;
    }
    const nm = NAME.exec(line);
    if (!nm) {
      skipped++;
      continue;
    }
    let i = nm[0].length;
    let labels: Record<string, string> = Object.create(null) as Record<string, string>;
    if (line[i] === '{') {
      const l = parseLabels(line, i, maxLabels);
      if (!l) {
        skipped++;
        continue;
      }
      labels = l.labels;
      i = l.end;
    }
    const rest = line.slice(i).trim().split(/\s+/);
    const value = rest[0] === undefined ? undefined : parseValue(rest[0]);
    if (value === undefined || (rest[1] !== undefined && rest[1] !== '#' && parseValue(rest[1]) === undefined)) {
      skipped++;
      continue;
    }
    if (samples.length >= maxSamples) {
      truncated = true;
      break;
    }
    samples.push({ name: nm[0], labels, value });
  }
  return { samples, types, skipped, truncated };
}

/** Sum of a metric's samples whose labels include `match`. */
export function sumOf(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).some(([k, v]) => s.labels[k] !== v)) continue;
    total = (total ?? 0) + s.value;
  }
  return total;
}
