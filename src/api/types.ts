/**
 * TypeScript view of the KaiwoMonitor API. Each check's spec section type lives beside its schema in
 * src/checks/<area>.ts; src/checks/registry.ts derives KaiwoMonitorSpec from the registered checks, and
 * test/unit/api-schema.test.ts fails when the schema and the types drift apart.
 */
import type { SEVERITIES } from './schema.js';

/** A registered check's name: the key of its spec section and of status.summary (e.g. "kueue"). */
export type Component = string;
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
  /** A failing endpoint makes the component Unknown once two consecutive attempts failed and the first is this long ago. */
  failureGrace: string;
  maxResponseBytes: number;
  tls: { insecureSkipVerify: boolean; caBundle?: string; serverName?: string };
  bearerToken: { source: 'ServiceAccount' | 'Secret' | 'None'; secretRef?: SecretKeyRef };
}

/** The spec fields every monitor has; each registered check adds its own section (see src/checks/registry.ts). */
export interface BaseSpec {
  interval: string;
  events: { enabled: boolean };
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
  /** A small table (bounded by SUMMARY_TABLE in schema.ts); each row has one cell per column. */
  table?: { columns: string[]; rows: string[][] };
  /** The oldest pending Workload of each ClusterQueue with its one-line cause (capacity; at most SUMMARY_TABLE.rows). */
  waiting?: { clusterQueue: string; workload: string; since?: string; cause: string }[];
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
  /** As stored (defaulted by the API server); applyDefaults with the registry's specSchema gives a KaiwoMonitorSpec. */
  spec: Partial<BaseSpec> & Record<string, unknown>;
  status?: KaiwoMonitorStatus;
}

export const READY = 'Ready';
export const HEALTHY = 'Healthy';
