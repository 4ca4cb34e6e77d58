import { durationMs } from '../api/duration.js';
import type { Sample } from '../sources/promtext.js';
import type { ScrapeSpec, ScrapeView } from './types.js';
import { prometheusScrape } from './util.js';

/**
 * GPU hardware signals from the vendors' exporters, read through a Prometheus HTTP API: one instant query per
 * signal family, each leg filtered to the GPUs past their threshold in PromQL (so an answer holds only problem
 * GPUs: small on a healthy fleet, bounded by the fleet on a sick one) and tagged with the signal it is
 * (`kmon_signal`), AMD device-metrics-exporter and NVIDIA dcgm-exporter legs joined with `or`. Counters are read
 * as increase() over a window (a counter reset is not an increase), gauges as the value held over `sustain`.
 * Sources of the names, labels and XID lists: ../shared/reference/gpu-signals.md and README "GPU hardware".
 */

export interface SignalsSpec {
  enabled: boolean;
  prometheusURL?: string;
  interval: string;
  timeout: string;
  failureGrace: string;
  tls: { insecureSkipVerify: boolean; caBundle?: string };
  window: string;
  sustain: string;
  nodeLabels: string[];
  uncorrectableECC: number;
  correctableECC: number;
  pcieReplays: number;
  temperatureCelsius: number;
  junctionTemperatureCelsius: number;
  criticalXIDs: number[];
  ignoredXIDs: number[];
  missingGrace: string;
}

export type Severity = 'Critical' | 'Warning';
export const FAMILIES = ['health', 'memory', 'errors', 'thermal', 'pcie'] as const;
export type Family = (typeof FAMILIES)[number];
/** The families with signals that can make a GPU unusable (Critical): what the capacity check reads. */
export const CRITICAL_FAMILIES: readonly Family[] = ['health', 'memory', 'errors'];

interface Leg {
  /** The value of kmon_signal on its samples. */
  signal: string;
  family: Family;
  vendor: 'AMD' | 'NVIDIA';
  /** The PromQL of the leg, already filtered to the GPUs past the threshold. */
  expr: (s: SignalsSpec, window: string, sustain: string) => string;
  /** Critical or Warning; 'xid': by the XID it carries (the value, or the xid label). */
  severity: Severity | 'xid';
  reason: string;
  /** "<what> <value>" for the message. */
  what: (value: number, labels: Readonly<Record<string, string>>, s: SignalsSpec) => string;
}

const n = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
/** Series above this are broken sensors or hostile, not readings: dropped in PromQL (the decoder refuses > 2^53). */
const SANE = '1e15';

