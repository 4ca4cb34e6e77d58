import { randomUUID } from 'node:crypto';
import type { KubeConfig } from '../runtime/kubeconfig.js';
import { applyDefaults } from '../api/defaults.js';
import { API_VERSION, KIND } from '../api/schema.js';
import type { KaiwoMonitor, KaiwoMonitorStatus } from '../api/types.js';
import { CHECKS, CONDITION_TYPES, COMPONENT_LABELS, type KaiwoMonitorSpec, specSchema } from '../checks/registry.js';
import type { GaugeSample } from '../checks/types.js';
import type { VersionDiscovery } from '../runtime/discovery.js';
import type { EventRecorder } from '../runtime/events.js';
import type { Informer } from '../runtime/informer.js';
import type { Logger } from '../runtime/log.js';
import type { RuntimeMetrics } from '../runtime/metrics.js';
import { writeMonitorStatus } from './status-write.js';
import type { ReconcileResult } from '../runtime/workqueue.js';
import { CheckMemo, checksForCluster, RESYNC_MS, runChecks } from './evaluate.js';
import type { MonitorMetrics } from './metrics.js';
import { type LogManager, wantedLogs } from './logs.js';
import type { ScrapeManager } from './scrapes.js';
import type { SourceManager } from './sources.js';
import { buildStatus, initialStatus, newCriticalFindings, notableTransitions, transitions } from './status.js';
import { durationMs } from '../api/duration.js';
import { validateSpec } from './validate.js';

/** The controller name in logs and metrics (controller-runtime's `controller` key). */
const CONTROLLER = 'kaiwomonitor';

/** What one reconcile saw, for its debug line. */
interface ReconcileTrace {
  outcome?: string;
  sources?: Record<string, string>;
  scrapes?: Record<string, string>;
}

/** What a Reconciler reads, writes and reports to. */
export interface ReconcilerOptions {
  kc: KubeConfig;
  /** The KaiwoMonitor cache. */
  monitors: Informer;
  /** The watched objects the checks read. */
  sources: SourceManager;
  /** The metrics endpoints the checks scrape. */
  scrapes: ScrapeManager;
  /** Container logs, followed by the leader only (reconcile, not prepare). */
  logs?: LogManager;
  /** The version of each CRD (e.g. Kueue's) the server stores: the checks read that version. */
  discovery: VersionDiscovery;
  recorder: EventRecorder;
  /** The operator's own metrics (status patches). */
  metrics: RuntimeMetrics;
  /** The per-monitor metrics (conditions, findings, detection latency). */
  monitorMetrics: MonitorMetrics;
  log: Logger;
  /** Refresh status.lastCheckTime at least this often even when nothing changes. */
  heartbeatMs: number;
}

/** One info line per condition transition (every one; Events report only the notable ones): type, from → to, reason. */
export function logTransitions(log: Logger, before: KaiwoMonitorStatus | undefined, after: KaiwoMonitorStatus): void {
  for (const t of transitions(before, after)) {
    const c = t.condition;
    log.info('condition changed', {
      type: c.type,
      from: t.previous?.status ?? 'none',
      to: c.status,
      reason: c.reason,
      ...(t.previous?.status === c.status ? { previousReason: t.previous.reason } : {}),
      conditionMessage: c.message,
    });
  }
}

/** Reconciles one KaiwoMonitor: sources → checks → status (written only on change) → Events. */
export class Reconciler {
  /** Objects as returned by our own status PATCH, until the informer cache catches up. */
  private readonly written = new Map<string, { basedOn: string | undefined; object: KaiwoMonitor }>();
  private readonly loggedInvalid = new Map<string, string>();
  /** performance.now() of the first source change since the monitor's status was last computed. */
  private readonly changedSince = new Map<string, number>();
  /** Per monitor: the checks' last outcomes, reused while their inputs are unchanged (evaluate.ts). */
  private readonly memos = new Map<string, CheckMemo>();

  /** Called for every watch event or scrape that concerns a monitor (for the detection-latency histogram). */
  sourceChanged(name: string): void {
    if (!this.changedSince.has(name)) this.changedSince.set(name, performance.now());
  }

  constructor(private readonly opts: ReconcilerOptions) {}

  private current(name: string): KaiwoMonitor | undefined {
    const cached = this.opts.monitors.get(name) as KaiwoMonitor | undefined;
    const w = this.written.get(name);
    if (w && cached?.metadata.resourceVersion === w.basedOn) return w.object;
    this.written.delete(name);
    return cached;
  }

