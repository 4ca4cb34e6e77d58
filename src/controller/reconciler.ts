import type { KubeConfig } from '@kubernetes/client-node';
import { applyDefaults } from '../api/defaults.js';
import { API_VERSION, GROUP, KIND, PLURAL, specSchema, VERSION } from '../api/schema.js';
import { CONDITION_TYPES, type KaiwoMonitor, type KaiwoMonitorSpec, type KaiwoMonitorStatus } from '../api/types.js';
import { checksFor } from '../checks/registry.js';
import type { VersionDiscovery } from '../runtime/discovery.js';
import type { EventRecorder } from '../runtime/events.js';
import type { Informer } from '../runtime/informer.js';
import type { Logger } from '../runtime/log.js';
import type { RuntimeMetrics } from '../runtime/metrics.js';
import { writeStatus } from '../runtime/status.js';
import type { ReconcileResult } from '../runtime/workqueue.js';
import { checksForCluster, runChecks } from './evaluate.js';
import type { MonitorMetrics } from './metrics.js';
import type { ScrapeManager } from './scrapes.js';
import type { SourceManager } from './sources.js';
import { buildStatus, COMPONENT_LABELS, initialStatus, newCriticalFindings, transitions } from './status.js';
import { durationMs } from '../api/duration.js';
import { validateSpec } from './validate.js';

export interface ReconcilerOptions {
  heartbeatMs: number;
}

/** Reconciles one KaiwoMonitor: sources → checks → status (written only on change) → Events. */
export class Reconciler {
  /** Objects as returned by our own status PATCH, until the informer cache catches up. */
  private readonly written = new Map<string, { basedOn: string | undefined; object: KaiwoMonitor }>();
  private readonly loggedInvalid = new Map<string, string>();
  /** performance.now() of the first source change since the monitor's status was last computed. */
  private readonly changedSince = new Map<string, number>();

  /** Called for every watch event or scrape that concerns a monitor (for the detection-latency histogram). */
  sourceChanged(name: string): void {
    if (!this.changedSince.has(name)) this.changedSince.set(name, performance.now());
  }

  constructor(
    private readonly kc: KubeConfig,
    private readonly monitors: Informer,
    private readonly sources: SourceManager,
    private readonly recorder: EventRecorder,
    private readonly metrics: RuntimeMetrics,
    private readonly monitorMetrics: MonitorMetrics,
    private readonly log: Logger,
    private readonly opts: ReconcilerOptions,
    private readonly discovery: VersionDiscovery,
    private readonly scrapes: ScrapeManager,
  ) {}

  private current(name: string): KaiwoMonitor | undefined {
    const cached = this.monitors.get(name) as KaiwoMonitor | undefined;
    const w = this.written.get(name);
    if (w && cached?.metadata.resourceVersion === w.basedOn) return w.object;
    this.written.delete(name);
    return cached;
  }