const LEGS: readonly Leg[] = [
  {
    signal: 'amd_gpu_health',
    family: 'health',
    vendor: 'AMD',
    expr: () => 'gpu_health == 0',
    severity: 'Critical',
    reason: 'GPUReportedUnhealthy',
    what: () => 'device-metrics-exporter reports it unhealthy (gpu_health 0)',
  },
  {
    signal: 'nvidia_health_status',
    family: 'health',
    vendor: 'NVIDIA',
    // DCGM health results: 0 pass, 10 warn, 20 fail (dcgmHealthWatchResult_t).
    expr: () => `DCGM_EXP_GPU_HEALTH_STATUS >= 20 < ${SANE}`,
    severity: 'Critical',
    reason: 'GPUReportedUnhealthy',
    what: (_v, l) => `DCGM health check failed${l.health_watch ? ` (${l.health_watch})` : ''}`,
  },
  {
    signal: 'amd_ecc_uncorrectable',
    family: 'memory',
    vendor: 'AMD',
    expr: (s, w) => `increase(gpu_ecc_uncorrect_total[${w}]) >= ${s.uncorrectableECC} < ${SANE}`,
    severity: 'Critical',
    reason: 'GPUUncorrectableECC',
    what: (v, _l, s) => `${n(v)} uncorrectable ECC errors in ${s.window} (gpu_ecc_uncorrect_total)`,
  },
  {
    signal: 'nvidia_ecc_dbe',
    family: 'memory',
    vendor: 'NVIDIA',
    expr: (s, w) => `increase(DCGM_FI_DEV_ECC_DBE_VOL_TOTAL[${w}]) >= ${s.uncorrectableECC} < ${SANE}`,
    severity: 'Critical',
    reason: 'GPUUncorrectableECC',
    what: (v, _l, s) => `${n(v)} double-bit (uncorrectable) ECC errors in ${s.window} (DCGM_FI_DEV_ECC_DBE_VOL_TOTAL)`,
  },
  {
    signal: 'nvidia_row_remap_failure',
    family: 'memory',
    vendor: 'NVIDIA',
    expr: () => `DCGM_FI_DEV_ROW_REMAP_FAILURE > 0 < ${SANE}`,
    severity: 'Critical',
    reason: 'GPURowRemapFailure',
    what: () => 'row remapping failed (DCGM_FI_DEV_ROW_REMAP_FAILURE): the GPU needs replacement',
  },
  {
    signal: 'nvidia_remapped_rows',
    family: 'memory',
    vendor: 'NVIDIA',
    expr: (_s, w) => `increase(DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS[${w}]) > 0 < ${SANE}`,
    severity: 'Warning',
    reason: 'GPURowsRemapped',
    what: (v, _l, s) =>
      `${n(v)} rows remapped for uncorrectable errors in ${s.window} (DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS): reset the GPU when it is idle`,
  },
  {
    signal: 'amd_ecc_correctable',
    family: 'memory',
    vendor: 'AMD',
    expr: (s, w) => `increase(gpu_ecc_correct_total[${w}]) >= ${s.correctableECC} < ${SANE}`,
    severity: 'Warning',
    reason: 'GPUCorrectableECC',
    what: (v, _l, s) => `${n(v)} correctable ECC errors in ${s.window} (gpu_ecc_correct_total)`,
  },
  {
    signal: 'nvidia_ecc_sbe',
    family: 'memory',
    vendor: 'NVIDIA',
    expr: (s, w) => `increase(DCGM_FI_DEV_ECC_SBE_VOL_TOTAL[${w}]) >= ${s.correctableECC} < ${SANE}`,
    severity: 'Warning',
    reason: 'GPUCorrectableECC',
    what: (v, _l, s) => `${n(v)} single-bit (correctable) ECC errors in ${s.window} (DCGM_FI_DEV_ECC_SBE_VOL_TOTAL)`,
  },
  {
    signal: 'nvidia_xid_last',
    family: 'errors',
    vendor: 'NVIDIA',
    // The last XID the GPU raised; it never resets while DCGM runs, so a critical one stays until the GPU is reset.
    expr: () => `DCGM_FI_DEV_XID_ERRORS > 0 < ${SANE}`,
    severity: 'xid',
    reason: 'GPUXidError',
    what: (v) => `last XID ${n(v)} (DCGM_FI_DEV_XID_ERRORS)`,
  },
  {
    signal: 'nvidia_xid_count',
    family: 'errors',
    vendor: 'NVIDIA',
    // A gauge: the XIDs of one code counted over dcgm-exporter's own sliding window (default 5 m); its highest count
    // within ours, so an XID stays reported one window after DCGM's count fell back to 0.
    expr: (_s, w) => `max_over_time(DCGM_EXP_XID_ERRORS_COUNT[${w}]) > 0 < ${SANE}`,
    severity: 'xid',
    reason: 'GPUXidError',
    what: (v, l, s) => `XID ${l.xid ?? '?'} counted ${n(v)} within the last ${s.window} (DCGM_EXP_XID_ERRORS_COUNT)`,
  },
  {
    signal: 'amd_ras_fatal',
    family: 'errors',
    vendor: 'AMD',
    // A gauge whose value is the AFID (AMD Field Identifier) of the last RAS event, a series per event of the list
    // (afid_index): present while the exporter holds the event, not a count (device-metrics-exporter metricslist.md).
    expr: () => `gpu_afid_errors{severity="fatal"} > 0 < ${SANE}`,
    severity: 'Critical',
    reason: 'GPUFatalError',
    what: (v) => `fatal RAS event, AFID ${n(v)} (gpu_afid_errors)`,
  },
  {
    signal: 'amd_ras_uncorrected',
    family: 'errors',
    vendor: 'AMD',
    expr: () => `gpu_afid_errors{severity="non_fatal_uncorrected"} > 0 < ${SANE}`,
    severity: 'Warning',
    reason: 'GPUUncorrectedError',
    what: (v) => `non-fatal uncorrected RAS event, AFID ${n(v)} (gpu_afid_errors)`,
  },
  {
    signal: 'amd_junction_temperature',
    family: 'thermal',
    vendor: 'AMD',
    expr: (s, _w, h) => `min_over_time(gpu_junction_temperature[${h}]) >= ${s.junctionTemperatureCelsius} < ${SANE}`,
    severity: 'Warning',
    reason: 'GPUOverheating',
    what: (v, _l, s) =>
      `junction at ${n(v)} °C or more for ${s.sustain} (gpu_junction_temperature; threshold ${s.junctionTemperatureCelsius} °C)`,
  },
  {
    signal: 'amd_edge_temperature',
    family: 'thermal',
    vendor: 'AMD',
    expr: (s, _w, h) => `min_over_time(gpu_edge_temperature[${h}]) >= ${s.temperatureCelsius} < ${SANE}`,
    severity: 'Warning',
    reason: 'GPUOverheating',
    what: (v, _l, s) => `edge at ${n(v)} °C or more for ${s.sustain} (gpu_edge_temperature; threshold ${s.temperatureCelsius} °C)`,
  },
  {
    signal: 'nvidia_temperature',
    family: 'thermal',
    vendor: 'NVIDIA',
    expr: (s, _w, h) => `min_over_time(DCGM_FI_DEV_GPU_TEMP[${h}]) >= ${s.temperatureCelsius} < ${SANE}`,
    severity: 'Warning',
    reason: 'GPUOverheating',
    what: (v, _l, s) => `at ${n(v)} °C or more for ${s.sustain} (DCGM_FI_DEV_GPU_TEMP; threshold ${s.temperatureCelsius} °C)`,
  },
  {
    signal: 'nvidia_thermal_violation',
    family: 'thermal',
    vendor: 'NVIDIA',
    // Time the GPU was held back by thermal limits; DCGM versions disagree on the unit (µs or ns), so none is claimed.
    expr: (_s, w) => `increase(DCGM_FI_DEV_THERMAL_VIOLATION[${w}]) > 0 < ${SANE}`,
    severity: 'Warning',
    reason: 'GPUThermalThrottling',
    what: (v, _l, s) => `thermally throttled in the last ${s.window} (DCGM_FI_DEV_THERMAL_VIOLATION grew by ${n(v)})`,
  },
  {
    signal: 'amd_pcie_replays',
    family: 'pcie',
    vendor: 'AMD',
    expr: (s, w) => `increase(pcie_replay_count[${w}]) >= ${s.pcieReplays} < ${SANE}`,
    severity: 'Warning',
    reason: 'GPUPCIeReplays',
    what: (v, _l, s) => `${n(v)} PCIe replays in ${s.window} (pcie_replay_count)`,
  },
  {
    signal: 'nvidia_pcie_replays',
    family: 'pcie',
    vendor: 'NVIDIA',
    expr: (s, w) => `increase(DCGM_FI_DEV_PCIE_REPLAY_COUNTER[${w}]) >= ${s.pcieReplays} < ${SANE}`,
    severity: 'Warning',
    reason: 'GPUPCIeReplays',
    what: (v, _l, s) => `${n(v)} PCIe replays in ${s.window} (DCGM_FI_DEV_PCIE_REPLAY_COUNTER)`,
  },
];

