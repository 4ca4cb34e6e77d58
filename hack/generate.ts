/** make generate: writes the KaiwoMonitor CRD from src/api/schema.ts to crds/ and config/crd/bases/. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crdFiles, renderCrd } from '../src/api/render.js';

const root = join(dirname(new URL(import.meta.url).pathname), '..');
for (const rel of crdFiles) {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), renderCrd());
  process.stdout.write(`wrote ${rel}\n`);
}