  async reconcile(name: string): Promise<ReconcileResult> {
    const m = this.current(name);
    if (!m || m.metadata.deletionTimestamp) {
      this.sources.release(name);
      this.scrapes.release(name);
      this.written.delete(name);
      this.loggedInvalid.delete(name);
      this.monitorMetrics.forget(name);
      return {};
    }
    const log = this.log.child('reconciler', { monitor: name });
    const spec = applyDefaults<KaiwoMonitorSpec>(specSchema, m.spec);
    const generation = m.metadata.generation ?? 1;
    const now = new Date();
    const bound = checksFor(spec);
    const enabled = bound.filter((c) => c.enabled).map((c) => c.component);

    if (!m.status?.conditions?.length) {
      await this.write(m, initialStatus(generation, enabled, now));
      return { requeueAfterMs: 0 };
    }

    const invalid = validateSpec(spec);
    if (invalid) {
      this.sources.release(name);
      this.scrapes.release(name);
      if (this.loggedInvalid.get(name) !== `${generation}|${invalid}`) {
        this.loggedInvalid.set(name, `${generation}|${invalid}`);
        log.error('invalid spec', { generation, error: invalid });
      }
      const status = buildStatus({ generation, previous: m.status, outcomes: [], invalidSpec: invalid, now, heartbeatMs: this.opts.heartbeatMs });
      await this.write(m, status);
      this.monitorMetrics.observe(name, status.conditions ?? [], status.findings ?? [], now, status.summary, enabled);
      await this.emitEvents(m, spec, m.status, status);
      return {};
    }
    this.loggedInvalid.delete(name);
    const checks = await checksForCluster(spec, this.discovery);

    this.sources.use(name, checks.flatMap((c) => Object.values(c.sources)));
    this.scrapes.use(name, checks.flatMap((c) => Object.values(c.scrapes)));
    const outcomes = runChecks(checks, this.sources, this.scrapes, now, (check, error) => {
      log.error('check failed', { component: check.component, error });
    });
    const next = Math.min(now.getTime() + durationMs(spec.interval), ...outcomes.map((o) => o.result?.nextCheckAt?.getTime() ?? Infinity));
    const status = buildStatus({ generation, previous: m.status, outcomes, now, heartbeatMs: this.opts.heartbeatMs });
    await this.write(m, status);
    this.monitorMetrics.observe(name, status.conditions ?? [], outcomes.flatMap((o) => (o.result?.findings ?? []).map((f) => ({ severity: f.severity, component: o.component }))), now, status.summary, enabled);
    await this.emitEvents(m, spec, m.status, status);
    return { requeueAfterMs: Math.max(0, next - Date.now()) + 10 };
  }

  private async write(m: KaiwoMonitor, status: KaiwoMonitorStatus): Promise<void> {
    const path = `/apis/${GROUP}/${VERSION}/${PLURAL}/${m.metadata.name}`;
    const res = await writeStatus(this.kc, { objectPath: path }, m, status);
    const changedAt = this.changedSince.get(m.metadata.name);
    this.changedSince.delete(m.metadata.name);
    if (res.written && res.object) {
      if (changedAt !== undefined) this.monitorMetrics.eventToStatus.observe((performance.now() - changedAt) / 1000);
      this.metrics.statusPatches.inc({ monitor: m.metadata.name });
      this.written.set(m.metadata.name, { basedOn: m.metadata.resourceVersion, object: res.object as KaiwoMonitor });
    }
  }

  private async emitEvents(m: KaiwoMonitor, spec: KaiwoMonitorSpec, before: KaiwoMonitorStatus | undefined, after: KaiwoMonitorStatus): Promise<void> {
    if (!spec.events.enabled) return;
    const regarding = { apiVersion: API_VERSION, kind: KIND, name: m.metadata.name, ...(m.metadata.uid ? { uid: m.metadata.uid } : {}) };
    const changed = transitions(before, after);
    for (const t of changed) {
      const c = t.condition;
      await this.recorder.emit({
        regarding, reason: c.reason, action: c.type,
        type: c.status === 'False' ? 'Warning' : 'Normal',
        note: `${c.type} is ${c.status}${t.previous ? ` (was ${t.previous.status})` : ''}: ${c.message}`,
      });
    }
    // A new critical finding in a component that just turned False is already told by that transition's Event.
    const turned = new Set(changed.map((t) => t.condition.type));
    for (const f of newCriticalFindings(before, after).filter((x) => !turned.has(CONDITION_TYPES[x.component]))) {
      const o = f.object;
      const ref = o ? ` ${o.kind ?? ''}${o.namespace ? ` ${o.namespace}/` : ' '}${o.name ?? ''}` : '';
      await this.recorder.emit({
        regarding, reason: f.reason, action: CONDITION_TYPES[f.component], type: 'Warning',
        note: `${COMPONENT_LABELS[f.component]}:${ref}: ${f.message}`,
      });
    }
  }
}
