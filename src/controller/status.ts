import { andStatus, findCondition, isTransition, removeCondition, setCondition, truncate } from '../api/conditions.js';
import { MAX_FINDINGS, SEVERITIES } from '../api/schema.js';
import { isoSeconds } from '../api/time.js';
import {
  type Component,
  type Condition,
  type ComponentSummary,
  type Finding,
  HEALTHY,
  type KaiwoMonitorStatus,
  READY,
} from '../api/types.js';
import type { CheckResult } from '../checks/types.js';
import { jsonEqual } from '../runtime/status.js';

/** What status needs to know of a component: its name, condition type and human label. */
export interface ComponentInfo {
  component: Component;
  conditionType: string;
  label: string;
}

export interface ComponentOutcome extends ComponentInfo {
  enabled: boolean;
  result?: CheckResult;
  /** The check threw: a bug or hostile input, reported as CheckFailed. */
  error?: string;
  /** Sources or scrapes the check needs that have not answered yet: its result is not an observation. */
  pending?: string[];
}

export const NOT_OBSERVED = 'NotObserved';
export const OBSERVING = 'Observing';
/** kstatus conditions: Reconciling=True reads InProgress (until every component is observed), Stalled=True Failed. */
export const RECONCILING = 'Reconciling';
export const STALLED = 'Stalled';

/** A component's printer-column text: its condition status and the check's short summary ("True 31/32 ready"). */
export function columnText(status: Condition['status'], display: string | undefined): string {
  return (display ? `${status} ${display}` : status).slice(0, 64);
}

/** The first status a monitor gets: every condition Unknown, nothing claimed before it was observed. */
export function initialStatus(generation: number, enabled: readonly ComponentInfo[], now: Date): KaiwoMonitorStatus {
  let conditions: Condition[] = [];
  const set = (type: string, reason: string, message: string) => {
    conditions = setCondition(conditions, { type, status: 'Unknown', reason, message, observedGeneration: generation }, now);
  };
  set(READY, OBSERVING, 'first reconcile: checks have not run yet');
  set(HEALTHY, NOT_OBSERVED, 'nothing observed yet');
  conditions = setCondition(
    conditions,
    {
      type: RECONCILING,
      status: 'True',
      reason: OBSERVING,
      message: 'first reconcile: checks have not run yet',
      observedGeneration: generation,
    },
    now,
  );
  for (const c of enabled) set(c.conditionType, NOT_OBSERVED, `${c.label} not observed yet`);
  const summary = Object.fromEntries(enabled.map((c) => [c.component, { display: columnText('Unknown', undefined) }]));
  return { observedGeneration: generation, lastCheckTime: isoSeconds(now), conditions, ...(enabled.length ? { summary } : {}) };
}

const severityRank = (s: Finding['severity']) => SEVERITIES.indexOf(s);

export function findingKey(f: Finding): string {
  const o = f.object;
  return `${f.component}|${f.reason}|${o?.kind ?? ''}|${o?.namespace ?? ''}|${o?.name ?? ''}`;
}

/** Most severe first, then oldest, capped at MAX_FINDINGS; `since` carried over from the previous status. */
export function rankFindings(
  all: Finding[],
  previous: Finding[] | undefined,
  now: Date,
): { findings: Finding[]; counts: NonNullable<KaiwoMonitorStatus['findingCounts']> } {
  const since = new Map((previous ?? []).map((f) => [findingKey(f), f.since]));
  const stamped = all.map((f) => ({
    ...f,
    reason: truncate(f.reason, 128),
    message: truncate(f.message, 1024),
    since: f.since ?? since.get(findingKey(f)) ?? isoSeconds(now),
  }));
  stamped.sort(
    (a, b) => severityRank(a.severity) - severityRank(b.severity) || a.since.localeCompare(b.since) || a.message.localeCompare(b.message),
  );
  const count = (s: Finding['severity']) => all.filter((f) => f.severity === s).length;
  return {
    findings: stamped.slice(0, MAX_FINDINGS),
    counts: { total: all.length, critical: count('Critical'), warning: count('Warning'), info: count('Info') },
  };
}

export interface BuildInput {
  generation: number;
  previous: KaiwoMonitorStatus | undefined;
  outcomes: ComponentOutcome[];
  /** Set when the spec passed admission but cannot be used (e.g. a label selector with invalid syntax). */
  invalidSpec?: string;
  now: Date;
  /** lastCheckTime is refreshed at least this often even when nothing changes. */
  heartbeatMs: number;
}

