import { stringify } from 'yaml';
import { GROUP, kaiwoMonitorCrd, PLURAL } from './schema.js';

/** Where the generated CRD is committed (both must equal renderCrd(); a unit test checks). */
export const crdFiles = [`crds/${GROUP}_${PLURAL}.yaml`, `config/crd/bases/${GROUP}_${PLURAL}.yaml`, `charts/kaiwo-monitor/crds/${GROUP}_${PLURAL}.yaml`];

export function renderCrd(): string {
  return `# Generated from src/api/schema.ts by \`make generate\`. Do not edit.\n---\n${stringify(kaiwoMonitorCrd(), { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
