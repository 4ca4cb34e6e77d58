import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { applyDefaults } from '../../src/api/defaults.js';
import type { Schema } from '../../src/api/schema.js';
import type { KaiwoMonitorStatus } from '../../src/api/types.js';
import { type KaiwoMonitorSpec, specSchema, statusSchema } from '../../src/checks/registry.js';
import { generatedFiles } from '../../hack/gen/generated.js';
import { repoRoot } from '../../src/localcluster/paths.js';

type DeepRequired<T> = T extends (infer U)[] ? DeepRequired<U>[] : T extends object ? { [K in keyof T]-?: DeepRequired<T[K]> } : T;

const sel = { matchLabels: { a: 'b' }, matchExpressions: [{ key: 'k', operator: 'In' as const, values: ['v'] }] };

/** Every field of the spec type set: the compiler fails here when a field is added to types.ts only. */
const fullSpec: DeepRequired<KaiwoMonitorSpec> = {
  interval: '30s',
  events: { enabled: true },
  operator: {
    enabled: true, namespace: 'n', deploymentName: 'd', podSelector: sel,
    leaseName: 'l', leaseGracePeriod: '5s', restartWindow: '15m', maxRestarts: 3, queueConfigName: 'kaiwo', queueConfigFailedGrace: '30s',
    scheduler: { enabled: true, namespace: 'kube-system', deploymentName: 'kaiwo-scheduler' },
    metrics: {
      enabled: true, url: 'https://x/metrics', interval: '15s', timeout: '5s', failureGrace: '30s', maxResponseBytes: 1024,
      tls: { insecureSkipVerify: false, caBundle: 'pem', serverName: 's' },
      bearerToken: { source: 'Secret', secretRef: { namespace: 'n', name: 's', key: 'token' } },
      maxReconcileErrorsPerMinute: 5, minReconcileErrors: 3, maxWorkqueueDepth: 100, workqueueDepthFor: '5m', maxReconcileP99: '30s', rateWindow: '5m',
    },
  },
  kueue: {
    enabled: true, namespace: 'n', deploymentName: 'd', podSelector: sel, leaseName: 'l', leaseGracePeriod: '5s',
    restartWindow: '15m', maxRestarts: 3, clusterQueueSelector: sel, localQueueNamespaceSelector: sel,
    maxPendingWorkloads: 100, maxPendingAge: '30m', quotaWarningPercent: 95, evictionWindow: '15m', maxEvictions: 5,
    metrics: {
      enabled: false, url: 'https://x', interval: '15s', timeout: '5s', failureGrace: '30s', maxResponseBytes: 1024,
      tls: { insecureSkipVerify: true, caBundle: '', serverName: '' },
      bearerToken: { source: 'ServiceAccount', secretRef: { namespace: 'n', name: 's', key: 'token' } },
      maxReconcileErrorsPerMinute: 60, minReconcileErrors: 3, maxWorkqueueDepth: 1000, workqueueDepthFor: '10m', maxReconcileP99: '60s', rateWindow: '5m',
      maxInadmissibleAttemptsPerMinute: 30,
    },
  },
  gpuNodes: {
    enabled: true, nodeSelector: sel, resourceNames: ['amd.com/gpu'], minReadyPercent: 90,
    minAvailableGPUPercent: 90, maxNotReadyDuration: '5m', problemConditions: ['AMDGPUProblem'],
    utilization: { enabled: false, prometheusURL: 'http://p', query: 'q', idleThresholdPercent: 5, idleWindow: '30m', interval: '1m', timeout: '10s', failureGrace: '30s', tls: { insecureSkipVerify: false, caBundle: '' } },
  },
  workloads: { enabled: true, namespaceSelector: sel, failedWindow: '1h', maxPendingDuration: '30m', maxTerminatingDuration: '15m', warningEventWindow: '15m', maxFailedPercent: 20 },
  capacity: {
    enabled: true, resourceNames: ['amd.com/gpu'], clusterQueueSelector: sel, workloadNamespaceSelector: sel, nodeSelector: sel, tableRows: 10,
    kaiwoPool: { enabled: true, label: 'kaiwo/nodepool' },
  },
  logs: {
    enabled: true, window: '5m', maxErrorsPerMinute: 10, maxReconcileErrorsPerMinute: 5, maxBytesPerSecond: 65536, maxPods: 5,
    operator: { enabled: true, namespace: 'kaiwo-system', podSelector: sel, container: 'manager' },
    kueue: { enabled: true, namespace: 'kueue-system', podSelector: sel, container: 'manager' },
  },
};

const fullStatus: DeepRequired<KaiwoMonitorStatus> = {
  observedGeneration: 1, lastCheckTime: 't',
  conditions: [{ type: 'Ready', status: 'True', observedGeneration: 1, lastTransitionTime: 't', reason: 'R', message: 'm' }],
  summary: Object.fromEntries(['operator', 'kueue', 'gpuNodes', 'workloads', 'capacity', 'logs'].map((c) => [c, { display: 'x', counts: {}, table: { columns: ['A'], rows: [['a']] } }])),
  findings: [{ component: 'kueue', severity: 'Critical', reason: 'R', message: 'm', object: { apiVersion: 'v', kind: 'k', namespace: 'n', name: 'n' }, since: 't' }],
  findingCounts: { total: 1, critical: 1, warning: 0, info: 0 },
};

