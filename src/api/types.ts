/** TypeScript view of the KaiwoMonitor API. Must match schema.ts (checked by test/unit/api-schema.test.ts). */
import type { COMPONENTS, SEVERITIES } from './schema.js';

export type Component = (typeof COMPONENTS)[number];
export type Severity = (typeof SEVERITIES)[number];
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface SecretKeyRef {
  namespace: string;
  name: string;
  key: string;
}

export interface MetricsEndpoint {
  enabled: boolean;
  url?: string;
  interval: string;
  timeout: string;
  maxResponseBytes: number;
  tls: { insecureSkipVerify: boolean; caBundle?: string; serverName?: string };
  bearerToken: { source: 'ServiceAccount' | 'Secret' | 'None'; secretRef?: SecretKeyRef };
}

export interface OperatorSpec {
  enabled: boolean;
  namespace: string;
  deploymentName: string;
  podSelector: LabelSelector;
  leaseName: string;
  leaseGracePeriod: string;
  restartWindow: string;
  maxRestarts: number;
  queueConfigName: string;
  scheduler: { enabled: boolean; namespace: string; deploymentName: string };
  metrics: MetricsEndpoint & {
    maxReconcileErrorsPerMinute: number;
    maxWorkqueueDepth: number;
    workqueueDepthFor: string;
    maxReconcileP99: string;
  };
}

export interface KueueSpec {
  enabled: boolean;
  namespace: string;
  deploymentName: string;
  podSelector: LabelSelector;
  leaseName: string;
  clusterQueueSelector: LabelSelector;
  localQueueNamespaceSelector: LabelSelector;
  maxPendingWorkloads: number;
  maxPendingAge: string;
  quotaWarningPercent: number;
  evictionWindow: string;
  maxEvictions: number;
  metrics: MetricsEndpoint & { maxInadmissibleAttemptsPerMinute: number };
}

export interface GPUNodesSpec {
  enabled: boolean;
  nodeSelector?: LabelSelector;
  resourceNames: string[];
  minReadyPercent: number;
  minAvailableGPUPercent: number;
  maxNotReadyDuration: string;
  problemConditions: string[];
  utilization: {
    enabled: boolean;
    prometheusURL?: string;
    query?: string;
    idleThresholdPercent: number;
    idleWindow: string;
    interval: string;
    timeout: string;
    tls: { insecureSkipVerify: boolean; caBundle?: string };
  };
}

export interface WorkloadsSpec {
  enabled: boolean;
  namespaceSelector: LabelSelector;
  failedWindow: string;
  maxPendingDuration: string;
  maxTerminatingDuration: string;
  warningEventWindow: string;
  maxFailedPercent: number;
}

/** A fully defaulted spec (what the API server stores after applying the schema defaults). */
export interface KaiwoMonitorSpec {
  interval: string;
  events: { enabled: boolean };
  operator: OperatorSpec;
  kueue: KueueSpec;
  gpuNodes: GPUNodesSpec;
  workloads: WorkloadsSpec;
}

export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface ObjectRef {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
}

export interface Finding {
  component: Component;
  severity: Severity;
  reason: string;
  message: string;
  object?: ObjectRef;
  since?: string;
}

export interface ComponentSummary {
  display?: string;
  counts?: Record<string, number>;
}

export interface KaiwoMonitorStatus {
  observedGeneration?: number;
  lastCheckTime?: string;
  conditions?: Condition[];
  summary?: Partial<Record<Component, ComponentSummary>>;
  findings?: Finding[];
  findingCounts?: { total: number; critical: number; warning: number; info: number };
}

export interface KaiwoMonitor {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: KaiwoMonitorSpec;
  status?: KaiwoMonitorStatus;
}

/** Condition types, by component. */
export const CONDITION_TYPES: Record<Component, string> = {
  operator: 'KaiwoOperatorHealthy',
  kueue: 'KueueHealthy',
  gpuNodes: 'GPUNodesHealthy',
  workloads: 'WorkloadsHealthy',
};
export const READY = 'Ready';
export const HEALTHY = 'Healthy';