const BY_SIGNAL = new Map(LEGS.map((l) => [l.signal, l]));
/** A PromQL range in whole seconds (spec durations may read "1h30m" or "90s"; Prometheus takes "5400s"). */
const range = (d: string) => `${Math.max(1, Math.round(durationMs(d) / 1000))}s`;
/** Label names go into PromQL as written: only identifiers pass (the schema enforces the same). */
const LABEL = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The PromQL of one family: its legs, each tagged with kmon_signal, joined with `or`. */
export function familyQuery(s: SignalsSpec, family: Family): string {
  const w = range(s.window);
  const h = range(s.sustain);
  return LEGS.filter((l) => l.family === family)
    .map((l) => `label_replace(${l.expr(s, w, h)}, "kmon_signal", "${l.signal}", "", "")`)
    .join(' or ');
}

/** Every GPU node's exporter series, one per node: a node missing here is blind (its exporter is gone or not scraped). */
export function coverageQuery(s: SignalsSpec): string {
  const by = s.nodeLabels.filter((l) => LABEL.test(l)).join(', ');
  return `group by (${by}) (gpu_gfx_activity or gpu_health or DCGM_FI_DEV_GPU_UTIL or DCGM_FI_DEV_GPU_TEMP)`;
}

/** The scrapes of the given families (`hw.<family>`) and, with `coverage`, the coverage query (`hw.coverage`). */
export function signalScrapes(s: SignalsSpec, families: readonly Family[], coverage: boolean): Record<string, ScrapeSpec> {
  if (!s.enabled || !s.prometheusURL) return {};
  const out: Record<string, ScrapeSpec> = {};
  for (const f of families) out[`hw.${f}`] = prometheusScrape(s, familyQuery(s, f));
  if (coverage) out['hw.coverage'] = prometheusScrape(s, coverageQuery(s));
  return out;
}

