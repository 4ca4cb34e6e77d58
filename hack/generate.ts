/**
 * make generate: the KaiwoMonitor CRD from src/api/schema.ts (crds/, config/crd/bases/, the chart's crds/) and the
 * chart's copies of config/ (RBAC rules, alert rules, dashboard).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crdFiles, renderCrd } from '../src/api/render.js';
import { chartFiles } from '../src/dev/chart-files.js';
import { repoRoot } from '../src/dev/paths.js';

const files: Record<string, string> = { ...Object.fromEntries(crdFiles.map((f) => [f, renderCrd()])), ...chartFiles() };
for (const [rel, content] of Object.entries(files)) {
  mkdirSync(dirname(join(repoRoot, rel)), { recursive: true });
  writeFileSync(join(repoRoot, rel), content);
  process.stdout.write(`wrote ${rel}\n`);
}
