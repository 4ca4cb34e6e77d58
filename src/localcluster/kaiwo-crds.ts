import type { RawCrd } from './crds.js';

/** An OpenAPI v3 schema in wire form (x-kubernetes-* keys as the API server spells them). */
type Schema = Record<string, unknown>;

/**
 * FALLBACK ONLY. Stand-in CRDs for the Kaiwo kinds, used only when neither ../shared/upstream/kaiwo/<version>/crds
 * (Kaiwo's real, strict CRDs, what tests and the demo install) nor the github.com/silogen/kaiwo module is
 * available; crds.ts then says so loudly. Written by us from the facts in shared/reference/kaiwo.md — group,
 * kinds, plurals, scope, status subresource, printer columns, and the status fields a monitor reads — with the
 * rest of the schema left open. Not a copy of Kaiwo's generated CRDs.
 */
const open: Schema = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

const conditions: Schema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
    properties: {
      type: { type: 'string' },
      status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
      observedGeneration: { type: 'integer', format: 'int64' },
      lastTransitionTime: { type: 'string', format: 'date-time' },
      reason: { type: 'string' },
      message: { type: 'string' },
    },
  },
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
};

const workloadStatus: Schema = {
  type: 'object',
  properties: {
    status: { type: 'string' },
    startTime: { type: 'string', format: 'date-time' },
    completionTime: { type: 'string', format: 'date-time' },
    duration: { type: 'integer', format: 'int64' },
    observedGeneration: { type: 'integer', format: 'int64' },
    conditions,
  },
};

interface KindSpec {
  group: string;
  kind: string;
  plural: string;
  scope: 'Namespaced' | 'Cluster';
  status?: Schema;
  columns: { name: string; type: string; jsonPath: string }[];
}

function crd(k: KindSpec): RawCrd {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${k.group}`, annotations: { 'kaiwo-monitor.dev/stand-in': 'true' } },
    spec: {
      group: k.group,
      names: { kind: k.kind, listKind: `${k.kind}List`, plural: k.plural, singular: k.kind.toLowerCase() },
      scope: k.scope,
      versions: [
        {
          name: 'v1alpha1',
          served: true,
          storage: true,
          ...(k.status ? { subresources: { status: {} } } : {}),
          additionalPrinterColumns: k.columns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: open,
                ...(k.status ? { status: k.status } : {}),
              },
            },
          },
        },
      ],
    },
  };
}

const workloadColumns = [
  { name: 'Status', type: 'string', jsonPath: '.status.status' },
  { name: 'StartTime', type: 'date', jsonPath: '.status.startTime' },
];

export function kaiwoStandInCrds(): RawCrd[] {
  return [
    crd({
      group: 'kaiwo.silogen.ai',
      kind: 'KaiwoJob',
      plural: 'kaiwojobs',
      scope: 'Namespaced',
      status: workloadStatus,
      columns: [...workloadColumns, { name: 'CompletionTime', type: 'date', jsonPath: '.status.completionTime' }],
    }),
    crd({
      group: 'kaiwo.silogen.ai',
      kind: 'KaiwoService',
      plural: 'kaiwoservices',
      scope: 'Namespaced',
      status: workloadStatus,
      columns: workloadColumns,
    }),
    crd({
      group: 'kaiwo.silogen.ai',
      kind: 'KaiwoQueueConfig',
      plural: 'kaiwoqueueconfigs',
      scope: 'Cluster',
      status: { type: 'object', properties: { status: { type: 'string' }, conditions } },
      columns: [{ name: 'WorkloadStatus', type: 'string', jsonPath: '.status.status' }],
    }),
    crd({ group: 'config.kaiwo.silogen.ai', kind: 'KaiwoConfig', plural: 'kaiwoconfigs', scope: 'Cluster', columns: [] }),
  ];
}
