import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { repoRoot } from '../../src/localcluster/paths.js';

const header = '# Generated from config/ by `make generate`. Do not edit.\n';

/**
 * Files the Helm chart takes from config/ (one source for both installs): the alert rule groups and the Grafana
 * dashboard (`dashboardJson`, as generated). `make generate` writes them; a unit test checks they are current.
 */
export function chartFiles(dashboardJson: string): Record<string, string> {
  const alerts = parse(readFileSync(join(repoRoot, 'config/alerts/rules.yaml'), 'utf8')) as { spec: unknown };
  return {
    'charts/kaiwo-monitor/files/alert-rules.yaml': header + stringify(alerts.spec, { lineWidth: 0 }),
    'charts/kaiwo-monitor/files/kaiwo-monitor.json': dashboardJson,
  };
}