  /**
   * Starts the sources and metrics endpoints a monitor's spec needs (or releases them when it is gone or invalid).
   * Called on every replica for every KaiwoMonitor event, so standbys keep warm caches; reconcile calls the same.
   */
  async prepare(name: string): Promise<void> {
    const m = this.current(name);
    const spec = m && !m.metadata.deletionTimestamp ? applyDefaults<KaiwoMonitorSpec>(specSchema, m.spec) : undefined;
    if (!spec || validateSpec(spec)) {
      this.opts.sources.release(name);
      this.opts.scrapes.release(name);
      return;
    }
    const checks = await checksForCluster(spec, this.opts.discovery);
    if (this.current(name)?.metadata.uid !== m?.metadata.uid) return; // deleted or replaced meanwhile
    this.opts.sources.use(
      name,
      checks.flatMap((c) => Object.values(c.sources)),
    );
    this.opts.scrapes.use(
      name,
      checks.flatMap((c) => Object.values(c.scrapes)),
    );
  }

  /**
   * One reconcile, with an id (controller-runtime's reconcileID) on every line it logs; at debug level one line
   * per reconcile: duration, the state of each source and scrape, and when it runs again.
   */
  async reconcile(name: string): Promise<ReconcileResult> {
    const reconcileID = randomUUID();
    const started = performance.now();
    const trace: ReconcileTrace = {};
    let result: ReconcileResult | undefined;
    try {
      result = await this.reconcileOnce(name, reconcileID, trace);
      return result;
    } finally {
      const requeue = result?.requeueAfterMs;
      this.opts.log.debug('reconciled', {
        controller: CONTROLLER,
        monitor: name,
        reconcileID,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        outcome: result ? (trace.outcome ?? 'evaluated') : 'error',
        ...(trace.sources ? { sources: trace.sources } : {}),
        ...(trace.scrapes ? { scrapes: trace.scrapes } : {}),
        ...(requeue !== undefined ? { requeueAfterMs: Math.round(requeue), nextAt: new Date(Date.now() + requeue).toISOString() } : {}),
      });
    }
  }

  private async reconcileOnce(name: string, reconcileID: string, trace: ReconcileTrace): Promise<ReconcileResult> {
    const m = this.current(name);
    if (!m || m.metadata.deletionTimestamp) {
      this.opts.sources.release(name);
      this.opts.scrapes.release(name);
      this.opts.logs?.release(name);
      this.written.delete(name);
      this.memos.delete(name);
      this.loggedInvalid.delete(name);
      this.opts.monitorMetrics.forget(name);
      trace.outcome = 'deleted';
      return {};
    }
    const log = this.opts.log.child('reconciler', { controller: CONTROLLER, monitor: name, reconcileID });
    const spec = applyDefaults<KaiwoMonitorSpec>(specSchema, m.spec);
    this.opts.monitorMetrics.interval.set({ monitor: name }, durationMs(spec.interval) / 1000);
    const generation = m.metadata.generation ?? 1;
    const now = new Date();
    const enabledChecks = CHECKS.filter((c) => spec[c.component].enabled);
    const enabled = enabledChecks.map((c) => c.component);

    if (!m.status?.conditions?.length) {
      logTransitions(log, m.status, await this.write(m, initialStatus(generation, enabledChecks, now)));
      trace.outcome = 'initialized';
      return { requeueAfterMs: 0 };
    }

    const invalid = validateSpec(spec);
    if (invalid) {
      this.opts.sources.release(name);
      this.opts.scrapes.release(name);
      this.opts.logs?.release(name);
      if (this.loggedInvalid.get(name) !== `${generation}|${invalid}`) {
        this.loggedInvalid.set(name, `${generation}|${invalid}`);
        log.warn('invalid spec: not evaluated until it is fixed (Ready=False/InvalidSpec)', { generation, error: invalid });
      }
      const status = await this.write(
        m,
        buildStatus({ generation, previous: m.status, outcomes: [], invalidSpec: invalid, now, heartbeatMs: this.opts.heartbeatMs }),
      );
      logTransitions(log, m.status, status);
      trace.outcome = 'invalidSpec';
      this.opts.monitorMetrics.observe({
        monitor: name,
        conditions: status.conditions ?? [],
        findings: status.findings ?? [],
        at: now,
        summary: status.summary,
        components: enabled,
      });
      await this.emitEvents(m, spec, m.status, status);
      return {};
    }
    this.loggedInvalid.delete(name);
    const checks = await checksForCluster(spec, this.opts.discovery);

    this.opts.sources.use(
      name,
      checks.flatMap((c) => Object.values(c.sources)),
    );
    this.opts.scrapes.use(
      name,
      checks.flatMap((c) => Object.values(c.scrapes)),
    );
    this.opts.logs?.use(
      name,
      wantedLogs(checks, (s) => this.opts.sources.view(s)),
    );
    let memo = this.memos.get(name);
    const resyncMs = Math.max(durationMs(spec.interval), RESYNC_MS);
    if (!memo) this.memos.set(name, (memo = new CheckMemo(resyncMs)));
    memo.reset(`${m.metadata.uid ?? ''}/${generation}`, resyncMs);
    const outcomes = runChecks(
      checks,
      this.opts.sources,
      this.opts.scrapes,
      now,
      (check, error) => {
        log.error('check failed', { component: check.component, error });
      },
      this.opts.logs,
      memo,
      (component) => {
        this.opts.monitorMetrics.countRun(name, component);
      },
    );
    const next = Math.min(
      now.getTime() + durationMs(spec.interval),
      memo.nextExpiry(),
      ...outcomes.map((o) => o.result?.nextCheckAt?.getTime() ?? Infinity),
    );
    trace.sources = Object.fromEntries(
      checks.flatMap((c) => Object.entries(c.sources).map(([k, s]) => [`${c.component}.${k}`, this.opts.sources.view(s).state])),
    );
    trace.scrapes = Object.fromEntries(
      checks.flatMap((c) => Object.entries(c.scrapes).map(([k, s]) => [`${c.component}.${k}`, this.opts.scrapes.view(s).state])),
    );
    const status = await this.write(m, buildStatus({ generation, previous: m.status, outcomes, now, heartbeatMs: this.opts.heartbeatMs }));
    logTransitions(log, m.status, status);
    const gauges: Record<string, GaugeSample[]> = {};
    for (const [metric, samples] of outcomes.flatMap((o) => Object.entries(o.result?.gauges ?? {})))
      (gauges[metric] ??= []).push(...samples);
    const findings = outcomes.flatMap((o) =>
      (o.result?.findings ?? []).map((f) => ({ severity: f.severity, component: o.component, reason: f.reason })),
    );
    this.opts.monitorMetrics.observe({
      monitor: name,
      conditions: status.conditions ?? [],
      findings,
      at: now,
      summary: status.summary,
      components: enabled,
      gauges,
    });
    await this.emitEvents(m, spec, m.status, status);
    return { requeueAfterMs: Math.max(0, next - Date.now()) + 10 };
  }

