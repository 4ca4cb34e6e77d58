import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

/** Pinned versions from hack/versions.env (shared with hack/controlplane/build.sh). */
export interface Versions {
  K8S_VERSION: string;
  ETCD_VERSION: string;
  KUEUE_VERSION: string;
  KUEUE_LEGACY_VERSION: string;
  KAIWO_VERSION: string;
  PROMETHEUS_VERSION: string;
  HELM_VERSION: string;
  PROMETHEUS_OPERATOR_VERSION: string;
}

const required: (keyof Versions)[] = ['K8S_VERSION', 'ETCD_VERSION', 'KUEUE_VERSION', 'KUEUE_LEGACY_VERSION', 'KAIWO_VERSION', 'PROMETHEUS_VERSION', 'HELM_VERSION', 'PROMETHEUS_OPERATOR_VERSION'];

/** Parses the KEY=value lines of a versions.env file; comments and blank lines are ignored. */
export function parseVersions(text: string): Versions {
  const values = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Z0-9_]+)=(v[0-9A-Za-z.+-]+)$/.exec(line);
    if (!m?.[1] || !m[2]) throw new Error(`versions.env: cannot parse line ${JSON.stringify(line)}`);
    values.set(m[1], m[2]);
  }
  const out: Partial<Versions> = {};
  for (const key of required) {
    const v = values.get(key);
    if (!v) throw new Error(`versions.env: ${key} is missing`);
    out[key] = v;
  }
  return out as Versions;
}

let cached: Versions | undefined;
export function versions(): Versions {
  cached ??= parseVersions(readFileSync(join(repoRoot, 'hack', 'versions.env'), 'utf8'));
  return cached;
}
