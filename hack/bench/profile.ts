import { readFileSync } from 'node:fs';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

/** The top `n` functions of a V8 .cpuprofile (node --cpu-prof) by self time, as printable lines. */
export function topFunctions(file: string, n: number): string[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const hits = new Map<number, number>();
  for (const id of p.samples ?? []) hits.set(id, (hits.get(id) ?? 0) + 1);
  const total = (p.samples ?? []).length || 1;
  const msPerSample = (p.endTime - p.startTime) / 1000 / total;
  const byFunction = new Map<string, number>();
  for (const node of p.nodes) {
    const h = hits.get(node.id) ?? 0;
    if (!h) continue;
    const f = node.callFrame;
    const where = f.url ? `${f.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + h);
  }
  const busy =
    [...byFunction.entries()].filter(([k]) => !k.startsWith('(idle)') && !k.startsWith('(program)')).reduce((a, [, v]) => a + v, 0) || 1;
  return [...byFunction.entries()]
    .filter(([k]) => k !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${(v * msPerSample).toFixed(0).padStart(8)} ms ${((100 * v) / busy).toFixed(1).padStart(5)} % of busy  ${k}`);
}