/** Dotted paths of every property a schema declares (maps with additionalProperties count as leaves). */
function schemaPaths(s: Schema, prefix = ''): string[] {
  if (s.type === 'array') return schemaPaths(s.items as Schema, `${prefix}[]`);
  const props = s.properties as Record<string, Schema> | undefined;
  if (!props) return prefix ? [prefix] : [];
  return Object.entries(props).flatMap(([k, v]) => schemaPaths(v, prefix ? `${prefix}.${k}` : k));
}

/** The same paths of a value; `mapKeys` lists paths whose keys are data (matchLabels, counts). */
function valuePaths(v: unknown, mapKeys: Set<string>, prefix = ''): string[] {
  if (Array.isArray(v)) return v.length ? valuePaths(v[0], mapKeys, `${prefix}[]`) : [`${prefix}[]`];
  if (v && typeof v === 'object' && !mapKeys.has(prefix)) {
    return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => valuePaths(x, mapKeys, prefix ? `${prefix}.${k}` : k));
  }
  return [prefix];
}

const sorted = (xs: string[]) => [...new Set(xs)].sort();

describe('KaiwoMonitor API: schema and types stay in sync', () => {
  const labelMaps = (p: string) => [`${p}.matchLabels`];
  const specMaps = new Set(['operator.podSelector', 'kueue.podSelector', 'kueue.clusterQueueSelector', 'kueue.localQueueNamespaceSelector', 'gpuNodes.nodeSelector', 'workloads.namespaceSelector',
    'capacity.clusterQueueSelector', 'capacity.workloadNamespaceSelector', 'capacity.nodeSelector', 'logs.operator.podSelector',
    'logs.kueue.podSelector'].flatMap(labelMaps));

  it('every spec field in types.ts is in the schema and vice versa', () => {
    expect(sorted(valuePaths(fullSpec, specMaps))).to.deep.equal(sorted(schemaPaths(specSchema)));
  });

  it('every status field in types.ts is in the schema and vice versa', () => {
    const maps = new Set(['operator', 'kueue', 'gpuNodes', 'workloads', 'capacity', 'logs'].map((c) => `summary.${c}.counts`));
    expect(sorted(valuePaths(fullStatus, maps))).to.deep.equal(sorted(schemaPaths(statusSchema)));
  });

  it('the committed CRDs, ClusterRole, chart copies and README table are current (run make generate)', () => {
    const files = generatedFiles();
    expect(Object.keys(files)).to.include.members(['config/rbac/role.yaml', 'charts/kaiwo-monitor/files/manager-rules.yaml', 'README.md']);
    for (const [f, content] of Object.entries(files)) expect(readFileSync(join(repoRoot, f), 'utf8'), f).to.equal(content);
  });

  it('the full sample sets only schema fields, and all of them but repeated optional ones', () => {
    const sample = parse(readFileSync(join(repoRoot, 'config/samples/kaiwomonitor_full.yaml'), 'utf8')) as { spec: unknown };
    const inSample = valuePaths(sample.spec, specMaps);
    const inSchema = schemaPaths(specSchema);
    expect(inSample.filter((p) => !inSchema.includes(p))).to.deep.equal([]);
    // LabelSelector internals, the Secret reference and TLS extras are shown once, not in every section.
    const missing = inSchema.filter((p) => !inSample.includes(p));
    expect(missing.filter((p) => !/(Selector\.|matchExpressions|secretRef|serverName|caBundle)/.test(p))).to.deep.equal([]);
  });

  it('spec: {} defaults to a standard Kaiwo install', () => {
    const spec = applyDefaults<KaiwoMonitorSpec>(specSchema, {});
    expect(spec.operator).to.include({ enabled: true, namespace: 'kaiwo-system', deploymentName: 'kaiwo-controller-manager', leaseName: '83fc2279.silogen.ai' });
    expect(spec.operator.podSelector).to.deep.equal({ matchLabels: { 'control-plane': 'kaiwo-controller-manager' } });
    expect(spec.kueue).to.include({ namespace: 'kueue-system', deploymentName: 'kueue-controller-manager', leaseName: 'c1f6bfd2.kueue.x-k8s.io' });
    expect(spec.gpuNodes.resourceNames).to.deep.equal(['amd.com/gpu', 'nvidia.com/gpu']);
    expect(spec.operator.metrics.enabled).to.equal(false);
    expect(spec.interval).to.equal('30s');
  });

  it('defaulting keeps what is set and fills the rest', () => {
    const spec = applyDefaults<KaiwoMonitorSpec>(specSchema, { kueue: { enabled: false, maxPendingAge: '1h' } });
    expect(spec.kueue.enabled).to.equal(false);
    expect(spec.kueue.maxPendingAge).to.equal('1h');
    expect(spec.kueue.maxEvictions).to.equal(5);
  });
});
