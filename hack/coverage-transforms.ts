/**
 * Fails when one source file reached the coverage data in more than one compiled form.
 *
 * c8 merges every process's V8 ranges for a file by URL before it maps them back through one process's source
 * map. When processes compiled the same file differently (tsx turns a file reached through require() into
 * CommonJS, and one imported into ESM), the merged ranges are misaligned, and the totals depend on which
 * process's file sorts first, that is on process ids: the same commit measured 90.9 % of lines on one machine
 * and 85.4 % on another. Every process therefore has to load src/ as ESM (.mocharc.json turns require(esm) off
 * so mocha import()s; scripts a test writes are .mts). Run after `c8 mocha`, before `c8 check-coverage`.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface ProcessCoverage {
  result: { url: string }[];
  'source-map-cache'?: Record<string, { lineLengths?: number[] } | undefined>;
}

const tmp = join('coverage', 'tmp');
const src = `${pathToFileURL(join(process.cwd(), 'src')).href}/`;
const forms = new Map<string, Map<string, string[]>>();
for (const file of readdirSync(tmp).filter((f) => f.endsWith('.json'))) {
  const cov = JSON.parse(readFileSync(join(tmp, file), 'utf8')) as ProcessCoverage;
  for (const { url } of cov.result) {
    if (!url.startsWith(src)) continue;
    const lengths = cov['source-map-cache']?.[url]?.lineLengths;
    const form = lengths ? createHash('sha256').update(lengths.join(',')).digest('hex').slice(0, 12) : 'no source map';
    const byForm = forms.get(url) ?? new Map<string, string[]>();
    byForm.set(form, [...(byForm.get(form) ?? []), file]);
    forms.set(url, byForm);
  }
}
const mixed = [...forms].filter(([, byForm]) => byForm.size > 1);
for (const [url, byForm] of mixed) {
  const seen = [...byForm].map(([form, files]) => `${form} in ${files.length} (e.g. ${files[0]})`);
  process.stderr.write(`${url.slice(src.length - 4)}: ${byForm.size} compiled forms: ${seen.join('; ')}\n`);
}
if (mixed.length) {
  process.stderr.write(`coverage: ${mixed.length} source file(s) loaded in more than one compiled form; the totals would be wrong\n`);
  process.exit(1);
}
process.stderr.write(`coverage: ${forms.size} source files, each in one compiled form\n`);
