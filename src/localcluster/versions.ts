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

const required: (keyof Versions)[] = [
  'K8S_VERSION',
  'ETCD_VERSION',
  'KUEUE_VERSION',
  'KUEUE_LEGACY_VERSION',
  'KAIWO_VERSION',
  'PROMETHEUS_VERSION',
  'HELM_VERSION',
  'PROMETHEUS_OPERATOR_VERSION',
];

/** The KEY=value lines of a versions.env file; comments and blank lines are ignored, anything else throws. */
export function parseVersionLines(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Z0-9_]+)=(v[0-9A-Za-z.+-]+)$/.exec(line);
    if (!m?.[1] || !m[2]) throw new Error(`versions.env: cannot parse line ${JSON.stringify(line)}`);
    values.set(m[1], m[2]);
  }
  return values;
}

/** Parses a versions.env file and checks that the harness's required keys are there. */
export function parseVersions(text: string): Versions {
  const values = parseVersionLines(text);
  const out: Partial<Versions> = {};
  for (const key of required) {
    const v = values.get(key);
    if (!v) throw new Error(`versions.env: ${key} is missing`);
    out[key] = v;
  }
  return out as Versions;
}

let cached: Map<string, string> | undefined;
const all = () => (cached ??= parseVersionLines(readFileSync(join(repoRoot, 'hack', 'versions.env'), 'utf8')));

/** Every pinned version the harness needs, from hack/versions.env (the file the build scripts read too). */
export function versions(): Versions {
  return parseVersions([...all()].map(([k, v]) => `${k}=${v}`).join('\n'));
}

/** One pinned version from hack/versions.env (KWOK_VERSION, KAIWO_NEXT_VERSION, ...). */
export function pinned(key: string): string {
  const v = all().get(key);
  if (!v) throw new Error(`hack/versions.env has no ${key}`);
  return v;
}
