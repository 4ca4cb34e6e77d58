import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Condition, Finding, KaiwoMonitorStatus } from '../api/types.js';
import { SEVERITIES } from '../api/schema.js';
import { checkGauges } from '../checks/registry.js';
import type { GaugeDef, GaugeSample } from '../checks/types.js';

type Labels = Record<string, string>;

/** A metric whose series can be removed by their complete label set (prom-client ignores partial ones). */
interface Removable {
  remove(labels: Labels): void;
}

/** Per-monitor series of other metrics (labelled by `monitor` only), removed when the monitor goes away. */
const MONITOR_ONLY = ['kaiwo_monitor_status_patches_total', 'kaiwo_monitor_interval_seconds'];

/** One evaluation of a monitor, for MonitorMetrics.observe. */
export interface Observation {
  /** The monitor's name: the `monitor` label. */
  monitor: string;
  conditions: readonly Condition[];
  /** Every finding, not only the 50 in status.findings; those with a reason are also counted by reason. */
  findings: readonly (Pick<Finding, 'component' | 'severity'> & { reason?: string })[];
  /** When it was evaluated: kaiwo_monitor_last_check_timestamp_seconds. */
  at: Date;
  /** status.summary; its counts become kaiwo_monitor_summary. */
  summary?: KaiwoMonitorStatus['summary'];
  /** The enabled components, each with finding totals (0 when none); default: those with findings or a summary. */
  components?: readonly string[];
  /** Values of the checks' own gauges (e.g. kaiwo_monitor_capacity_gpus) by metric name. */
  gauges?: Record<string, readonly GaugeSample[]>;
}

/**
 * KaiwoMonitor metrics, set by the replica that evaluates (the leader): standbys export none, so
 * `max by (monitor, type, status)` over replicas is the current state.
 *
 * prom-client's `remove()` only removes a series given its complete label set, so every series written for a
 * monitor is remembered and the ones an evaluation no longer writes (a disabled component, a condition type
 * that went away, a deleted monitor) are removed by their exact labels.
 */
export class MonitorMetrics {
  readonly condition: Gauge<'monitor' | 'type' | 'status'>;
  readonly findings: Gauge<'monitor' | 'component' | 'severity'>;
  /** Findings by reason (the dashboard's top findings per component); a reason's series goes when it does. */
  readonly findingReasons: Gauge<'monitor' | 'component' | 'severity' | 'reason'>;
  readonly lastCheck: Gauge<'monitor'>;
  /** spec.interval in seconds, set on every reconcile: the KaiwoMonitorStale alert is relative to it. */
  readonly interval: Gauge<'monitor'>;
  readonly summary: Gauge<'monitor' | 'component' | 'count'>;
  readonly eventToStatus: Histogram;
  /** Checks actually run (not reused from CheckMemo): what incremental evaluation saves shows here. */
  readonly checkRuns: Counter<'monitor' | 'component'>;
  private readonly ran = new Map<string, Set<string>>();
  /** The gauges checks declare (e.g. kaiwo_monitor_capacity_gpus), labelled by monitor and their own labels. */
  readonly checkGauges = new Map<string, Gauge>();
  /** monitor → metric → JSON of each label set written for it. */
  private readonly written = new Map<string, Map<Removable, Set<string>>>();