/** One GPU past one threshold. */
export interface GPUSignal {
  node: string;
  /** Index (gpu_id / gpu) and UUID where the exporter labels them. */
  gpu: string;
  uuid?: string;
  signal: string;
  family: Family;
  severity: Severity;
  reason: string;
  value: number;
  message: string;
}

export interface SignalRead {
  signals: GPUSignal[];
  /** Series naming no known node (or none at all): ignored, counted. */
  unmatched: number;
  /** Series of application XIDs (the job's fault, not the GPU's): ignored, counted. */
  applicationXids: number;
  /** Series beyond MAX_GPUS_PER_NODE distinct GPUs on one node (hostile or broken labels): ignored, counted. */
  dropped: number;
}

/** More distinct GPUs than any node has (8 or 16 today, 64 with partitions): beyond it a node's series are dropped. */
export const MAX_GPUS_PER_NODE = 64;

/** The node a series names: the first of the spec's node labels that is set. */
export function nodeOf(labels: Readonly<Record<string, string>>, nodeLabels: readonly string[]): string {
  for (const k of nodeLabels) {
    const v = labels[k];
    if (v) return v;
  }
  return '';
}

const gpuOf = (l: Readonly<Record<string, string>>) => l.gpu_id ?? l.gpu ?? l.device ?? '';
const uuidOf = (l: Readonly<Record<string, string>>) => l.gpu_uuid ?? l.UUID ?? l.uuid ?? '';

/** The XID's severity by the spec's lists: ignored (application) → undefined, critical → Critical, else Warning. */
export function xidSeverity(xid: number, s: Pick<SignalsSpec, 'criticalXIDs' | 'ignoredXIDs'>): Severity | undefined {
  if (s.ignoredXIDs.includes(xid)) return undefined;
  return s.criticalXIDs.includes(xid) ? 'Critical' : 'Warning';
}

/**
 * The signals in the latest answers of the given family scrapes, for the nodes in `nodes` only (a series naming
 * another node, or none, is counted in `unmatched`): one per node, GPU and signal, the worst value kept; at most
 * MAX_GPUS_PER_NODE GPUs per node (the rest counted in `dropped`), so the answer is bounded by the fleet.
 */