  /** Writes the status fitted to the CRD (Ready=False/StatusRejected if still rejected); returns what is stored. */
  private async write(m: KaiwoMonitor, status: KaiwoMonitorStatus): Promise<KaiwoMonitorStatus> {
    const res = await writeMonitorStatus(this.opts.kc, m, status, { now: new Date(), heartbeatMs: this.opts.heartbeatMs });
    if (res.rejected !== undefined) {
      this.opts.log.error('the API server rejected the status; wrote Ready=False/StatusRejected', {
        monitor: m.metadata.name,
        error: res.rejected,
      });
    }
    const changedAt = this.changedSince.get(m.metadata.name);
    this.changedSince.delete(m.metadata.name);
    if (res.written && res.object) {
      if (changedAt !== undefined) this.opts.monitorMetrics.eventToStatus.observe((performance.now() - changedAt) / 1000);
      this.opts.metrics.statusPatches.inc({ monitor: m.metadata.name });
      this.written.set(m.metadata.name, { basedOn: m.metadata.resourceVersion, object: res.object });
    }
    return res.status;
  }

  private async emitEvents(
    m: KaiwoMonitor,
    spec: KaiwoMonitorSpec,
    before: KaiwoMonitorStatus | undefined,
    after: KaiwoMonitorStatus,
  ): Promise<void> {
    if (!spec.events.enabled) return;
    const regarding = { apiVersion: API_VERSION, kind: KIND, name: m.metadata.name, ...(m.metadata.uid ? { uid: m.metadata.uid } : {}) };
    const changed = notableTransitions(before, after);
    for (const t of changed) {
      const c = t.condition;
      await this.opts.recorder.emit({
        regarding,
        reason: c.reason,
        action: c.type,
        type: c.status === 'False' ? 'Warning' : 'Normal',
        note: `${c.type} is ${c.status}${t.previous ? ` (was ${t.previous.status})` : ''}: ${c.message}`,
      });
    }
    // A new critical finding in a component that just turned False is already told by that transition's Event.
    const turned = new Set(changed.map((t) => t.condition.type));
    for (const f of newCriticalFindings(before, after).filter((x) => !turned.has(CONDITION_TYPES[x.component] ?? ''))) {
      const o = f.object;
      const ref = o ? ` ${o.kind ?? ''}${o.namespace ? ` ${o.namespace}/` : ' '}${o.name ?? ''}` : '';
      await this.opts.recorder.emit({
        regarding,
        reason: f.reason,
        action: CONDITION_TYPES[f.component] ?? f.component,
        type: 'Warning',
        note: `${COMPONENT_LABELS[f.component] ?? f.component}:${ref}: ${f.message}`,
      });
    }
  }
}
