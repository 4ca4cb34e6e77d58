/**
 * Building blocks of the KaiwoMonitor OpenAPI v3 schema and the CRD. Each check declares its own spec section with
 * these helpers (src/checks/<area>.ts); src/checks/registry.ts assembles the spec, status and CRD from the
 * registered checks. crds/ and config/crd/ are generated from that (`make generate`), src/api/defaults.ts applies
 * its defaults, and test/unit/api-schema.test.ts fails when the schema and the TypeScript types drift apart.
 */

import { applyDefaults } from './defaults.js';
import { DURATION_PATTERN } from './duration.js';

export type Schema = Record<string, unknown>;

export const GROUP = 'monitoring.kaiwo.silogen.ai';
export const VERSION = 'v1alpha1';
export const KIND = 'KaiwoMonitor';
export const PLURAL = 'kaiwomonitors';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export const QUALIFIED_NAME =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$';

export const bool = (description: string, def: boolean): Schema => ({ type: 'boolean', default: def, description });
export const int = (description: string, def: number, minimum: number, maximum: number): Schema => ({
  type: 'integer',
  format: 'int32',
  default: def,
  minimum,
  maximum,
  description,
});
export const str = (description: string, extra: Schema = {}): Schema => ({ type: 'string', description, ...extra });
export const dur = (description: string, def: string, min = '1s', max = '720h'): Schema => ({
  type: 'string',
  default: def,
  pattern: DURATION_PATTERN,
  maxLength: 32,
  description,
  'x-kubernetes-validations': [
    {
      rule: `duration(self) >= duration('${min}') && duration(self) <= duration('${max}')`,
      message: `must be between ${min} and ${max}`,
    },
  ],
});
export const name = (description: string, def: string, pattern = DNS_SUBDOMAIN, maxLength = 253): Schema => ({
  type: 'string',
  default: def,
  pattern,
  maxLength,
  minLength: 1,
  description,
});
export const obj = (description: string, properties: Record<string, Schema>, extra: Schema = {}): Schema => ({
  type: 'object',
  description,
  properties,
  default: {},
  ...extra,
});

