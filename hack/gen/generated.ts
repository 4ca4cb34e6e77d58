/**
 * Everything `make generate` writes, derived from the registered checks (src/checks/registry.ts) and config/:
 * the KaiwoMonitor CRD (crds/, config/crd/bases/, the chart), the manager ClusterRole (config/rbac/role.yaml and
 * the chart's copy), the chart's copies of the alert rules and dashboard, and the README's table of checks.
 * test/unit/api-schema.test.ts fails when a committed file differs from what this returns.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Document, isSeq, stringify, visit } from 'yaml';
import { GROUP, PLURAL } from '../../src/api/schema.js';
import { CHECKS, checksTable, kaiwoMonitorCrd, managerRules } from '../../src/checks/registry.js';
import type { AnyCheck } from '../../src/checks/types.js';
import { chartFiles } from './chart-files.js';
import { repoRoot } from '../../src/localcluster/paths.js';

/** Where the generated CRD is committed. */
export const crdFiles = [`crds/${GROUP}_${PLURAL}.yaml`, `config/crd/bases/${GROUP}_${PLURAL}.yaml`, `charts/kaiwo-monitor/crds/${GROUP}_${PLURAL}.yaml`];
export const ROLE_FILE = 'config/rbac/role.yaml';
export const CHART_RULES_FILE = 'charts/kaiwo-monitor/files/manager-rules.yaml';

const yaml = (v: unknown) => stringify(v, { lineWidth: 0, aliasDuplicateObjects: false });

export function renderCrd(checks: readonly AnyCheck[] = CHECKS): string {
  return `# Generated from src/checks/registry.ts by \`make generate\`. Do not edit.\n---\n${yaml(kaiwoMonitorCrd(checks))}`;
}

/** The manager ClusterRole: least privilege, the operator's own rules plus what each registered check reads. */
/** YAML with lists of scalars in flow style (`verbs: [get, list, watch]`), as RBAC files are usually written. */
function flowYaml(v: unknown): string {
  const doc = new Document(v);
  visit(doc, { Seq: (_key, node) => { if (isSeq(node) && node.items.every((i) => !isSeq(i) && !(i && typeof i === 'object' && 'items' in i))) node.flow = true; } });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

export function renderRole(checks: readonly AnyCheck[] = CHECKS): string {
  const role = {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole',
    metadata: { name: 'manager-role', labels: { 'app.kubernetes.io/name': 'kaiwo-monitor' } },
    rules: managerRules(checks),
  };
  return `# Generated from src/checks/registry.ts by \`make generate\`. Do not edit.\n`
    + `# Least privilege: read what the checks read, write only KaiwoMonitor status and Events.\n${flowYaml(role)}`;
}

export function renderChartRules(checks: readonly AnyCheck[] = CHECKS): string {
  return `# Generated from src/checks/registry.ts by \`make generate\`. Do not edit.\n${flowYaml(managerRules(checks))}`;
}

/** `text` with `content` between the `<!-- name:begin -->` and `<!-- name:end -->` markers. */
function between(text: string, name: string, content: string): string {
  const [begin, end] = [`<!-- ${name}:begin -->`, `<!-- ${name}:end -->`];
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`README.md lacks the ${begin} … ${end} markers`);
  return `${text.slice(0, a + begin.length)}\n${content}\n${text.slice(b)}`;
}

export const ARGOCD_HEALTH_FILE = 'config/argocd/health.lua';

/** README with the table of checks and the Argo CD health script (indented for argocd-cm) between their markers. */
export function renderReadme(readme: string, checks: readonly AnyCheck[] = CHECKS, argoHealth?: string): string {
  const withTable = between(readme, 'checks', checksTable(checks));
  if (argoHealth === undefined) return withTable;
  const script = argoHealth.trimEnd().split('\n').map((l) => `  ${l}`).join('\n');
  return between(withTable, 'argocd', `\`\`\`yaml\nresource.customizations.health.monitoring.kaiwo.silogen.ai_KaiwoMonitor: |\n${script}\n\`\`\``);
}

/** Every generated file by path relative to the repository root. */
export function generatedFiles(): Record<string, string> {
  const crd = renderCrd();
  return {
    ...Object.fromEntries(crdFiles.map((f) => [f, crd])),
    [ROLE_FILE]: renderRole(),
    ...chartFiles(),
    [CHART_RULES_FILE]: renderChartRules(),
    'README.md': renderReadme(readFileSync(join(repoRoot, 'README.md'), 'utf8'), CHECKS, readFileSync(join(repoRoot, ARGOCD_HEALTH_FILE), 'utf8')),
  };
}
