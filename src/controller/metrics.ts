import { Gauge, type Registry } from 'prom-client';
import type { Condition, Finding } from '../api/types.js';
import { COMPONENTS, SEVERITIES } from '../api/schema.js';

/**
 * KaiwoMonitor metrics, set by the replica that evaluates (the leader): standbys export none, so
 * `max by (monitor, type, status)` over replicas is the current state.
 */
export class MonitorMetrics {
  readonly condition: Gauge<'monitor' | 'type' | 'status'>;
  readonly findings: Gauge<'monitor' | 'component' | 'severity'>;
  readonly lastCheck: Gauge<'monitor'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.condition = new Gauge({ name: 'kaiwo_monitor_condition', help: 'KaiwoMonitor condition status (1 for the current status of each condition type)', labelNames: ['monitor', 'type', 'status'], registers });
    this.findings = new Gauge({ name: 'kaiwo_monitor_findings', help: 'Findings on a KaiwoMonitor by component and severity (totals, not capped at 50)', labelNames: ['monitor', 'component', 'severity'], registers });
    this.lastCheck = new Gauge({ name: 'kaiwo_monitor_last_check_timestamp_seconds', help: 'Unix time of the last evaluation of a KaiwoMonitor', labelNames: ['monitor'], registers });
  }

  /**
   * Sets the gauges of one monitor after an evaluation: every condition (one series per status, 1 for the
   * current one) and finding totals per component and severity (uncapped, unlike status.findings).
   */
  observe(name: string, conditions: readonly Condition[], findings: readonly Pick<Finding, 'component' | 'severity'>[], at: Date): void {
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
  }
}
