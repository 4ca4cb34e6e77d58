import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';

let cached: Map<string, string> | undefined;

/** A pinned version from hack/versions.env (KWOK_VERSION, KUEUE_VERSION, ...): the same file the build scripts read. */
export function pinned(key: string): string {
  if (!cached) {
    cached = new Map();
    for (const line of readFileSync(join(repoRoot, 'hack', 'versions.env'), 'utf8').split('\n')) {
      const m = /^([A-Z0-9_]+)=(\S+)$/.exec(line.trim());
      if (m?.[1] && m[2]) cached.set(m[1], m[2]);
    }
  }
  const v = cached.get(key);
  if (!v) throw new Error(`hack/versions.env has no ${key}`);
  return v;
}
