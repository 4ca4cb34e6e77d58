/**
 * The RBAC files derived from the registered checks: the manager ClusterRole (ComponentCheck.rbac) and the
 * namespaced Roles (ComponentCheck.namespacedRbac), for kustomize (config/rbac/) and the chart (files/).
 */
import { Document, isSeq, visit } from 'yaml';
import type { Schema } from '../../src/api/schema.js';
import { CHECKS, managerRules, namespacedRules } from '../../src/checks/registry.js';
import type { AnyCheck } from '../../src/checks/types.js';

export const ROLE_FILE = 'config/rbac/role.yaml';
export const CHART_RULES_FILE = 'charts/kaiwo-monitor/files/manager-rules.yaml';
export const LOGS_ROLE_FILE = 'config/rbac/logs_role.yaml';
export const CHART_NAMESPACED_RULES_FILE = 'charts/kaiwo-monitor/files/namespaced-rules.yaml';

const header = '# Generated from src/checks/registry.ts by `make generate`. Do not edit.\n';

/** YAML with lists of scalars in flow style (`verbs: [get, list, watch]`), as RBAC files are usually written. */
export function flowYaml(v: unknown): string {
  const doc = new Document(v);
  visit(doc, {
    Seq: (_key, node) => {
      if (isSeq(node) && node.items.every((i) => !isSeq(i) && !(i && typeof i === 'object' && 'items' in i))) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

const labels = { 'app.kubernetes.io/name': 'kaiwo-monitor' };

/** The manager ClusterRole: least privilege, the operator's own rules plus what each registered check reads. */
export function renderRole(checks: readonly AnyCheck[] = CHECKS): string {
  const role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'manager-role', labels },
    rules: managerRules(checks),
  };
  return `${header}# Least privilege: read what the checks read, write only KaiwoMonitor status and Events.\n${flowYaml(role)}`;
}

/** The chart's copy of the ClusterRole's rules (templates/rbac.yaml). */
export function renderChartRules(checks: readonly AnyCheck[] = CHECKS): string {
  return `${header}${flowYaml(managerRules(checks))}`;
}

/** The chart's copy of the namespaced Role's rules (templates/rbac.yaml, one Role per podLogs.namespaces). */
export function renderChartNamespacedRules(checks: readonly AnyCheck[] = CHECKS): string {
  return `${header}${flowYaml(namespacedRules(checks))}`;
}

/** The defaults of the `namespace` fields of the sections of the checks that declare namespaced rules, in order. */
export function roleNamespaces(checks: readonly AnyCheck[] = CHECKS): string[] {
  const found = new Set<string>();
  const walk = (s: Schema) => {
    for (const [k, p] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) {
      if (k === 'namespace' && typeof p.default === 'string') found.add(p.default);
      walk(p);
    }
  };
  for (const c of checks) if (c.namespacedRbac?.length) walk(c.schema);
  return [...found];
}

/** config/rbac/logs_role.yaml: a Role with the namespaced rules and its RoleBinding in each of roleNamespaces(). */
export function renderLogsRole(checks: readonly AnyCheck[] = CHECKS): string {
  const name = 'kaiwo-monitor-pod-logs';
  const docs = roleNamespaces(checks).flatMap((namespace) => [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace, labels }, rules: namespacedRules(checks) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name: 'kaiwo-monitor-controller-manager', namespace: 'kaiwo-monitor-system' }],
    },
  ]);
  return (
    header +
    '# What checks need only in the namespaces they read (ComponentCheck.namespacedRbac, e.g. get pods/log for\n' +
    '# KaiwoMonitors with spec.logs.enabled), in the namespaces those checks default to, nowhere else. Not in\n' +
    '# kustomization.yaml (kustomize would move the Roles into kaiwo-monitor-system); apply it on its own:\n' +
    '# kubectl apply -f config/rbac/logs_role.yaml (Helm: set podLogs.namespaces).\n' +
    docs.map(flowYaml).join('---\n')
  );
}
