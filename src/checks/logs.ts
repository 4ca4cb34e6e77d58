import { durationMs } from '../api/duration.js';
import { bool, DNS_LABEL, dur, int, labelSelectorSchema, name, obj } from '../api/schema.js';
import type { LabelSelector } from '../api/types.js';
import { podSource } from './pods.js';
import { type CheckResult, type ComponentCheck, type LogErrorLine, type LogSpec, type LogView, waitingForData } from './types.js';
import { type F, humanDuration, NextCheck, verdict } from './util.js';

interface LogTarget {
  enabled: boolean;
  namespace: string;
  podSelector: LabelSelector;
  container: string;
}

export interface LogsSpec {
  enabled: boolean;
  window: string;
  maxErrorsPerMinute: number;
  maxReconcileErrorsPerMinute: number;
  maxBytesPerSecond: number;
  maxPods: number;
  operator: LogTarget;
  kueue: LogTarget;
}

const TARGETS = { operator: 'Kaiwo operator', kueue: 'Kueue' } as const;
type TargetName = keyof typeof TARGETS;

const target = (what: string, enabled: boolean, namespace: string, labels: Record<string, string>) =>
  obj(`the ${what} pods' logs`, {
    enabled: bool(`follow the ${what}'s logs`, enabled),
    namespace: name(`namespace of the ${what}`, namespace, DNS_LABEL, 63),
    podSelector: labelSelectorSchema(`${what} pods`, { matchLabels: labels }),
    container: name('container to follow in each pod', 'manager', DNS_LABEL, 63),
  });

const perMinute = (n: number, windowMs: number) => (n * 60_000) / windowMs;
const rate = (n: number) => (n >= 10 ? n.toFixed(0) : n.toFixed(1));

function describeLine(l: LogErrorLine | undefined): string {
  if (!l) return '';
  const o = l.object;
  const obj = o ? `${o.kind ? `${o.kind} ` : ''}${o.namespace ? `${o.namespace}/` : ''}${o.name}: ` : '';
  return `; last (pod ${l.pod}): ${l.controller ? `controller ${l.controller}, ` : ''}${obj}${l.message ?? ''}`;
}

/** One target's findings from its streams: error lines and Reconciler errors per minute over the window. */
function targetFindings(
  what: string,
  view: LogView,
  spec: LogsSpec,
  windowMs: number,
  now: Date,
  next: NextCheck,
): { findings: F[]; errors: number; reconcile: number } {
  const findings: F[] = [];
  let errors = 0;
  const byController = new Map<string, number>();
  let oldest = Infinity;
  const from = now.getTime() - windowMs;
  for (const s of view.streams) {
    for (const b of s.buckets) {
      if (b.at + 1000 <= from) continue;
      errors += b.errors;
      for (const [c, n] of Object.entries(b.reconcileErrors)) byController.set(c, (byController.get(c) ?? 0) + n);
      if (b.errors > 0 || Object.keys(b.reconcileErrors).length) oldest = Math.min(oldest, b.at);
    }
  }
  // Recovery is seen without a new line: re-evaluate when the oldest counted second leaves the window.
  if (Number.isFinite(oldest)) next.when(oldest + 1000, windowMs);
  const last = view.streams
    .flatMap((s) => s.last)
    .filter((l) => l.at > from)
    .sort((a, b) => a.at - b.at);
  const win = humanDuration(windowMs);
  let reconcile = 0;
  for (const [controller, n] of [...byController].sort((a, b) => b[1] - a[1])) {
    reconcile += n;
    const r = perMinute(n, windowMs);
    if (r <= spec.maxReconcileErrorsPerMinute) continue;
    const line = [...last].reverse().find((l) => l.reconcileError && (l.controller ?? 'other') === controller);
    const o = line?.object;
    findings.push({
      severity: 'Critical',
      reason: 'ReconcilerErrors',
      ...(o ? { object: { ...(o.kind ? { kind: o.kind } : {}), ...(o.namespace ? { namespace: o.namespace } : {}), name: o.name } } : {}),
      message:
        `${what} logs: ${n} "Reconciler error" lines from controller ${controller} in the last ${win} (${rate(r)}/min, threshold ` +
        `${spec.maxReconcileErrorsPerMinute}/min)${describeLine(line)}`,
    });
  }
  const r = perMinute(errors, windowMs);
  if (r > spec.maxErrorsPerMinute) {
    const line = last.at(-1);
    findings.push({
      severity: 'Warning',
      reason: 'LogErrors',
      ...(line ? { object: { apiVersion: 'v1', kind: 'Pod', namespace: view.streams[0]?.namespace ?? '', name: line.pod } } : {}),
      message: `${what} logs: ${errors} error lines in the last ${win} (${rate(r)}/min, threshold ${spec.maxErrorsPerMinute}/min)${describeLine(line)}`,
    });
  }
  for (const s of view.streams) {
    if (s.state !== 'failing' || s.reason === 'LogsForbidden') continue;
    findings.push({
      severity: 'Info',
      reason: 'LogStreamFailing',
      object: { apiVersion: 'v1', kind: 'Pod', namespace: s.namespace, name: s.pod },
      message: `cannot follow ${what} log ${s.namespace}/${s.pod} container ${s.container} (${s.reason ?? ''}): ${s.error ?? ''}; retrying`,
    });
  }
  return { findings, errors, reconcile };
}

