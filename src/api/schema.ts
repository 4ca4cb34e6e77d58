/**
 * The KaiwoMonitor OpenAPI v3 schema: the single source of truth. crds/ and config/crd/ are generated from it
 * (`make generate`), src/api/defaults.ts applies its defaults, and test/unit/api-schema.test.ts fails when it and
 * the TypeScript types in types.ts drift apart.
 */

import { applyDefaults } from './defaults.js';
import { DURATION_PATTERN } from './duration.js';

export type Schema = Record<string, unknown>;

export const GROUP = 'monitoring.kaiwo.silogen.ai';
export const VERSION = 'v1alpha1';
export const KIND = 'KaiwoMonitor';
export const PLURAL = 'kaiwomonitors';
export const API_VERSION = `${GROUP}/${VERSION}`;

const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const QUALIFIED_NAME = '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$';

const bool = (description: string, def: boolean): Schema => ({ type: 'boolean', default: def, description });
const int = (description: string, def: number, minimum: number, maximum: number): Schema =>
  ({ type: 'integer', format: 'int32', default: def, minimum, maximum, description });
const str = (description: string, extra: Schema = {}): Schema => ({ type: 'string', description, ...extra });
const dur = (description: string, def: string, min = '1s', max = '720h'): Schema => ({
  type: 'string', default: def, pattern: DURATION_PATTERN, maxLength: 32, description,
  'x-kubernetes-validations': [{
    rule: `duration(self) >= duration('${min}') && duration(self) <= duration('${max}')`,
    message: `must be between ${min} and ${max}`,
  }],
});
const name = (description: string, def: string, pattern = DNS_SUBDOMAIN, maxLength = 253): Schema =>
  ({ type: 'string', default: def, pattern, maxLength, minLength: 1, description });
const obj = (description: string, properties: Record<string, Schema>, extra: Schema = {}): Schema =>
  ({ type: 'object', description, properties, default: {}, ...extra });

