import { buildCrd, buildSpecSchema, buildStatusSchema, type Schema } from '../api/schema.js';
import type { BaseSpec } from '../api/types.js';
import { capacityCheck } from './capacity.js';
import { gpuHardwareCheck } from './gpu-hardware.js';
import { gpuNodesCheck } from './gpu-nodes.js';
import { kueueCheck } from './kueue.js';
import { logsCheck } from './logs.js';
import { operatorCheck } from './operator.js';
import { type AnyCheck, type BoundCheck, bindCheck, type CheckEnv, type ComponentCheck, type GaugeDef, type PolicyRule } from './types.js';
import { workloadsCheck } from './workloads.js';

/**
 * Every check, in condition order. Adding a check = its file, its tests and one line here (then `make generate`):
 * the spec schema and CRD, the status schema, printer columns, run-time validation, the ClusterRole, the
 * namespaced Role, the full sample, the dashboard's component panels and the README table are all derived from
 * this list (hack/gen/generated.ts).
 */
export const CHECKS = [operatorCheck, kueueCheck, gpuNodesCheck, gpuHardwareCheck, workloadsCheck, capacityCheck, logsCheck] as const;

type SectionOf<C> = C extends ComponentCheck<infer S> ? S : never;

/** A fully defaulted spec (what the API server stores after applying the schema defaults). */
export type KaiwoMonitorSpec = BaseSpec & { [C in (typeof CHECKS)[number] as C['component']]: SectionOf<C> };

export const specSchema: Schema = buildSpecSchema(CHECKS);
export const statusSchema: Schema = buildStatusSchema(CHECKS);

/** The KaiwoMonitor CRD, as written to crds/, config/crd/bases/ and the chart. */
export function kaiwoMonitorCrd(checks: readonly AnyCheck[] = CHECKS): Schema {
  return buildCrd(checks);
}

/** Condition type by component, for every registered check. */
export const CONDITION_TYPES: Readonly<Partial<Record<string, string>>> = Object.fromEntries(
  CHECKS.map((c) => [c.component, c.conditionType]),
);
/** Human label by component, for messages. */
export const COMPONENT_LABELS: Readonly<Partial<Record<string, string>>> = Object.fromEntries(CHECKS.map((c) => [c.component, c.label]));

/** The gauges the checks export (ComponentCheck.gauges), by metric name. */
export function checkGauges(checks: readonly AnyCheck[] = CHECKS): Record<string, GaugeDef> {
  return Object.assign({}, ...checks.map((c) => c.gauges ?? {})) as Record<string, GaugeDef>;
}

/** What the operator itself needs, whatever the checks read. */
const BASE_RULES: PolicyRule[] = [
  { apiGroups: ['monitoring.kaiwo.silogen.ai'], resources: ['kaiwomonitors'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['monitoring.kaiwo.silogen.ai'], resources: ['kaiwomonitors/status'], verbs: ['get', 'patch'] },
  { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
  { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
];

/** `rules` merged so that rules with the same API groups, verbs and resource names list their resources once. */
function mergeRules(rules: readonly PolicyRule[]): PolicyRule[] {
  const merged = new Map<string, PolicyRule>();
  for (const r of rules) {
    const key = JSON.stringify([r.apiGroups ?? null, r.verbs, r.resourceNames ?? null, r.nonResourceURLs ? 'nonResource' : 'resource']);
    const have = merged.get(key);
    if (!have) {
      merged.set(key, structuredClone(r));
      continue;
    }
    if (r.resources) have.resources = [...new Set([...(have.resources ?? []), ...r.resources])];
    if (r.nonResourceURLs) have.nonResourceURLs = [...new Set([...(have.nonResourceURLs ?? []), ...r.nonResourceURLs])];
  }
  return [...merged.values()];
}

/** The manager ClusterRole's rules: the operator's own plus the union of the checks' rules, merged. */
export function managerRules(checks: readonly AnyCheck[] = CHECKS): PolicyRule[] {
  return mergeRules([...BASE_RULES, ...checks.flatMap((c) => c.rbac)]);
}

/** The namespaced Role's rules (config/rbac/logs_role.yaml, the chart's podLogs.namespaces): the checks' namespacedRbac, merged. */
export function namespacedRules(checks: readonly AnyCheck[] = CHECKS): PolicyRule[] {
  return mergeRules(checks.flatMap((c) => c.namespacedRbac ?? []));
}

/** The README's table of checks (between its `checks:begin`/`checks:end` markers). */
export function checksTable(checks: readonly AnyCheck[] = CHECKS): string {
  const rows = checks.map((c) => `| \`${c.component}\` | \`${c.conditionType}\` | ${c.description} |`);
  return ['| spec section | condition | what it checks |', '|---|---|---|', ...rows].join('\n');
}

/** Where a check's section reads a CRD's storage version: `plural.group` → group. */
const groupOf = (crd: string) => crd.slice(crd.indexOf('.') + 1);

/** Storage versions the enabled checks need, looked up once per CRD. */
export async function discoverEnv(
  spec: Record<string, unknown>,
  lookup: (group: string, crd: string) => Promise<string | undefined>,
  checks: readonly AnyCheck[] = CHECKS,
): Promise<Map<string, CheckEnv>> {
  const env = new Map<string, CheckEnv>();
  for (const c of checks) {
    const enabled = (spec[c.component] as { enabled?: boolean } | undefined)?.enabled === true;
    if (!enabled || (!c.storageVersionOf && !c.versionsOf)) continue;
    const storageVersion = c.storageVersionOf ? await lookup(groupOf(c.storageVersionOf), c.storageVersionOf) : undefined;
    const versions: Record<string, string> = {};
    for (const [name, crd] of Object.entries(c.versionsOf ?? {})) {
      const v = await lookup(groupOf(crd), crd);
      if (v) versions[name] = v;
    }
    env.set(c.component, { ...(storageVersion ? { storageVersion } : {}), ...(Object.keys(versions).length ? { versions } : {}) });
  }
  return env;
}

/** Every check bound to a monitor's spec, in condition order. */
export function checksFor(
  spec: Record<string, unknown>,
  env = new Map<string, CheckEnv>(),
  checks: readonly AnyCheck[] = CHECKS,
): BoundCheck[] {
  return checks.map((c) => bindCheck(c, spec, env.get(c.component)));
}
