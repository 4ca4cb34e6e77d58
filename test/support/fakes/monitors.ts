import { CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../../../src/api/schema.js';
import type { Condition, KaiwoMonitor } from '../../../src/api/types.js';
import { rawRequest } from '../../../src/runtime/rawrequest.js';

const ref = { group: GROUP, version: VERSION, plural: PLURAL };
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Small typed helpers around KaiwoMonitor objects for tests. */
export class Monitors {
  private readonly api: CustomObjectsApi;
  constructor(private readonly kc: KubeConfig) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  create(name: string, spec: unknown = {}): Promise<KaiwoMonitor> {
    return this.api.createClusterCustomObject({
      ...ref,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'KaiwoMonitor', metadata: { name }, spec },
    }) as Promise<KaiwoMonitor>;
  }

  /** Creates with a raw request so a rejection's HTTP status and body can be inspected. */
  async tryCreate(name: string, spec: unknown): Promise<{ status: number; body: string }> {
    return rawRequest(this.kc, {
      method: 'POST',
      path: `/apis/${GROUP}/${VERSION}/${PLURAL}`,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'KaiwoMonitor', metadata: { name }, spec },
    });
  }

  get(name: string): Promise<KaiwoMonitor> {
    return this.api.getClusterCustomObject({ ...ref, name }) as Promise<KaiwoMonitor>;
  }

  patchSpec(name: string, spec: unknown): Promise<KaiwoMonitor> {
    return this.api.patchClusterCustomObject({ ...ref, name, body: { spec } }, merge) as Promise<KaiwoMonitor>;
  }

  async delete(name: string): Promise<void> {
    await this.api.deleteClusterCustomObject({ ...ref, name }).catch(() => undefined);
  }

  async condition(name: string, type: string): Promise<Condition | undefined> {
    return (await this.get(name)).status?.conditions?.find((c) => c.type === type);
  }
}
