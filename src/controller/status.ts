import { andStatus, findCondition, isTransition, removeCondition, setCondition, truncate } from '../api/conditions.js';
import { MAX_FINDINGS, SEVERITIES } from '../api/schema.js';
import { isoSeconds } from '../api/time.js';
import {
  type Component, type Condition, type ComponentSummary, type Finding, HEALTHY, type KaiwoMonitorStatus, READY,
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
}

/** The first status a monitor gets: every condition Unknown, nothing claimed before it was observed. */
export function initialStatus(generation: number, enabled: readonly ComponentInfo[], now: Date): KaiwoMonitorStatus {
  let conditions: Condition[] = [];
  const set = (type: string, reason: string, message: string) => {
    conditions = setCondition(conditions, { type, status: 'Unknown', reason, message, observedGeneration: generation }, now);
  };
  set(READY, 'Initializing', 'first reconcile: checks have not run yet');
  set(HEALTHY, 'NotObserved', 'nothing observed yet');
  for (const c of enabled) set(c.conditionType, 'NotObserved', `${c.label} not observed yet`);
  return { observedGeneration: generation, lastCheckTime: isoSeconds(now), conditions };
}

const severityRank = (s: Finding['severity']) => SEVERITIES.indexOf(s);

export function findingKey(f: Finding): string {
  const o = f.object;
  return `${f.component}|${f.reason}|${o?.kind ?? ''}|${o?.namespace ?? ''}|${o?.name ?? ''}`;
}

/** Most severe first, then oldest, capped at MAX_FINDINGS; `since` carried over from the previous status. */
export function rankFindings(all: Finding[], previous: Finding[] | undefined, now: Date): { findings: Finding[]; counts: NonNullable<KaiwoMonitorStatus['findingCounts']> } {
  const since = new Map((previous ?? []).map((f) => [findingKey(f), f.since]));
  const stamped = all.map((f) => ({
    ...f,
    reason: truncate(f.reason, 128),
    message: truncate(f.message, 1024),
    since: f.since ?? since.get(findingKey(f)) ?? isoSeconds(now),
  }));
  stamped.sort((a, b) => severityRank(a.severity) - severityRank(b.severity) || a.since.localeCompare(b.since) || a.message.localeCompare(b.message));
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
    set(HEALTHY, 'Unknown', 'NotEvaluated', 'not evaluated: the spec is invalid (see the Ready condition)');
  } else {
    const enabled = input.outcomes.filter((o) => o.enabled);
    const all: Finding[] = [];
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
      set(type, o.result.status, o.result.reason, o.result.message);
      if (o.result.summary) summary[o.component] = o.result.summary;
      for (const f of o.result.findings) all.push({ ...f, component: o.component });
    }
    const failed = enabled.filter((o) => o.error !== undefined || !o.result);
    if (failed.length) set(READY, 'False', 'CheckFailed', `${failed.length} check(s) failed: ${failed.map((o) => o.label).join(', ')}`);
    else set(READY, 'True', 'Reconciled', `${enabled.length} component check(s) evaluated for generation ${generation}`);

    const statuses = enabled.map((o) => ({ o, c: findCondition(conditions, o.conditionType) }));
    const overall = andStatus(statuses.map((s) => s.c?.status ?? 'Unknown'));
    const describe = (want: Condition['status']) => statuses.filter((s) => s.c?.status === want)
      .map((s) => `${s.o.label}: ${s.c?.message ?? ''}`).join('; ');
    if (overall === 'True') set(HEALTHY, 'True', 'AllComponentsHealthy', `all ${enabled.length} monitored components are healthy`);
    else if (overall === 'False') set(HEALTHY, 'False', 'ComponentsUnhealthy', describe('False'));
    else set(HEALTHY, 'Unknown', 'ComponentsUnknown', describe('Unknown') || 'nothing observed yet');
    ranked = rankFindings(all, previous?.findings, now);
  }

  const order = [READY, HEALTHY, ...input.outcomes.map((o) => o.conditionType)];
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

/** Critical findings that were not in the previous status. */
export function newCriticalFindings(before: KaiwoMonitorStatus | undefined, after: KaiwoMonitorStatus): Finding[] {
  const seen = new Set((before?.findings ?? []).map(findingKey));
  return (after.findings ?? []).filter((f) => f.severity === 'Critical' && !seen.has(findingKey(f)));
}
