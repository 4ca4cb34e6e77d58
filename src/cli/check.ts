import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { durationMs } from '../api/duration.js';
import { applyDefaults } from '../api/defaults.js';
import { GROUP, KIND, PLURAL, specSchema, VERSION } from '../api/schema.js';
import type { KaiwoMonitorSpec, KaiwoMonitorStatus } from '../api/types.js';
import { evaluateOnce } from '../controller/oneshot.js';
import { validateSpec } from '../controller/validate.js';
import { loadKubeConfig } from '../runtime/kubeconfig.js';
import { createLogger, type LogLevel } from '../runtime/log.js';
import { rawJson } from '../runtime/rawrequest.js';
import { serverInfo } from './connect.js';
import type { FlagDef } from './flags.js';

export const checkFlags: FlagDef[] = [
  { name: 'file', short: 'f', type: 'string', default: '', help: 'KaiwoMonitor (or bare spec) YAML/JSON to evaluate; - reads stdin' },
  { name: 'name', type: 'string', default: '', help: 'evaluate the spec of an existing KaiwoMonitor (also: first argument)' },
  { name: 'output', short: 'o', type: 'enum', values: ['table', 'json', 'yaml'], default: 'table', help: 'output format' },
  { name: 'timeout', type: 'duration', default: '60s', help: 'give up waiting for lists and scrapes after this long' },
];

/** Exit codes of `kaiwo-monitor check`. */
export const EXIT = { healthy: 0, unhealthy: 1, unknown: 2 } as const;

class CheckError extends Error {}

async function loadSpec(values: Record<string, string>, positional: string | undefined, kc: ReturnType<typeof loadKubeConfig>): Promise<{ spec: unknown; source: string }> {
  const file = values.file ?? '';
  const name = [values.name, positional].find((n) => n !== undefined && n !== '') ?? '';
  if (file && name) throw new CheckError('use either -f or a monitor name, not both');
  if (file) {
    const text = file === '-' ? await new Promise<string>((r) => { let s = ''; process.stdin.on('data', (c: Buffer) => (s += c.toString())); process.stdin.on('end', () => { r(s); }); }) : await readFile(file, 'utf8').catch((e: unknown) => { throw new CheckError(`cannot read ${file}: ${(e as Error).message}`); });
    let doc: unknown;
    try {
      doc = parse(text);
    } catch (e) {
      throw new CheckError(`${file}: not YAML or JSON: ${(e as Error).message.split('\n')[0] ?? ''}`);
    }
    if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc))) throw new CheckError(`${file}: expected a KaiwoMonitor or a spec object`);
    const obj = (doc ?? {}) as { kind?: string; spec?: unknown };
    const spec: unknown = obj.kind === KIND || 'spec' in obj ? (obj.spec ?? {}) : obj;
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new CheckError(`${file}: spec must be an object`);
    const known = Object.keys(specSchema.properties as object);
    const unknown = Object.keys(spec).filter((k) => !known.includes(k));
    if (unknown.length) throw new CheckError(`${file}: unknown field(s) ${unknown.map((k) => `spec.${k}`).join(', ')}; known: ${known.join(', ')}`);
    return { spec, source: file };
  }
  if (name) {
    const m = await rawJson<{ spec?: unknown }>(kc, { method: 'GET', path: `/apis/${GROUP}/${VERSION}/${PLURAL}/${name}` })
      .catch((e: unknown) => { throw new CheckError(`cannot read KaiwoMonitor ${name}: ${(e as Error).message}`); });
    return { spec: m.spec ?? {}, source: `kaiwomonitor/${name}` };
  }
  return { spec: {}, source: 'defaults' };
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.min(60, Math.max(...rows.map((r) => (r[i] ?? '').length)))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.slice(0, widths[i]).padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

export function renderTable(status: KaiwoMonitorStatus): string {
  const conds = [['CONDITION', 'STATUS', 'REASON', 'MESSAGE'], ...(status.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message])];
  const f = status.findings ?? [];
  const counts = status.findingCounts;
  let out = `${table(conds)}\n`;
  if (f.length) {
    const ref = (o: (typeof f)[number]['object']) => (o ? `${(o.kind ?? '').toLowerCase()}/${o.namespace ? `${o.namespace}/` : ''}${o.name ?? ''}` : '-');
    out += `\nFINDINGS (${f.length} of ${counts?.total ?? f.length}: ${counts?.critical ?? 0} critical, ${counts?.warning ?? 0} warning, ${counts?.info ?? 0} info)\n`;
    out += `${table([['SEVERITY', 'COMPONENT', 'REASON', 'OBJECT', 'MESSAGE'], ...f.map((x) => [x.severity, x.component, x.reason, ref(x.object), x.message])])}\n`;
  } else {
    out += '\nno findings\n';
  }
  return out;
}

/** `kaiwo-monitor check`: one-shot evaluation; resolves with the exit code (0 healthy, 1 unhealthy, 2 could not evaluate). */
export async function runCheck(values: Record<string, string>, positionals: string[]): Promise<number> {
  const log = createLogger({ level: (values['log-level'] ?? 'warn') as LogLevel, format: values['log-format'] === 'json' ? 'json' : 'console' });
  const progress = (msg: string) => { process.stderr.write(`kaiwo-monitor check: ${msg}\n`); };
  try {
    const kc = loadKubeConfig(values.kubeconfig === '' ? undefined : values.kubeconfig);
    const info = await serverInfo(kc);
    const { spec: raw, source } = await loadSpec(values, positionals[0], kc);
    const spec = applyDefaults<KaiwoMonitorSpec>(specSchema, raw as Partial<KaiwoMonitorSpec>);
    const invalid = validateSpec(spec);
    if (invalid) throw new CheckError(`invalid spec (${source}): ${invalid}`);
    progress(`evaluating ${source} against ${info.server} (${info.gitVersion})`);
    const status = await evaluateOnce(kc, spec, { log, timeoutMs: durationMs(values.timeout ?? '60s'), progress });
    const out = values.output === 'json' ? `${JSON.stringify(status, null, 2)}\n` : values.output === 'yaml' ? (await import('yaml')).stringify(status) : renderTable(status);
    process.stdout.write(out);
    const healthy = status.conditions?.find((c) => c.type === 'Healthy')?.status;
    return healthy === 'True' ? EXIT.healthy : healthy === 'False' ? EXIT.unhealthy : EXIT.unknown;
  } catch (err) {
    process.stderr.write(`kaiwo-monitor check: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.unknown;
  }
}
