import { Gauge, Histogram, type Registry } from 'prom-client';
import type { Condition, Finding, KaiwoMonitorStatus } from '../api/types.js';
import { COMPONENTS, SEVERITIES } from '../api/schema.js';

/**
 * KaiwoMonitor metrics, set by the replica that evaluates (the leader): standbys export none, so
 * `max by (monitor, type, status)` over replicas is the current state.
 */
export class MonitorMetrics {
  readonly condition: Gauge<'monitor' | 'type' | 'status'>;
  readonly findings: Gauge<'monitor' | 'component' | 'severity'>;
  readonly lastCheck: Gauge<'monitor'>;
  readonly summary: Gauge<'monitor' | 'component' | 'count'>;
  readonly eventToStatus: Histogram;

  constructor(registry: Registry) {
    const registers = [registry];
    this.condition = new Gauge({ name: 'kaiwo_monitor_condition', help: 'KaiwoMonitor condition status (1 for the current status of each condition type)', labelNames: ['monitor', 'type', 'status'], registers });
    this.findings = new Gauge({ name: 'kaiwo_monitor_findings', help: 'Findings on a KaiwoMonitor by component and severity (totals, not capped at 50)', labelNames: ['monitor', 'component', 'severity'], registers });
    this.summary = new Gauge({ name: 'kaiwo_monitor_summary', help: 'Counts from status.summary (e.g. gpuNodes ready, gpusInstalled, gpusAvailable)', labelNames: ['monitor', 'component', 'count'], registers });
    this.eventToStatus = new Histogram({ name: 'kaiwo_monitor_event_to_status_seconds', help: 'Detection latency: first watch event or scrape that changed a monitor until its status was written', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers });
    this.lastCheck = new Gauge({ name: 'kaiwo_monitor_last_check_timestamp_seconds', help: 'Unix time of the last evaluation of a KaiwoMonitor', labelNames: ['monitor'], registers });
  }

  /**
   * Sets the gauges of one monitor after an evaluation: every condition (one series per status, 1 for the
   * current one) and finding totals per component and severity (uncapped, unlike status.findings).
   */
  observe(name: string, conditions: readonly Condition[], findings: readonly Pick<Finding, 'component' | 'severity'>[], at: Date, summary: KaiwoMonitorStatus['summary'] = {}): void {
    this.summary.remove({ monitor: name });
    for (const [component, s] of Object.entries(summary)) {
      for (const [count, v] of Object.entries(s.counts ?? {})) this.summary.set({ monitor: name, component, count }, v);
    }
    this.condition.remove({ monitor: name });
    for (const c of conditions) {
      for (const s of ['True', 'False', 'Unknown']) this.condition.set({ monitor: name, type: c.type, status: s }, c.status === s ? 1 : 0);
    }
    for (const component of COMPONENTS) {
      for (const severity of SEVERITIES) {
        this.findings.set({ monitor: name, component, severity }, findings.filter((f) => f.component === component && f.severity === severity).length);
      }
    }
    this.lastCheck.set({ monitor: name }, at.getTime() / 1000);
  }

  forget(name: string): void {
    this.condition.remove({ monitor: name });
    this.findings.remove({ monitor: name });
    this.lastCheck.remove({ monitor: name });
    this.summary.remove({ monitor: name });
  }
}
