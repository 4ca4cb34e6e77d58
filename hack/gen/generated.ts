/**
 * Everything `make generate` writes, derived from the registered checks (src/checks/registry.ts) and config/:
 * the KaiwoMonitor CRD (crds/, config/crd/bases/, the chart), the manager ClusterRole and the namespaced Role
 * (config/rbac/ and the chart's rules), the full sample, the dashboard's component panels, the chart's copies of
 * the alert rules and dashboard, and the README's table of checks.
 * test/unit/api-schema.test.ts fails when a committed file differs from what this returns.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { GROUP, PLURAL } from '../../src/api/schema.js';
import { CHECKS, checksTable, kaiwoMonitorCrd } from '../../src/checks/registry.js';
import type { AnyCheck } from '../../src/checks/types.js';
import { chartFiles } from './chart-files.js';
import { DASHBOARD_FILE, dashboardJson, renderDashboard } from './dashboard.js';
import {
  CHART_NAMESPACED_RULES_FILE,
  CHART_RULES_FILE,
  LOGS_ROLE_FILE,
  renderChartNamespacedRules,
  renderChartRules,
  renderLogsRole,
  renderRole,
  ROLE_FILE,
} from './rbac.js';
import { renderSample, SAMPLE_FILE } from './sample.js';
import { repoRoot } from '../../src/localcluster/paths.js';

/** Where the generated CRD is committed. */
export const crdFiles = [
  `crds/${GROUP}_${PLURAL}.yaml`,
  `config/crd/bases/${GROUP}_${PLURAL}.yaml`,
  `charts/kaiwo-monitor/crds/${GROUP}_${PLURAL}.yaml`,
];

export function renderCrd(checks: readonly AnyCheck[] = CHECKS): string {
  return `# Generated from src/checks/registry.ts by \`make generate\`. Do not edit.\n---\n${stringify(kaiwoMonitorCrd(checks), { lineWidth: 0, aliasDuplicateObjects: false })}`;
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
  const script = argoHealth
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
  return between(
    withTable,
    'argocd',
    `\`\`\`yaml\nresource.customizations.health.monitoring.kaiwo.silogen.ai_KaiwoMonitor: |\n${script}\n\`\`\``,
  );
}

/** Every generated file by path relative to the repository root, for `checks` (the registered ones by default). */
export function generatedFiles(checks: readonly AnyCheck[] = CHECKS): Record<string, string> {
  const read = (rel: string) => readFileSync(join(repoRoot, rel), 'utf8');
  const crd = renderCrd(checks);
  const dashboard = renderDashboard(read(DASHBOARD_FILE), checks);
  return {
    ...Object.fromEntries(crdFiles.map((f) => [f, crd])),
    [ROLE_FILE]: renderRole(checks),
    [CHART_RULES_FILE]: renderChartRules(checks),
    [LOGS_ROLE_FILE]: renderLogsRole(checks),
    [CHART_NAMESPACED_RULES_FILE]: renderChartNamespacedRules(checks),
    [SAMPLE_FILE]: renderSample(checks),
    [DASHBOARD_FILE]: dashboard,
    ...chartFiles(dashboardJson(dashboard)),
    'README.md': renderReadme(read('README.md'), checks, read(ARGOCD_HEALTH_FILE)),
  };
}
