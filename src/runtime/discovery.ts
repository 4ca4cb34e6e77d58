import type { KubeConfig } from './kubeconfig.js';
import { HttpStatusError } from './http.js';
import { rawJson } from './rawrequest.js';

interface Crd {
  spec?: { versions?: { name: string; storage?: boolean; served?: boolean }[] };
}
interface Group {
  preferredVersion?: { version?: string };
}

/**
 * Which version of a CRD-backed API to use: the storage version from the CRD (fields are exact there),
 * else the group's preferred version from discovery (when CRDs may not be read), else undefined (not served).
 * Cached for `ttlMs`, so an upgrade (e.g. Kueue v0.15 → v0.16, v1beta1 → v1beta2 storage) is picked up.
 */
export class VersionDiscovery {
  private readonly cache = new Map<string, { at: number; version: string | undefined }>();
  constructor(
    private readonly kc: KubeConfig,
    private readonly ttlMs = 60_000,
  ) {}

  async version(group: string, crdName: string, now = Date.now()): Promise<string | undefined> {
    const hit = this.cache.get(crdName);
    if (hit && now - hit.at < this.ttlMs) return hit.version;
    let version: string | undefined;
    try {
      const crd = await rawJson<Crd>(this.kc, {
        method: 'GET',
        path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`,
        timeoutMs: 10_000,
      });
      version = crd.spec?.versions?.find((v) => v.storage && v.served !== false)?.name;
    } catch (err) {
      if (err instanceof HttpStatusError && err.status === 404) version = undefined;
      else {
        try {
          version = (await rawJson<Group>(this.kc, { method: 'GET', path: `/apis/${group}`, timeoutMs: 10_000 })).preferredVersion?.version;
        } catch {
          version = hit?.version; // keep the last answer through a blip
        }
      }
    }
    this.cache.set(crdName, { at: now, version });
    return version;
  }
}