/** metav1.LabelSelector. Label syntax beyond these bounds is checked at run time (Ready=False/InvalidSpec). */
export const labelSelectorSchema = (description: string, def?: Schema): Schema => ({
  type: 'object',
  description,
  ...(def ? { default: def } : {}),
  properties: {
    matchLabels: {
      type: 'object', maxProperties: 32,
      additionalProperties: { type: 'string', maxLength: 63 },
      description: 'key=value pairs that must all match',
    },
    matchExpressions: {
      type: 'array', maxItems: 32, description: 'set-based requirements, ANDed',
      items: {
        type: 'object',
        required: ['key', 'operator'],
        properties: {
          key: { type: 'string', maxLength: 317, minLength: 1 },
          operator: { type: 'string', enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
          values: { type: 'array', maxItems: 64, items: { type: 'string', maxLength: 63 } },
        },
        'x-kubernetes-validations': [
          { rule: "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)",
            message: 'In and NotIn need values; Exists and DoesNotExist take none' },
        ],
      },
    },
  },
});

/** A Prometheus-text metrics endpoint to scrape (Kaiwo's or Kueue's controller-runtime /metrics). */
const metricsEndpoint = (description: string, thresholds: Record<string, Schema>): Schema => obj(description, {
  enabled: bool('scrape this endpoint', false),
  url: str('https URL of the /metrics endpoint, e.g. https://kaiwo-controller-manager-metrics-service.kaiwo-system.svc:8443/metrics',
    { maxLength: 2048, pattern: '^https?://[^\\s/$.?#].[^\\s]*$' }),
  interval: dur('how often to scrape', '15s', '1s', '1h'),
  timeout: dur('per-scrape timeout', '5s', '100ms', '5m'),
  maxResponseBytes: int('responses larger than this are rejected (MetricsResponseTooLarge)', 10485760, 1024, 104857600),
  tls: obj('TLS settings', {
    insecureSkipVerify: bool('skip server certificate verification (self-signed controller-runtime certificates)', false),
    caBundle: str('PEM CA bundle to verify the server with', { maxLength: 65536 }),
    serverName: str('server name to verify instead of the URL host', { maxLength: 253 }),
  }, { 'x-kubernetes-validations': [{ rule: '!(self.insecureSkipVerify && has(self.caBundle))', message: 'caBundle and insecureSkipVerify are mutually exclusive' }] }),
  bearerToken: obj('credential sent as Authorization: Bearer', {
    source: { type: 'string', enum: ['ServiceAccount', 'Secret', 'None'], default: 'ServiceAccount',
      description: "ServiceAccount: kaiwo-monitor's own projected token; Secret: secretRef; None: no header" },
    secretRef: {
      type: 'object', description: 'Secret holding the token (only with source: Secret)', required: ['namespace', 'name'],
      properties: {
        namespace: name('namespace of the Secret', 'kaiwo-monitor-system', DNS_LABEL, 63),
        name: name('name of the Secret', 'metrics-token'),
        key: { type: 'string', default: 'token', maxLength: 253, pattern: '^[-._a-zA-Z0-9]+$', description: 'data key' },
      },
    },
  }, { 'x-kubernetes-validations': [{ rule: "self.source != 'Secret' || has(self.secretRef)", message: 'secretRef is required when source is Secret' }] }),
  ...thresholds,
}, { 'x-kubernetes-validations': [{ rule: '!self.enabled || has(self.url)', message: 'url is required when enabled' }] });

const tlsClient = (description: string): Schema => obj(description, {
  insecureSkipVerify: bool('skip server certificate verification', false),
  caBundle: str('PEM CA bundle', { maxLength: 65536 }),
});

/**
 * The API server validates each `default` against the schema, CEL rules included, without defaulting inside
 * it, so an object's `default: {}` must already carry its nested defaults.
 */
function expandDefaults(s: Schema): Schema {
  const props = s.properties as Record<string, Schema> | undefined;
  if (props) for (const [k, v] of Object.entries(props)) props[k] = expandDefaults(v);
  const def = s.default;
  if (props && def && typeof def === 'object' && !Array.isArray(def)) s.default = applyDefaults(s, def);
  return s;
}

export const specSchema: Schema = expandDefaults({
  type: 'object',
  description: 'What to monitor. `spec: {}` monitors a standard Kaiwo install (kaiwo-system, kueue-system) with defaults.',
  default: {},
  properties: {
    interval: dur('periodic re-evaluation of time-based rules; status is written only when it changes', '30s', '1s', '1h'),
    events: obj('Kubernetes Events on condition transitions and new critical findings', {
      enabled: bool('emit Events', true),
    }),
    operator: obj('the Kaiwo operator (KaiwoOperatorHealthy)', {
      enabled: bool('check the Kaiwo operator', true),
      namespace: name('namespace of the Kaiwo operator', 'kaiwo-system', DNS_LABEL, 63),
      deploymentName: name('operator Deployment', 'kaiwo-controller-manager'),
      podSelector: labelSelectorSchema('operator pods', { matchLabels: { 'control-plane': 'kaiwo-controller-manager' } }),
      leaseName: name('leader-election Lease in the operator namespace', '83fc2279.silogen.ai'),
      leaseGracePeriod: dur('tolerated lateness of a Lease renewal beyond leaseDurationSeconds', '5s', '0s', '1h'),
      restartWindow: dur('container restarts are counted over this window', '15m', '1m', '24h'),
      maxRestarts: int('restarts within restartWindow before the operator counts as crash-looping', 3, 0, 1000),
      queueConfigName: name('the KaiwoQueueConfig Kaiwo reconciles', 'kaiwo'),
      scheduler: obj('the kaiwo-scheduler Deployment Kaiwo pods use by default', {
        enabled: bool('check kaiwo-scheduler', true),
        namespace: name('namespace of kaiwo-scheduler', 'kube-system', DNS_LABEL, 63),
        deploymentName: name('scheduler Deployment', 'kaiwo-scheduler'),
      }),
      metrics: metricsEndpoint('the operator metrics endpoint (kustomize installs serve HTTPS on 8443; Helm installs have none)', {
        maxReconcileErrorsPerMinute: int('reconcile error rate above which the operator is degraded', 5, 0, 100000),
        maxWorkqueueDepth: int('workqueue depth considered a backlog', 100, 1, 10000000),
        workqueueDepthFor: dur('how long the backlog must last', '5m', '0s', '24h'),
        maxReconcileP99: dur('p99 reconcile time above which the operator is degraded', '30s', '1ms', '1h'),
      }),
    }),
    kueue: obj('Kueue (KueueHealthy)', {
      enabled: bool('check Kueue', true),
      namespace: name('namespace of Kueue', 'kueue-system', DNS_LABEL, 63),
      deploymentName: name('Kueue Deployment', 'kueue-controller-manager'),
      podSelector: labelSelectorSchema('Kueue pods', { matchLabels: { 'control-plane': 'controller-manager' } }),
      leaseName: name('Kueue leader-election Lease', 'c1f6bfd2.kueue.x-k8s.io'),
      clusterQueueSelector: labelSelectorSchema('ClusterQueues to check (default: all)', {}),
      localQueueNamespaceSelector: labelSelectorSchema('namespaces whose LocalQueues and Workloads to check (default: all)', {}),
      maxPendingWorkloads: int('pending workloads per ClusterQueue considered a backlog', 100, 0, 10000000),
      maxPendingAge: dur('oldest pending Workload age per ClusterQueue before it is a finding', '30m', '1s', '720h'),
      quotaWarningPercent: int('usage of nominal quota (percent) that raises a Warning', 95, 1, 1000),
      evictionWindow: dur('evictions are counted over this window', '15m', '1m', '24h'),
      maxEvictions: int('evictions within evictionWindow before a Warning', 5, 0, 100000),
      metrics: metricsEndpoint('the Kueue metrics endpoint (HTTPS on 8443 with token auth)', {
        maxInadmissibleAttemptsPerMinute: int('inadmissible admission attempts per minute that raise a Warning', 30, 0, 10000000),
      }),
    }),
    gpuNodes: obj('GPU nodes (GPUNodesHealthy)', {
      enabled: bool('check GPU nodes', true),
      nodeSelector: labelSelectorSchema('nodes that count as GPU nodes even without GPU extended resources (DRA clusters)'),
      resourceNames: {
        type: 'array', maxItems: 16, default: ['amd.com/gpu', 'nvidia.com/gpu'],
        items: { type: 'string', maxLength: 253, pattern: QUALIFIED_NAME },
        'x-kubernetes-list-type': 'set',
        description: 'extended resources that make a node a GPU node (capacity > 0)',
      },
      minReadyPercent: int('GPU nodes (excluding cordoned ones) that must be Ready', 90, 0, 100),
      minAvailableGPUPercent: int('GPUs allocatable vs installed (lost GPUs) that must remain', 90, 0, 100),
      maxNotReadyDuration: dur('a GPU node NotReady longer than this is Critical on its own', '5m', '0s', '720h'),
      problemConditions: {
        type: 'array', maxItems: 64, default: ['AMDGPUProblem', 'GPUProblem'],
        items: { type: 'string', maxLength: 316, pattern: '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$' },
        'x-kubernetes-list-type': 'set',
        description: 'node-problem-detector style node conditions that mark a GPU problem when True',
      },
      utilization: obj('optional GPU utilization from a Prometheus HTTP API', {
        enabled: bool('query Prometheus', false),
        prometheusURL: str('base URL of the Prometheus HTTP API, e.g. http://prometheus-k8s.monitoring.svc:9090',
          { maxLength: 2048, pattern: '^https?://[^\\s/$.?#].[^\\s]*$' }),
        query: str('PromQL returning per-GPU utilization 0-100 with node/pod labels (default: AMD gpu_gfx_activity or NVIDIA DCGM_FI_DEV_GPU_UTIL averaged over idleWindow)', { maxLength: 4096 }),
        idleThresholdPercent: int('allocated GPUs below this utilization are idle', 5, 0, 100),
        idleWindow: dur('averaging window for idleness', '30m', '1m', '24h'),
        interval: dur('how often to query', '1m', '5s', '1h'),
        timeout: dur('query timeout', '10s', '100ms', '5m'),
        tls: tlsClient('TLS settings for an https Prometheus'),
      }, { 'x-kubernetes-validations': [{ rule: '!self.enabled || has(self.prometheusURL)', message: 'prometheusURL is required when enabled' }] }),
    }, { 'x-kubernetes-validations': [{ rule: 'size(self.resourceNames) > 0 || has(self.nodeSelector)', message: 'set resourceNames or nodeSelector to identify GPU nodes' }] }),
    workloads: obj('KaiwoJobs and KaiwoServices (WorkloadsHealthy)', {
      enabled: bool('check Kaiwo workloads', true),
      namespaceSelector: labelSelectorSchema('namespaces to check (default: all)', {}),
      failedWindow: dur('FAILED/ERROR workloads newer than this are findings', '1h', '1m', '720h'),
      maxPendingDuration: dur('PENDING longer than this is a finding', '30m', '1s', '720h'),
      maxTerminatingDuration: dur('TERMINATING longer than this is stuck', '15m', '1s', '720h'),
      warningEventWindow: dur('Warning Events on Kaiwo objects newer than this are findings', '15m', '1m', '24h'),
      maxFailedPercent: int('failed workloads (percent of those in scope) that make the component unhealthy', 20, 0, 100),
    }),
  },
  'x-kubernetes-validations': [
    { rule: 'self.operator.enabled || self.kueue.enabled || self.gpuNodes.enabled || self.workloads.enabled', message: 'enable at least one component' },
    { rule: "!self.operator.metrics.enabled || duration(self.operator.metrics.timeout) <= duration(self.operator.metrics.interval)", message: 'operator.metrics.timeout must not exceed its interval' },
    { rule: "!self.kueue.metrics.enabled || duration(self.kueue.metrics.timeout) <= duration(self.kueue.metrics.interval)", message: 'kueue.metrics.timeout must not exceed its interval' },
  ],
});

export const COMPONENTS = ['operator', 'kueue', 'gpuNodes', 'workloads'] as const;
export const SEVERITIES = ['Critical', 'Warning', 'Info'] as const;
export const MAX_FINDINGS = 50;

const conditionSchema: Schema = {
  type: 'object',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: { type: 'string', maxLength: 316, pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$' },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    reason: { type: 'string', minLength: 1, maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' },
    message: { type: 'string', maxLength: 32768 },
  },
};

