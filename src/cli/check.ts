import { readFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { durationMs } from '../api/duration.js';
import { applyDefaults } from '../api/defaults.js';
import { API_VERSION, KIND, PLURAL } from '../api/schema.js';
import { specSchema } from '../checks/registry.js';
import { alignColumns } from '../checks/util.js';
import type { KaiwoMonitorStatus } from '../api/types.js';
import type { KaiwoMonitorSpec } from '../checks/registry.js';
import { evaluateOnce } from '../controller/oneshot.js';
import { validateSpec } from '../controller/validate.js';
import { loadKubeConfig } from '../runtime/kubeconfig.js';
import { createLogger, type LogLevel } from '../runtime/log.js';
import { rawJson } from '../runtime/rawrequest.js';
import { admit, CheckError, type MonitorDoc, toMonitorDoc } from './admission.js';
import { serverInfo } from './connect.js';
import type { FlagDef } from './flags.js';

/** Flags of `check` only. */
export const checkFlags: FlagDef[] = [
  {
    name: 'file',
    short: 'f',
    type: 'string',
    default: '',
    help: 'KaiwoMonitor (or bare spec) YAML/JSON to validate and evaluate; - reads stdin',
  },
  { name: 'name', type: 'string', default: '', help: 'evaluate the spec of an existing KaiwoMonitor (also: first argument)' },
  {
    name: 'output',
    short: 'o',
    type: 'enum',
    values: ['table', 'wide', 'json', 'yaml'],
    default: 'table',
    help: "table; wide adds each component's summary table (e.g. GPU capacity per ClusterQueue); or the whole KaiwoMonitor as json/yaml",
  },
  { name: 'timeout', type: 'duration', default: '60s', help: 'give up waiting for lists and scrapes after this long' },
  { name: 'context', type: 'string', default: '', help: 'kubeconfig context to use (default: the current context)' },
  {
    name: 'verbose',
    short: 'v',
    type: 'bool',
    default: 'false',
    help: 'progress lines on stderr (default: only when stderr is a terminal)',
  },
];

/** Exit codes of `kaiwo-monitor check`. */
export const EXIT = { healthy: 0, unhealthy: 1, unknown: 2 } as const;

const readStdin = () =>
  new Promise<string>((resolve, reject) => {
    let s = '';
    process.stdin.on('data', (c: Buffer) => (s += c.toString()));
    process.stdin.on('end', () => {
      resolve(s);
    });
    process.stdin.on('error', reject);
  });

async function readDoc(file: string): Promise<MonitorDoc> {
  const text =
    file === '-'
      ? await readStdin()
      : await readFile(file, 'utf8').catch((e: unknown) => {
          throw new CheckError(`cannot read ${file}: ${(e as Error).message}`);
        });
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new CheckError(`${file}: not YAML or JSON: ${(e as Error).message.split('\n')[0] ?? ''}`);
  }
  return toMonitorDoc(doc, file);
}

type Kc = Awaited<ReturnType<typeof loadKubeConfig>>;

/** The monitor to evaluate: from -f (validated like admission), an existing one by name, or the defaults. */
async function loadMonitor(
  values: Record<string, string>,
  positional: string | undefined,
  kc: Kc,
  warn: (m: string) => void,
): Promise<{ doc: MonitorDoc; source: string }> {
  const file = values.file ?? '';
  const name = [values.name, positional].find((n) => n !== undefined && n !== '') ?? '';
  if (file && name) throw new CheckError('use either -f or a monitor name, not both');
  if (file) {
    const admitted = await admit(kc, await readDoc(file), file);
    if (admitted.note) warn(admitted.note);
    return { doc: admitted.doc, source: file };
  }
  if (name) {
    const m = await rawJson<MonitorDoc & { metadata: Record<string, unknown> }>(kc, {
      method: 'GET',
      path: `/apis/${API_VERSION}/${PLURAL}/${name}`,
    }).catch((e: unknown) => {
      throw new CheckError(`cannot read KaiwoMonitor ${name}: ${(e as Error).message}`);
    });
    // Keep what identifies it and its generation (kstatus); drop what would make `kubectl apply` of the output conflict.
    const { managedFields: _m, resourceVersion: _r, uid: _u, creationTimestamp: _c, ...metadata } = m.metadata;
    return { doc: { ...m, metadata }, source: `kaiwomonitor/${name}` };
  }
  return { doc: { apiVersion: API_VERSION, kind: KIND, metadata: {}, spec: {} }, source: 'defaults' };
}

