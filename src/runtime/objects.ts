/** The minimal shape of any Kubernetes object the runtime handles. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    managedFields?: unknown;
    ownerReferences?: unknown[];
  };
  [key: string]: unknown;
}

/** A JSON object: not null, not an array (what an untrusted field must be before its keys are read). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function objectKey(obj: { metadata: { name: string; namespace?: string } }): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

/** Drops the bulk no check reads: managedFields and the client-side-apply annotation. */
export function stripBulk<T extends KubeObject>(obj: T): T {
  const { managedFields: _m, ...metadata } = obj.metadata;
  if (metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'] !== undefined) {
    const { 'kubectl.kubernetes.io/last-applied-configuration': _l, ...rest } = metadata.annotations;
    metadata.annotations = rest;
  }
  return { ...obj, metadata };
}

/** The REST path of a collection: apiVersion "v1" is core; namespace optional. */
export function collectionPath(apiVersion: string, plural: string, namespace?: string): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return namespace ? `${base}/namespaces/${namespace}/${plural}` : `${base}/${plural}`;
}