/** metav1.LabelSelector. Label syntax beyond these bounds is checked at run time (Ready=False/InvalidSpec). */
export const labelSelectorSchema = (description: string, def?: Schema): Schema => ({
  type: 'object',
  description,
  ...(def ? { default: def } : {}),
  properties: {
    matchLabels: {
      type: 'object',
      maxProperties: 32,
      additionalProperties: { type: 'string', maxLength: 63 },
      description: 'key=value pairs that must all match',
    },
    matchExpressions: {
      type: 'array',
      maxItems: 32,
      description: 'set-based requirements, ANDed',
      items: {
        type: 'object',
        required: ['key', 'operator'],
        properties: {
          key: { type: 'string', maxLength: 317, minLength: 1 },
          operator: { type: 'string', enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
          values: { type: 'array', maxItems: 64, items: { type: 'string', maxLength: 63 } },
        },
        'x-kubernetes-validations': [
          {
            rule: "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)",
            message: 'In and NotIn need values; Exists and DoesNotExist take none',
          },
        ],
      },
    },
  },
});

/** How long failed scrapes are tolerated before the component turns Unknown (src/checks/scrape-grace.ts). */
export const DEFAULT_FAILURE_GRACE = '30s';
export const failureGrace = (): Schema =>
  dur(
    'a failing endpoint makes the component Unknown only once at least two consecutive ' +
      "attempts failed and the first failure is this long ago (like a Prometheus alert's for:); until then the last good answer " +
      'is evaluated',
    DEFAULT_FAILURE_GRACE,
    '0s',
    '1h',
  );

/** A Prometheus-text metrics endpoint to scrape (Kaiwo's or Kueue's controller-runtime /metrics). */
export const metricsEndpoint = (description: string, thresholds: Record<string, Schema>): Schema =>
  obj(
    description,
    {
      enabled: bool('scrape this endpoint', false),
      url: str('https URL of the /metrics endpoint, e.g. https://kaiwo-controller-manager-metrics-service.kaiwo-system.svc:8443/metrics', {
        maxLength: 2048,
        pattern: '^https?://[^\\s/$.?#].[^\\s]*$',
      }),
      interval: dur('how often to scrape', '15s', '1s', '1h'),
      timeout: dur('per-scrape timeout', '5s', '100ms', '5m'),
      failureGrace: failureGrace(),
      maxResponseBytes: int('responses larger than this are rejected (MetricsResponseTooLarge)', 10485760, 1024, 104857600),
      tls: obj(
        'TLS settings',
        {
          insecureSkipVerify: bool('skip server certificate verification (self-signed controller-runtime certificates)', false),
          caBundle: str('PEM CA bundle to verify the server with', { maxLength: 65536 }),
          serverName: str('server name to verify instead of the URL host', { maxLength: 253 }),
        },
        {
          'x-kubernetes-validations': [
            { rule: '!(self.insecureSkipVerify && has(self.caBundle))', message: 'caBundle and insecureSkipVerify are mutually exclusive' },
          ],
        },
      ),
      bearerToken: obj(
        'credential sent as Authorization: Bearer',
        {
          source: {
            type: 'string',
            enum: ['ServiceAccount', 'Secret', 'None'],
            default: 'ServiceAccount',
            description: "ServiceAccount: kaiwo-monitor's own projected token; Secret: secretRef; None: no header",
          },
          secretRef: {
            type: 'object',
            description: 'Secret holding the token (only with source: Secret)',
            required: ['namespace', 'name'],
            properties: {
              namespace: name('namespace of the Secret', 'kaiwo-monitor-system', DNS_LABEL, 63),
              name: name('name of the Secret', 'metrics-token'),
              key: { type: 'string', default: 'token', maxLength: 253, pattern: '^[-._a-zA-Z0-9]+$', description: 'data key' },
            },
          },
        },
        {
          'x-kubernetes-validations': [
            { rule: "self.source != 'Secret' || has(self.secretRef)", message: 'secretRef is required when source is Secret' },
          ],
        },
      ),
      ...thresholds,
    },
    {
      'x-kubernetes-validations': [
        { rule: '!self.enabled || has(self.url)', message: 'url is required when enabled' },
        { rule: '!self.enabled || duration(self.timeout) <= duration(self.interval)', message: 'timeout must not exceed interval' },
      ],
    },
  );

/** Reconcile errors needed within rateWindow before their rate counts (minReconcileErrors). */
export const DEFAULT_MIN_RECONCILE_ERRORS = 3;

/** The controller-runtime rules' thresholds for a scraped controller (Kaiwo's or Kueue's), with its defaults. */
export const controllerThresholds = (d: {
  errorsPerMinute: number;
  depth: number;
  depthFor: string;
  p99: string;
}): Record<string, Schema> => ({
  maxReconcileErrorsPerMinute: int('reconcile error rate above which the controller is degraded', d.errorsPerMinute, 0, 100000),
  minReconcileErrors: int(
    'reconcile errors needed within rateWindow, besides the rate, before ReconcileErrors (an isolated error, ' +
      'e.g. a conflict retried at once, is routine; an object that keeps failing adds about ten within seconds)',
    DEFAULT_MIN_RECONCILE_ERRORS,
    1,
    100000,
  ),
  maxWorkqueueDepth: int('workqueue depth considered a backlog', d.depth, 1, 10000000),
  workqueueDepthFor: dur('how long the backlog must last', d.depthFor, '0s', '24h'),
  maxReconcileP99: dur('p99 reconcile time above which the controller is degraded', d.p99, '1ms', '1h'),
  rateWindow: dur(
    'window of the reconcile error, panic and p99 rates, like PromQL increase(x[window]); ' +
      'counter resets and replica changes are handled per series',
    '5m',
    '1s',
    '1h',
  ),
});

/** The GPU extended resources a check counts (a set of qualified names; AMD's and NVIDIA's by default). */
export const gpuResourceNames = (description: string): Schema => ({
  type: 'array',
  maxItems: 16,
  default: ['amd.com/gpu', 'nvidia.com/gpu'],
  items: { type: 'string', maxLength: 253, pattern: QUALIFIED_NAME },
  'x-kubernetes-list-type': 'set',
  description,
});

export const tlsClient = (description: string): Schema =>
  obj(description, {
    insecureSkipVerify: bool('skip server certificate verification', false),
    caBundle: str('PEM CA bundle', { maxLength: 65536 }),
  });

/**
 * The API server validates each `default` against the schema, CEL rules included, without defaulting inside
 * it, so an object's `default: {}` must already carry its nested defaults.
 */
export function expandDefaults(s: Schema): Schema {
  const props = s.properties as Record<string, Schema> | undefined;
  if (props) for (const [k, v] of Object.entries(props)) props[k] = expandDefaults(v);
  const def = s.default;
  if (props && def && typeof def === 'object' && !Array.isArray(def)) s.default = applyDefaults(s, def);
  return s;
}

export const SEVERITIES = ['Critical', 'Warning', 'Info'] as const;
/** Bounds of the optional status.summary.<component>.table (a check keeps its own top-N within them). */
export const SUMMARY_TABLE = { columns: 12, rows: 20, cellChars: 64 } as const;
export const MAX_FINDINGS = 50;

/** What the API needs of a component (a registered check): its spec section, condition and column. */
export interface ComponentDef {
  /** Key of its spec section and of status.summary, e.g. "kueue". */
  component: string;
  /** Its condition type, e.g. "KueueHealthy". */
  conditionType: string;
  /** Human name used in messages, e.g. "Kueue". */
  label: string;
  /** Printer column title (kubectl get kmon). */
  column: string;
  /** Its spec section; must have an `enabled` boolean. */
  schema: Schema;
}

/** The spec: interval, events and one section per component; at least one component must be enabled. */
export function buildSpecSchema(defs: readonly ComponentDef[]): Schema {
  return expandDefaults({
    type: 'object',
    description: 'What to monitor. `spec: {}` monitors a standard Kaiwo install (kaiwo-system, kueue-system) with defaults.',
    default: {},
    properties: {
      interval: dur(
        'how often the monitor is reconciled at least; checks re-run when what they read changes and at their time-based deadlines; status is written only when it changes',
        '30s',
        '1s',
        '1h',
      ),
      events: obj('Kubernetes Events on condition transitions and new critical findings', {
        enabled: bool('emit Events', true),
      }),
      ...Object.fromEntries(defs.map((d) => [d.component, structuredClone(d.schema)])),
    },
    'x-kubernetes-validations': [
      { rule: defs.map((d) => `self.${d.component}.enabled`).join(' || '), message: 'enable at least one component' },
    ],
  });
}

const conditionSchema: Schema = {
  type: 'object',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: {
      type: 'string',
      maxLength: 316,
      pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    reason: { type: 'string', minLength: 1, maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' },
    message: { type: 'string', maxLength: 32768 },
  },
};

const summarySchema = (description: string): Schema => ({
  type: 'object',
  description,
  properties: {
    display: { type: 'string', maxLength: 64, description: 'short text for kubectl columns, e.g. "31/32 ready"' },
    counts: { type: 'object', maxProperties: 32, additionalProperties: { type: 'integer', format: 'int64' }, description: 'named counts' },
    table: {
      type: 'object',
      description:
        `an optional small table (e.g. capacity per ClusterQueue): at most ${SUMMARY_TABLE.columns} columns and ` +
        `${SUMMARY_TABLE.rows} rows of cells up to ${SUMMARY_TABLE.cellChars} characters; \`kaiwo-monitor check -o wide\` prints it`,
      properties: {
        columns: { type: 'array', maxItems: SUMMARY_TABLE.columns, items: { type: 'string', maxLength: SUMMARY_TABLE.cellChars } },
        rows: {
          type: 'array',
          maxItems: SUMMARY_TABLE.rows,
          items: { type: 'array', maxItems: SUMMARY_TABLE.columns, items: { type: 'string', maxLength: SUMMARY_TABLE.cellChars } },
        },
      },
    },
    waiting: {
      type: 'array',
      maxItems: SUMMARY_TABLE.rows,
      description:
        'the oldest pending Workload of each ClusterQueue and why it waits, in one line (`kaiwo-monitor why` follows one of them in full)',
      items: {
        type: 'object',
        required: ['clusterQueue', 'workload', 'cause'],
        properties: {
          clusterQueue: { type: 'string', maxLength: 253 },
          workload: { type: 'string', maxLength: 317, description: 'namespace/name of the Workload' },
          since: { type: 'string', format: 'date-time', description: 'its creation' },
          cause: { type: 'string', maxLength: 256 },
        },
      },
    },
  },
});

export function buildStatusSchema(defs: readonly ComponentDef[]): Schema {
  const components = defs.map((d) => d.component);
  return {
    type: 'object',
    // observedGeneration 0 until the first status is written, so kstatus (Flux, kubectl-style waiters) reads a new
    // monitor as InProgress instead of Current.
    default: { observedGeneration: 0 },
    properties: {
      observedGeneration: {
        type: 'integer',
        format: 'int64',
        default: 0,
        minimum: 0,
        description: 'metadata.generation this status was computed from',
      },
      lastCheckTime: {
        type: 'string',
        format: 'date-time',
        description: 'evaluation that produced this status; refreshed when the status changes and at least every status heartbeat (10m)',
      },
      conditions: {
        type: 'array',
        maxItems: 16,
        items: conditionSchema,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      },
      summary: {
        type: 'object',
        properties: Object.fromEntries(components.map((c) => [c, summarySchema(`${c} counts`)])),
      },
      findings: {
        type: 'array',
        maxItems: MAX_FINDINGS,
        description: `the ${MAX_FINDINGS} most severe findings; findingCounts has the totals`,
        items: {
          type: 'object',
          required: ['component', 'severity', 'reason', 'message'],
          properties: {
            component: { type: 'string', enum: components },
            severity: { type: 'string', enum: [...SEVERITIES] },
            reason: { type: 'string', maxLength: 128 },
            message: { type: 'string', maxLength: 1024 },
            object: {
              type: 'object',
              description: 'the object the finding is about (kubectl-style ref)',
              properties: {
                apiVersion: { type: 'string', maxLength: 253 },
                kind: { type: 'string', maxLength: 63 },
                namespace: { type: 'string', maxLength: 63 },
                name: { type: 'string', maxLength: 253 },
              },
            },
            since: { type: 'string', format: 'date-time', description: 'when the condition was first seen' },
          },
        },
      },
      findingCounts: {
        type: 'object',
        properties: {
          total: { type: 'integer', format: 'int64' },
          critical: { type: 'integer', format: 'int64' },
          warning: { type: 'integer', format: 'int64' },
          info: { type: 'integer', format: 'int64' },
        },
      },
    },
  };
}

const conditionColumn = (columnName: string, type: string) => ({
  name: columnName,
  type: 'string',
  jsonPath: `.status.conditions[?(@.type=="${type}")].status`,
});

/**
 * The CustomResourceDefinition, as written to crds/ and config/crd/bases/. Exactly what the API server stores
 * (test/integration/crd-drift.test.ts): no field it drops as a default (a printer column's priority: 0, empty
 * strings or lists) and every one it adds (conversion), or the stored CRD never equals the file: GitOps tools show
 * it out of sync and a second server-side applier conflicts on .spec.versions.
 */
export function buildCrd(defs: readonly ComponentDef[]): Schema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: 'kaiwomonitor', shortNames: ['kmon'], categories: ['kaiwo'] },
      scope: 'Cluster',
      conversion: { strategy: 'None' },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            conditionColumn('Ready', 'Ready'),
            conditionColumn('Healthy', 'Healthy'),
            // Each component: its condition status and short summary, e.g. "True 31/32 ready".
            ...defs.map((d) => ({ name: d.column, type: 'string', jsonPath: `.status.summary.${d.component}.display` })),
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            { name: 'Last-Check', type: 'date', jsonPath: '.status.lastCheckTime', priority: 1 },
            { name: 'Message', type: 'string', jsonPath: '.status.conditions[?(@.type=="Healthy")].message', priority: 1 },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description:
                'KaiwoMonitor watches a Kaiwo/Kueue GPU stack and reports its health as conditions, findings, Events and metrics.',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: buildSpecSchema(defs),
                status: buildStatusSchema(defs),
              },
            },
          },
        },
      ],
    },
  };
}