export function readSignals(
  views: Readonly<Record<string, ScrapeView | undefined>>,
  nodes: ReadonlySet<string>,
  s: SignalsSpec,
): SignalRead {
  const out = new Map<string, GPUSignal>();
  const gpusOf = new Map<string, Set<string>>();
  let unmatched = 0;
  let applicationXids = 0;
  let dropped = 0;
  for (const f of FAMILIES) {
    const samples: readonly Sample[] = views[`hw.${f}`]?.history.at(-1)?.samples ?? [];
    for (const x of samples) {
      const leg = BY_SIGNAL.get(x.labels.kmon_signal ?? '');
      if (leg?.family !== f || !Number.isFinite(x.value)) continue;
      const node = nodeOf(x.labels, s.nodeLabels);
      if (!node || !nodes.has(node)) {
        unmatched++;
        continue;
      }
      let severity: Severity | undefined;
      if (leg.severity === 'xid') {
        const xid = leg.signal === 'nvidia_xid_last' ? x.value : Number(x.labels.xid);
        severity = Number.isInteger(xid) ? xidSeverity(xid, s) : 'Warning';
      } else severity = leg.severity;
      if (!severity) {
        applicationXids++;
        continue;
      }
      const gpu = gpuOf(x.labels);
      const uuid = uuidOf(x.labels);
      let seen = gpusOf.get(node);
      if (!seen) gpusOf.set(node, (seen = new Set()));
      const id = `${gpu}\u0000${uuid}`;
      if (!seen.has(id)) {
        if (seen.size >= MAX_GPUS_PER_NODE) {
          dropped++;
          continue;
        }
        seen.add(id);
      }
      const key = `${node}\u0000${gpu}\u0000${uuid}\u0000${leg.signal}\u0000${x.labels.xid ?? x.labels.afid_index ?? ''}`;
      const have = out.get(key);
      // The worst: by severity first (a last-XID series' value is the XID, not a magnitude), then by value.
      if (have && (have.severity !== severity ? have.severity === 'Critical' : have.value >= x.value)) continue;
      const name = `GPU ${gpu || '?'}${uuid ? ` (${uuid})` : ''} on ${node}`;
      out.set(key, {
        node,
        gpu,
        ...(uuid ? { uuid } : {}),
        signal: leg.signal,
        family: f,
        severity,
        reason: leg.reason,
        value: x.value,
        message: `${name}: ${leg.what(x.value, x.labels, s)}`,
      });
    }
  }
  const signals = [...out.values()].sort(
    (a, b) =>
      (a.severity === b.severity ? 0 : a.severity === 'Critical' ? -1 : 1) ||
      a.node.localeCompare(b.node) ||
      a.gpu.localeCompare(b.gpu, undefined, { numeric: true }) ||
      a.signal.localeCompare(b.signal),
  );
  return { signals, unmatched, applicationXids, dropped };
}

/** The nodes the coverage answer names (those with exporter series in Prometheus). */
export function coveredNodes(view: ScrapeView | undefined, s: Pick<SignalsSpec, 'nodeLabels'>): Set<string> {
  const out = new Set<string>();
  for (const x of view?.history.at(-1)?.samples ?? []) {
    const node = nodeOf(x.labels, s.nodeLabels);
    if (node) out.add(node);
  }
  return out;
}

/** GPUs per node with a signal of `severity` (distinct GPUs; a signal without a GPU label counts as one). */
export function gpusByNode(signals: readonly GPUSignal[], severity: Severity = 'Critical'): Map<string, number> {
  const gpus = new Map<string, Set<string>>();
  for (const x of signals) {
    if (x.severity !== severity) continue;
    let set = gpus.get(x.node);
    if (!set) gpus.set(x.node, (set = new Set()));
    set.add(x.uuid ?? (x.gpu || x.signal));
  }
  return new Map([...gpus].map(([k, v]) => [k, v.size]));
}