/** Computes the full status of a monitor from the check outcomes. Pure. */
export function buildStatus(input: BuildInput): KaiwoMonitorStatus {
  const { generation, previous, now } = input;
  let conditions = [...(previous?.conditions ?? [])];
  const set = (type: string, status: Condition['status'], reason: string, message: string) => {
    conditions = setCondition(conditions, { type, status, reason, message, observedGeneration: generation }, now);
  };
  let summary: Partial<Record<Component, ComponentSummary>> = { ...(previous?.summary ?? {}) };
  let ranked = { findings: previous?.findings ?? [], counts: previous?.findingCounts ?? { total: 0, critical: 0, warning: 0, info: 0 } };

  if (input.invalidSpec) {
    set(READY, 'False', 'InvalidSpec', input.invalidSpec);
    set(STALLED, 'True', 'InvalidSpec', input.invalidSpec);
    conditions = removeCondition(conditions, RECONCILING);
    set(HEALTHY, 'Unknown', 'NotEvaluated', 'not evaluated: the spec is invalid (see the Ready condition)');
  } else {
    conditions = removeCondition(conditions, STALLED);
    const enabled = input.outcomes.filter((o) => o.enabled);
    const all: Finding[] = [];
    const observing: ComponentOutcome[] = [];
    summary = {};
    for (const o of input.outcomes) {
      const type = o.conditionType;
      if (!o.enabled) {
        conditions = removeCondition(conditions, type);
        continue;
      }
      if (o.error !== undefined || !o.result) {
        set(type, 'Unknown', 'CheckFailed', `the ${o.label} check failed: ${o.error ?? 'no result'}`);
        continue;
      }
      const before = findCondition(previous?.conditions, type);
      if (o.pending?.length) {
        // Not an observation (e.g. the caches of a restarted or new leader are still listing): keep what was
        // observed before instead of flapping to Unknown; a component never observed is Observing.
        if (before && before.reason !== NOT_OBSERVED && before.observedGeneration === generation) {
          const kept = previous?.summary?.[o.component];
          if (kept) summary[o.component] = kept;
          for (const f of previous?.findings ?? []) if (f.component === o.component) all.push(f);
          continue;
        }
        observing.push(o);
        set(type, 'Unknown', NOT_OBSERVED, `${o.label}: waiting for ${o.pending.join(', ')}`);
        continue;
      }
      set(type, o.result.status, o.result.reason, o.result.message);
      summary[o.component] = { ...o.result.summary, display: columnText(o.result.status, o.result.summary?.display) };
      for (const f of o.result.findings) all.push({ ...f, component: o.component });
    }
    const failed = enabled.filter((o) => o.error !== undefined || !o.result);
    if (failed.length) {
      set(READY, 'False', 'CheckFailed', `${failed.length} check(s) failed: ${failed.map((o) => o.label).join(', ')}`);
      conditions = removeCondition(conditions, RECONCILING);
    } else if (observing.length) {
      const message = `observing: ${observing.map((o) => `${o.label} (waiting for ${(o.pending ?? []).join(', ')})`).join('; ')}`;
      set(READY, 'Unknown', OBSERVING, message);
      set(RECONCILING, 'True', OBSERVING, message);
    } else {
      set(READY, 'True', 'Reconciled', `${enabled.length} component check(s) evaluated for generation ${generation}`);
      conditions = removeCondition(conditions, RECONCILING);
    }

    const statuses = enabled.map((o) => ({ o, c: findCondition(conditions, o.conditionType) }));
    const overall = andStatus(statuses.map((s) => s.c?.status ?? 'Unknown'));
    const describe = (want: Condition['status']) =>
      statuses
        .filter((s) => s.c?.status === want)
        .map((s) => `${s.o.label}: ${s.c?.message ?? ''}`)
        .join('; ');
    if (overall === 'True') set(HEALTHY, 'True', 'AllComponentsHealthy', `all ${enabled.length} monitored components are healthy`);
    else if (overall === 'False') set(HEALTHY, 'False', 'ComponentsUnhealthy', describe('False'));
    else set(HEALTHY, 'Unknown', 'ComponentsUnknown', describe('Unknown') || 'nothing observed yet');
    ranked = rankFindings(all, previous?.findings, now);
  }

  const order = [READY, HEALTHY, RECONCILING, STALLED, ...input.outcomes.map((o) => o.conditionType)];
  const rank = (type: string) => (order.includes(type) ? order.indexOf(type) : order.length);
  conditions.sort((a, b) => rank(a.type) - rank(b.type));
  const status: KaiwoMonitorStatus = {
    observedGeneration: generation,
    conditions,
    ...(Object.keys(summary).length ? { summary } : {}),
    findings: ranked.findings,
    findingCounts: ranked.counts,
  };
  const { lastCheckTime: prevCheck, ...prevRest } = previous ?? {};
  const fresh = prevCheck !== undefined && now.getTime() - Date.parse(prevCheck) < input.heartbeatMs;
  status.lastCheckTime = fresh && jsonEqual(prevRest, status) ? prevCheck : isoSeconds(now);
  return status;
}

export interface Transition {
  condition: Condition;
  previous?: Condition;
}

/** Conditions whose status changed (or whose reason changed while not True) between two statuses. */
export function transitions(before: KaiwoMonitorStatus | undefined, after: KaiwoMonitorStatus): Transition[] {
  const out: Transition[] = [];
  for (const c of after.conditions ?? []) {
    const prev = findCondition(before?.conditions, c.type);
    if (isTransition(prev, c)) out.push({ condition: c, ...(prev ? { previous: prev } : {}) });
  }
  return out;
}

/**
 * The transitions worth an Event: one per real change. Healthy, Reconciling and Stalled are derived from the
 * others and emit none; Ready only when it turns False (invalid spec, failed check, rejected status) or recovers
 * from False; a component's first observation emits one only when it finds a problem (Unknown → True is not news).
 */
export function notableTransitions(before: KaiwoMonitorStatus | undefined, after: KaiwoMonitorStatus): Transition[] {
  return transitions(before, after).filter(({ condition: c, previous: p }) => {
    if (c.type === HEALTHY || c.type === RECONCILING || c.type === STALLED) return false;
    if (c.type === READY) return c.status === 'False' || p?.status === 'False';
    const firstLook = !p || p.reason === NOT_OBSERVED;
    if (firstLook) return c.status === 'False';
    return !(c.status === 'Unknown' && c.reason === NOT_OBSERVED);
  });
}

/** Critical findings that were not in the previous status. */
export function newCriticalFindings(before: KaiwoMonitorStatus | undefined, after: KaiwoMonitorStatus): Finding[] {
  const seen = new Set((before?.findings ?? []).map(findingKey));
  return (after.findings ?? []).filter((f) => f.severity === 'Critical' && !seen.has(findingKey(f)));
}