  constructor(
    private readonly registry: Registry,
    gauges: Record<string, GaugeDef> = checkGauges(),
  ) {
    const registers = [registry];
    for (const [name, d] of Object.entries(gauges)) {
      this.checkGauges.set(name, new Gauge({ name, help: d.help, labelNames: ['monitor', ...d.labelNames], registers }));
    }
    this.condition = new Gauge({
      name: 'kaiwo_monitor_condition',
      help: 'KaiwoMonitor condition status (1 for the current status of each condition type)',
      labelNames: ['monitor', 'type', 'status'],
      registers,
    });
    this.findings = new Gauge({
      name: 'kaiwo_monitor_findings',
      help: 'Findings on a KaiwoMonitor by component and severity (totals, not capped at 50)',
      labelNames: ['monitor', 'component', 'severity'],
      registers,
    });
    this.findingReasons = new Gauge({
      name: 'kaiwo_monitor_finding_reasons',
      help: 'Findings on a KaiwoMonitor by component, severity and reason',
      labelNames: ['monitor', 'component', 'severity', 'reason'],
      registers,
    });
    this.summary = new Gauge({
      name: 'kaiwo_monitor_summary',
      help: 'Counts from status.summary (e.g. gpuNodes ready, gpusInstalled, gpusAvailable)',
      labelNames: ['monitor', 'component', 'count'],
      registers,
    });
    this.eventToStatus = new Histogram({
      name: 'kaiwo_monitor_event_to_status_seconds',
      help: 'Detection latency: first watch event or scrape that changed a monitor until its status was written',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.lastCheck = new Gauge({
      name: 'kaiwo_monitor_last_check_timestamp_seconds',
      help: 'Unix time of the last evaluation of a KaiwoMonitor',
      labelNames: ['monitor'],
      registers,
    });
    this.checkRuns = new Counter({
      name: 'kaiwo_monitor_check_runs_total',
      help: 'Checks run on a KaiwoMonitor (an unchanged input reuses the last outcome and is not counted)',
      labelNames: ['monitor', 'component'],
      registers,
    });
    this.interval = new Gauge({
      name: 'kaiwo_monitor_interval_seconds',
      help: 'spec.interval of a KaiwoMonitor: it is reconciled at least this often',
      labelNames: ['monitor'],
      registers,
    });
  }

  /**
   * Sets the gauges of one monitor after an evaluation: every condition (one series per status, 1 for the
   * current one), finding totals per component and severity (uncapped, unlike status.findings) and by reason, the
   * summary counts, and the values of the checks' own gauges. Series of the previous evaluation that are not set
   * again are removed.
   */
  observe(o: Observation): void {
    const { monitor: name, conditions, findings, at, summary = {}, components, gauges = {} } = o;
    const now = new Map<Removable, Set<string>>();
    const set = (g: Gauge, labels: Labels, v: number) => {
      g.set(labels, v);
      let keys = now.get(g);
      if (!keys) now.set(g, (keys = new Set()));
      keys.add(JSON.stringify(labels));
    };
    for (const [component, s] of Object.entries(summary)) {
      for (const [count, v] of Object.entries(s?.counts ?? {})) set(this.summary, { monitor: name, component, count }, v);
    }
    for (const c of conditions) {
      for (const s of ['True', 'False', 'Unknown']) set(this.condition, { monitor: name, type: c.type, status: s }, c.status === s ? 1 : 0);
    }
    for (const component of components ?? new Set([...findings.map((f) => f.component), ...Object.keys(summary)])) {
      for (const severity of SEVERITIES) {
        set(
          this.findings,
          { monitor: name, component, severity },
          findings.filter((f) => f.component === component && f.severity === severity).length,
        );
      }
    }
    const byReason = new Map<string, number>();
    for (const f of findings) {
      if (!f.reason) continue;
      const k = JSON.stringify({ monitor: name, component: f.component, severity: f.severity, reason: f.reason });
      byReason.set(k, (byReason.get(k) ?? 0) + 1);
    }
    for (const [k, n] of byReason) set(this.findingReasons, JSON.parse(k) as Labels, n);
    for (const [metric, samples] of Object.entries(gauges)) {
      const g = this.checkGauges.get(metric);
      if (g) for (const s of samples) set(g, { ...s.labels, monitor: name }, s.value);
    }
    set(this.lastCheck, { monitor: name }, at.getTime() / 1000);
    // A disabled component's check runs go with its other series.
    const ran = this.ran.get(name);
    if (components && ran) {
      for (const component of ran) {
        if (components.includes(component)) continue;
        this.checkRuns.remove({ monitor: name, component });
        ran.delete(component);
      }
    }
    const before = this.written.get(name);
    for (const [metric, keys] of before ?? []) {
      const still = now.get(metric);
      for (const k of keys) if (!still?.has(k)) metric.remove(JSON.parse(k) as Labels);
    }
    this.written.set(name, now);
  }

  countRun(monitor: string, component: string): void {
    this.checkRuns.inc({ monitor, component });
    let components = this.ran.get(monitor);
    if (!components) this.ran.set(monitor, (components = new Set()));
    components.add(component);
  }

  /** Removes every series of a deleted monitor, including the other per-monitor metrics of the registry. */
  forget(name: string): void {
    for (const component of this.ran.get(name) ?? []) this.checkRuns.remove({ monitor: name, component });
    this.ran.delete(name);
    for (const [metric, keys] of this.written.get(name) ?? []) {
      for (const k of keys) metric.remove(JSON.parse(k) as Labels);
    }
    this.written.delete(name);
    for (const n of MONITOR_ONLY) (this.registry.getSingleMetric(n) as Removable | undefined)?.remove({ monitor: name });
  }
}