/** The whole KaiwoMonitor as the operator would leave it: spec with defaults, status of this evaluation. */
function monitorObject(doc: MonitorDoc, spec: KaiwoMonitorSpec, status: KaiwoMonitorStatus): object {
  const generation = doc.metadata.generation ?? 1;
  const conditions = status.conditions?.map((c) => ({ ...c, observedGeneration: generation }));
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { ...doc.metadata, name: doc.metadata.name ?? 'kaiwo-monitor-check', generation },
    spec,
    status: { ...status, observedGeneration: generation, ...(conditions ? { conditions } : {}) },
  };
}

const table = (rows: string[][]): string => alignColumns(rows, 60).join('\n');

/** The summary tables of the components that have one (status.summary.<component>.table), for -o wide. */
export function renderSummaryTables(status: KaiwoMonitorStatus): string {
  return Object.entries(status.summary ?? {})
    .flatMap(([component, s]) => {
      const t = s?.table;
      if (!t?.rows.length) return [];
      return [`\n${component.toUpperCase()} (${s?.display ?? ''})\n${table([t.columns, ...t.rows])}\n`];
    })
    .join('');
}

export function renderTable(status: KaiwoMonitorStatus): string {
  const conds = [
    ['CONDITION', 'STATUS', 'REASON', 'MESSAGE'],
    ...(status.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message]),
  ];
  const f = status.findings ?? [];
  const counts = status.findingCounts;
  let out = `${table(conds)}\n`;
  if (f.length) {
    const ref = (o: (typeof f)[number]['object']) =>
      o ? `${(o.kind ?? '').toLowerCase()}/${o.namespace ? `${o.namespace}/` : ''}${o.name ?? ''}` : '-';
    out += `\nFINDINGS (${f.length} of ${counts?.total ?? f.length}: ${counts?.critical ?? 0} critical, ${counts?.warning ?? 0} warning, ${counts?.info ?? 0} info)\n`;
    out += `${table([['SEVERITY', 'COMPONENT', 'REASON', 'OBJECT', 'MESSAGE'], ...f.map((x) => [x.severity, x.component, x.reason, ref(x.object), x.message])])}\n`;
  } else {
    out += '\nno findings\n';
  }
  return out;
}

/** `kaiwo-monitor check`: one-shot evaluation; resolves with the exit code (0 healthy, 1 unhealthy, 2 could not evaluate). */
export async function runCheck(values: Record<string, string>, positionals: string[]): Promise<number> {
  const log = createLogger({
    level: (values['log-level'] ?? 'warn') as LogLevel,
    format: values['log-format'] === 'json' ? 'json' : 'console',
  });
  const say = (msg: string) => {
    process.stderr.write(`kaiwo-monitor check: ${msg}\n`);
  };
  const verbose = values.verbose === 'true' || process.stderr.isTTY;
  const progress = verbose ? say : () => undefined;
  try {
    const kc = await loadKubeConfig(values.kubeconfig === '' ? undefined : values.kubeconfig);
    if (values.context) {
      if (!kc.getContextObject(values.context)) throw new CheckError(`context ${JSON.stringify(values.context)} is not in the kubeconfig`);
      kc.setCurrentContext(values.context);
    }
    const info = await serverInfo(kc);
    const { doc, source } = await loadMonitor(values, positionals[0], kc, (m) => {
      say(`warning: ${m}`);
    });
    const spec = applyDefaults<KaiwoMonitorSpec>(specSchema, doc.spec);
    const invalid = validateSpec(spec);
    if (invalid) throw new CheckError(`invalid spec (${source}): ${invalid}`);
    progress(`evaluating ${source} against ${info.server} (${info.gitVersion})`);
    const status = await evaluateOnce(kc, spec, { log, timeoutMs: durationMs(values.timeout ?? '60s'), progress });
    const obj = monitorObject(doc, spec, status);
    const out =
      values.output === 'json'
        ? `${JSON.stringify(obj, null, 2)}\n`
        : values.output === 'yaml'
          ? stringify(obj)
          : values.output === 'wide'
            ? `${renderTable(status)}${renderSummaryTables(status)}`
            : renderTable(status);
    process.stdout.write(out);
    const healthy = status.conditions?.find((c) => c.type === 'Healthy')?.status;
    return healthy === 'True' ? EXIT.healthy : healthy === 'False' ? EXIT.unhealthy : EXIT.unknown;
  } catch (err) {
    say(err instanceof Error ? err.message : String(err));
    return EXIT.unknown;
  }
}
