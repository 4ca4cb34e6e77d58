/**
 * make generate: every file derived from the registered checks and config/ (see hack/gen/generated.ts): the
 * KaiwoMonitor CRD, the ClusterRole and namespaced Role, the full sample, the dashboard's component panels, the
 * chart's copies, the README's table of checks.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generatedFiles } from './gen/generated.js';
import { repoRoot } from '../src/localcluster/paths.js';

for (const [rel, content] of Object.entries(generatedFiles())) {
  mkdirSync(dirname(join(repoRoot, rel)), { recursive: true });
  writeFileSync(join(repoRoot, rel), content);
  process.stdout.write(`wrote ${rel}\n`);
}