const summarySchema = (description: string): Schema => ({
  type: 'object', description,
  properties: {
    display: { type: 'string', maxLength: 64, description: 'short text for kubectl columns, e.g. "31/32 ready"' },
    counts: { type: 'object', maxProperties: 32, additionalProperties: { type: 'integer', format: 'int64' }, description: 'named counts' },
  },
});

export const statusSchema: Schema = {
  type: 'object',
  properties: {
    observedGeneration: { type: 'integer', format: 'int64', description: 'metadata.generation this status was computed from' },
    lastCheckTime: { type: 'string', format: 'date-time', description: 'evaluation that produced this status; refreshed when the status changes and at least every status heartbeat (10m)' },
    conditions: {
      type: 'array', maxItems: 16, items: conditionSchema,
      'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'],
    },
    summary: {
      type: 'object',
      properties: Object.fromEntries(COMPONENTS.map((c) => [c, summarySchema(`${c} counts`)])),
    },
    findings: {
      type: 'array', maxItems: MAX_FINDINGS, description: `the ${MAX_FINDINGS} most severe findings; findingCounts has the totals`,
      items: {
        type: 'object',
        required: ['component', 'severity', 'reason', 'message'],
        properties: {
          component: { type: 'string', enum: [...COMPONENTS] },
          severity: { type: 'string', enum: [...SEVERITIES] },
          reason: { type: 'string', maxLength: 128 },
          message: { type: 'string', maxLength: 1024 },
          object: {
            type: 'object', description: 'the object the finding is about (kubectl-style ref)',
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

const conditionColumn = (columnName: string, type: string, priority = 0) =>
  ({ name: columnName, type: 'string', jsonPath: `.status.conditions[?(@.type=="${type}")].status`, priority });

/** The CustomResourceDefinition, as written to crds/ and config/crd/bases/. */
export function kaiwoMonitorCrd(): Schema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: 'kaiwomonitor', shortNames: ['kmon'], categories: ['kaiwo'] },
      scope: 'Cluster',
      versions: [{
        name: VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          conditionColumn('Healthy', 'Healthy'),
          conditionColumn('Operator', 'KaiwoOperatorHealthy'),
          conditionColumn('Kueue', 'KueueHealthy'),
          { name: 'GPU-Nodes', type: 'string', jsonPath: '.status.summary.gpuNodes.display' },
          conditionColumn('Workloads', 'WorkloadsHealthy'),
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          { name: 'Last-Check', type: 'date', jsonPath: '.status.lastCheckTime', priority: 1 },
          { name: 'Message', type: 'string', jsonPath: '.status.conditions[?(@.type=="Healthy")].message', priority: 1 },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            description: 'KaiwoMonitor watches a Kaiwo/Kueue GPU stack and reports its health as conditions, findings, Events and metrics.',
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              spec: specSchema,
              status: statusSchema,
            },
          },
        },
      }],
    },
  };
}
