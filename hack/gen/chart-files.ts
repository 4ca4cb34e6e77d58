import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { repoRoot } from '../../src/localcluster/paths.js';

const header = '# Generated from config/ by `make generate`. Do not edit.\n';

/**
 * Files the Helm chart takes from config/ (one source for both installs): the alert
 * rule groups and the Grafana dashboard. `make generate` writes them; a unit test checks they are current.
 */
export function chartFiles(): Record<string, string> {
  const read = (p: string) => readFileSync(join(repoRoot, p), 'utf8');
  const alerts = parse(read('config/alerts/rules.yaml')) as { spec: unknown };
  const dashboard = parse(read('config/grafana/dashboard.yaml')) as { data: Record<string, string> };
  return {
    'charts/kaiwo-monitor/files/alert-rules.yaml': header + stringify(alerts.spec, { lineWidth: 0 }),
    'charts/kaiwo-monitor/files/kaiwo-monitor.json': dashboard.data['kaiwo-monitor.json'] ?? '',
  };
}