/**
 * The Kaiwo operator's (and optionally Kueue's) own logs, followed through the API server: error lines and
 * controller-runtime "Reconciler error" lines per minute over a sliding window, with the last error (redacted) and
 * the controller and object it names. Off by default: every stream is a long-lived request through the API server
 * to the kubelet, and reading logs needs `get pods/log` in the operator namespaces (granted by a separate Role).
 */
export const logsCheck: ComponentCheck<LogsSpec, 'logs'> = {
  component: 'logs',
  conditionType: 'OperatorLogsHealthy',
  label: 'operator logs',
  column: 'Logs',
  description:
    'error and "Reconciler error" lines per minute in the Kaiwo operator\'s (optionally Kueue\'s) logs over a sliding window, ' +
    'with the last error (redacted) and the controller and object it names; off by default (needs get pods/log, see config/rbac/logs_role.yaml)',
  schema: obj('operator logs (OperatorLogsHealthy)', {
    enabled: bool('follow operator logs (needs a Role granting get on pods/log in the target namespaces)', false),
    window: dur('sliding window of the counts; a new stream reads back this far', '5m', '10s', '1h'),
    maxErrorsPerMinute: int('error-level lines per minute (over the window) that raise a Warning', 10, 0, 1000000),
    maxReconcileErrorsPerMinute: int('"Reconciler error" lines per minute of one controller that make the component False', 5, 0, 1000000),
    maxBytesPerSecond: int('bytes read per second per stream at most (the stream is paused beyond)', 65536, 1024, 16777216),
    maxPods: int('pods followed per target at most (all replicas: a standby logs little)', 5, 1, 50),
    operator: target('Kaiwo operator', true, 'kaiwo-system', { 'control-plane': 'kaiwo-controller-manager' }),
    kueue: target('Kueue controller', false, 'kueue-system', { 'control-plane': 'controller-manager' }),
  }),
  selectors: ['operator.podSelector', 'kueue.podSelector'],
  // Pods are listed like the operator and Kueue checks list them (shared informers); pods/log is namespaced (Role).
  rbac: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
  namespacedRbac: [{ apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }],
  sources: (s) =>
    Object.fromEntries(
      (Object.keys(TARGETS) as TargetName[])
        .filter((t) => s[t].enabled)
        .map((t) => [`${t}Pods`, podSource(s[t].namespace, s[t].podSelector)]),
    ),
  logs: (s) =>
    Object.fromEntries(
      (Object.keys(TARGETS) as TargetName[])
        .filter((t) => s[t].enabled)
        .map((t): [string, LogSpec] => [
          t,
          {
            pods: podSource(s[t].namespace, s[t].podSelector),
            container: s[t].container,
            windowMs: durationMs(s.window),
            maxBytesPerSecond: s.maxBytesPerSecond,
            maxPods: s.maxPods,
          },
        ]),
    ),
  evaluate: ({ spec, data, logs, now }): CheckResult => {
    const waiting = waitingForData(data);
    if (waiting) return waiting;
    const windowMs = durationMs(spec.window);
    const next = new NextCheck(now);
    const findings: F[] = [];
    const counts: Record<string, number> = { streams: 0, errorLines: 0, reconcileErrors: 0 };
    const forbidden: string[] = [];
    const noPods: string[] = [];
    const unreadable: string[] = [];
    for (const t of (Object.keys(TARGETS) as TargetName[]).filter((x) => spec[x].enabled)) {
      const view = logs?.[t];
      if (!view || view.state === 'pending') {
        return { status: 'Unknown', reason: 'NotObserved', message: `waiting for the ${TARGETS[t]} log streams`, findings: [] };
      }
      if (!view.streams.length) noPods.push(`${TARGETS[t]} (${spec[t].namespace})`);
      const failing = view.streams[0];
      if (view.state === 'failing' && failing) unreadable.push(`${TARGETS[t]} (${failing.reason ?? 'failing'}: ${failing.error ?? ''})`);
      counts.streams = (counts.streams ?? 0) + view.streams.length;
      for (const s of view.streams) if (s.reason === 'LogsForbidden') forbidden.push(s.namespace);
      const r = targetFindings(TARGETS[t], view, spec, windowMs, now, next);
      findings.push(...r.findings);
      counts.errorLines = (counts.errorLines ?? 0) + r.errors;
      counts.reconcileErrors = (counts.reconcileErrors ?? 0) + r.reconcile;
    }
    const summary = { display: `${counts.errorLines ?? 0} errors/${humanDuration(windowMs)}`, counts };
    const result = verdict(
      findings,
      {
        reason: 'OperatorLogsHealthy',
        message: `${counts.streams ?? 0} log streams: ${counts.errorLines ?? 0} error lines, ${counts.reconcileErrors ?? 0} Reconciler errors in the last ${humanDuration(windowMs)}`,
      },
      { summary, next },
    );
    if (result.status !== 'True') return result;
    if (forbidden.length) {
      const ns = [...new Set(forbidden)].join(', ');
      return {
        ...result,
        status: 'Unknown',
        reason: 'LogsForbidden',
        message: `not allowed to read pod logs in ${ns}: grant get on pods/log there (config/rbac/logs_role.yaml, or the chart's podLogs.namespaces)`,
      };
    }
    if (unreadable.length)
      return { ...result, status: 'Unknown', reason: 'LogsUnreadable', message: `cannot read any log of ${unreadable.join('; ')}` };
    if (noPods.length)
      return { ...result, status: 'Unknown', reason: 'NoPodsToFollow', message: `no Running pod to follow: ${noPods.join(', ')}` };
    return result;
  },
};
