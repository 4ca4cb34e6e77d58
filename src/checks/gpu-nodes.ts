import { bool, dur, failureGrace, gpuResourceNames, int, labelSelectorSchema, obj, str, tlsClient } from '../api/schema.js';
import type { LabelSelector } from '../api/types.js';
import type { KubeObject } from '../runtime/objects.js';
import { matchesSelector } from '../runtime/selector.js';
import { durationMs } from '../api/duration.js';
import { type ComponentCheck, notObserved, type ScrapeSpec, type ScrapeView } from './types.js';
import { ageMs, conditionOf, type F, hasCapacity, nameList, NextCheck, prometheusScrape, quantity, verdict } from './util.js';

const NODE = { apiVersion: 'v1', kind: 'Node' };
const PRESSURES = ['MemoryPressure', 'DiskPressure', 'PIDPressure'];
const AMD_HEALTH_LABEL = /^metricsexporter\.amd\.com\.gpu\.([^.]+)\.state$/;

/** Nodes carry large image lists no check reads; drop them before caching (shared with the capacity check). */
export function slimNode(n: KubeObject): KubeObject {
  const status = (n.status ?? {}) as Record<string, unknown>;
  const { images: _i, volumesInUse: _v, volumesAttached: _a, conditions, ...rest } = status;
  // lastHeartbeatTime changes on every kubelet status update; no check reads it (NotReady comes from the Ready
  // condition the node lifecycle controller sets), so without it a heartbeat is a no-op update the informer drops.
  const slim = Array.isArray(conditions)
    ? conditions.map((c: unknown) => {
        if (typeof c !== 'object' || c === null) return c;
        const { lastHeartbeatTime: _h, ...kept } = c as Record<string, unknown>;
        return kept;
      })
    : conditions;
  // No check reads a node's annotations (often KiBs: CSI node IDs, CNI addresses, volumes).
  const { annotations: _n, ...metadata } = n.metadata;
  return { ...n, metadata, status: conditions === undefined ? rest : { ...rest, conditions: slim } };
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
    failureGrace: string;
    tls: { insecureSkipVerify: boolean; caBundle?: string };
  };
}

interface NodeStatus {
  capacity?: Record<string, string>;
  allocatable?: Record<string, string>;
}

/** Default utilization query: AMD device-metrics-exporter or NVIDIA DCGM, averaged over the idle window. */
export function defaultUtilizationQuery(window: string): string {
  return `avg_over_time(gpu_gfx_activity[${window}]) or avg_over_time(DCGM_FI_DEV_GPU_UTIL[${window}])`;
}

/**
 * Idle GPUs: series with a pod label (the GPU is allocated to a running pod) whose average utilization over the
 * window is below the threshold, grouped per pod; plus the cluster-wide average for the summary.
 */
export function utilizationFindings(
  view: ScrapeView | undefined,
  spec: Pick<GPUNodesSpec['utilization'], 'idleThresholdPercent' | 'idleWindow'>,
): { findings: F[]; percent?: number; idle: number } {
  const latest = view?.history.at(-1);
  if (!latest) return { findings: [], idle: 0 };
  // One pass, grouped with a map (linear: 100k series in a few ms); no per-sample copies.
  let total = 0;
  let count = 0;
  const byPod = new Map<string, { namespace: string; name: string; sum: number; n: number }>();
  for (const s of latest.samples) {
    if (!Number.isFinite(s.value)) continue;
    total += s.value;
    count++;
    const name = s.labels.pod ?? s.labels.pod_name ?? '';
    if (!name) continue;
    const namespace = s.labels.namespace ?? s.labels.pod_namespace ?? '';
    const key = `${namespace}/${name}`;
    const g = byPod.get(key);
    if (g) {
      g.sum += s.value;
      g.n++;
    } else byPod.set(key, { namespace, name, sum: s.value, n: 1 });
  }
  if (!count) return { findings: [], idle: 0 };
  const percent = Math.round(total / count);
  const findings: F[] = [];
  let idle = 0;
  for (const [key, { namespace, name, sum, n }] of [...byPod].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (sum / n >= spec.idleThresholdPercent) continue;
    idle += n;
    findings.push({
      severity: 'Warning',
      reason: 'IdleGPUs',
      object: { apiVersion: 'v1', kind: 'Pod', namespace, name },
      message: `pod ${key} holds ${n} GPU${n === 1 ? '' : 's'} below ${spec.idleThresholdPercent}% utilization over ${spec.idleWindow}: idle GPUs others could use`,
    });
  }
  return { findings, percent, idle };
}

/**
 * GPU nodes: readiness (cordoned nodes counted apart), pressure, NPD-style GPU problem conditions, lost GPUs
 * (allocatable < capacity, latched until serviced), AMD exporter health labels; thresholds on the fraction of
 * ready GPU nodes, available GPUs and NotReady duration.
 */
export const gpuNodesCheck: ComponentCheck<GPUNodesSpec, 'gpuNodes'> = {
  component: 'gpuNodes',
  conditionType: 'GPUNodesHealthy',
  label: 'GPU nodes',
  column: 'GPU-Nodes',
  description:
    'readiness (cordoned nodes apart), lost GPUs (allocatable < capacity), pressure, GPU problem conditions, ' +
    'AMD exporter health labels, optional idle GPUs from Prometheus',
  schema: obj(
    'GPU nodes (GPUNodesHealthy)',
    {
      enabled: bool('check GPU nodes', true),
      nodeSelector: labelSelectorSchema('nodes that count as GPU nodes even without GPU extended resources (DRA clusters)'),
      resourceNames: gpuResourceNames('extended resources that make a node a GPU node (capacity > 0)'),
      minReadyPercent: int('GPU nodes (excluding cordoned ones) that must be Ready', 90, 0, 100),
      minAvailableGPUPercent: int('GPUs allocatable vs installed (lost GPUs) that must remain', 90, 0, 100),
      maxNotReadyDuration: dur('a GPU node NotReady longer than this is Critical on its own', '5m', '0s', '720h'),
      problemConditions: {
        type: 'array',
        maxItems: 64,
        // AMD GPU operator's NPD example (AMDGPUProblem); GKE's device plugin (XidCriticalError: XIDs 48, 63, 64, 79, 119,
        // 120, 123, 140; container-engine-accelerators pkg/gpu/nvidia/health_check); AKS node-problem-detector's GPU
        // conditions (learn.microsoft.com/azure/aks/node-problem-detector); NVSentinel's NVLink health watch
        // (GpuNvlinkWatch, the one of its condition names found in its code). GPUProblem: a generic name.
        default: [
          'AMDGPUProblem',
          'GPUProblem',
          'XidCriticalError',
          'GPUMissing',
          'XIDErrors',
          'NVLinkStatusInactive',
          'UnhealthyNvidiaDevicePlugin',
          'GpuNvlinkWatch',
        ],
        items: { type: 'string', maxLength: 316, pattern: '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$' },
        'x-kubernetes-list-type': 'set',
        description: 'node-problem-detector style node conditions that mark a GPU problem when True',
      },
      utilization: obj(
        'optional GPU utilization from a Prometheus HTTP API',
        {
          enabled: bool('query Prometheus', false),
          prometheusURL: str('base URL of the Prometheus HTTP API, e.g. http://prometheus-k8s.monitoring.svc:9090', {
            maxLength: 2048,
            pattern: '^https?://[^\\s/$.?#].[^\\s]*$',
          }),
          query: str(
            'PromQL returning per-GPU utilization 0-100 with node/pod labels (default: AMD gpu_gfx_activity or NVIDIA ' +
              'DCGM_FI_DEV_GPU_UTIL averaged over idleWindow)',
            { maxLength: 4096 },
          ),
          idleThresholdPercent: int('allocated GPUs below this utilization are idle', 5, 0, 100),
          idleWindow: dur('averaging window for idleness', '30m', '1m', '24h'),
          interval: dur('how often to query', '1m', '5s', '1h'),
          timeout: dur('query timeout', '10s', '100ms', '5m'),
          failureGrace: failureGrace(),
          tls: tlsClient('TLS settings for an https Prometheus'),
        },
        {
          'x-kubernetes-validations': [
            { rule: '!self.enabled || has(self.prometheusURL)', message: 'prometheusURL is required when enabled' },
          ],
        },
      ),
    },
    {
      'x-kubernetes-validations': [
        {
          rule: 'size(self.resourceNames) > 0 || has(self.nodeSelector)',
          message: 'set resourceNames or nodeSelector to identify GPU nodes',
        },
      ],
    },
  ),
  selectors: ['nodeSelector'],
  rbac: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] }],
  sources: () => ({ nodes: { apiVersion: 'v1', plural: 'nodes', kind: 'Node', transform: slimNode } }),
  scrapes: (s): Record<string, ScrapeSpec> => {
    const u = s.utilization;
    if (!u.enabled || !u.prometheusURL) return {};
    return { utilization: prometheusScrape(u, u.query ?? defaultUtilizationQuery(u.idleWindow)) };
  },
  evaluate: ({ spec, data, scrapes, now }) => {
    const missing = notObserved(data);
    if (missing) return missing;
    const next = new NextCheck(now);
    const findings: F[] = [];
    const isGpuNode = (n: KubeObject) =>
      hasCapacity(n, spec.resourceNames) || (spec.nodeSelector !== undefined && matchesSelector(spec.nodeSelector, n.metadata.labels));
    const nodes = (data.nodes?.objects ?? []).filter(isGpuNode);
    if (nodes.length === 0) {
      return {
        status: 'Unknown',
        reason: 'NoGPUNodes',
        findings: [],
        message: `no node has ${spec.resourceNames.join(' or ')} capacity${spec.nodeSelector ? ' or matches the node selector' : ''}`,
        summary: { display: '0 GPU nodes', counts: { nodes: 0 } },
      };
    }
    const maxNotReady = durationMs(spec.maxNotReadyDuration);
    let installed = 0;
    let installedActive = 0; // on nodes that are not cordoned
    let available = 0;
    const notReady: string[] = [];
    const cordoned: string[] = [];
    for (const n of nodes) {
      const name = n.metadata.name;
      const object = { ...NODE, name };
      const st = (n.status ?? {}) as NodeStatus;
      const isCordoned = (n.spec as { unschedulable?: boolean } | undefined)?.unschedulable === true;
      const ready = conditionOf(n, 'Ready');
      const isReady = ready?.status === 'True';
      let nodeInstalled = 0;
      let nodeAllocatable = 0;
      for (const r of spec.resourceNames) {
        const cap = quantity(st.capacity?.[r]);
        const alloc = Math.min(cap, quantity(st.allocatable?.[r]));
        nodeInstalled += cap;
        nodeAllocatable += alloc;
        if (alloc < cap) {
          findings.push({
            severity: 'Warning',
            reason: 'GPUsLost',
            object,
            message: `${cap - alloc} of ${cap} ${r} on ${name} unhealthy (allocatable < capacity; latched until the GPU is serviced and the device plugin restarted)`,
          });
        }
      }
      installed += nodeInstalled;
      if (!isCordoned) installedActive += nodeInstalled;
      if (isCordoned) {
        cordoned.push(name);
        findings.push({
          severity: 'Info',
          reason: 'NodeCordoned',
          object,
          message: `${name} is cordoned (maintenance; not counted as an outage)`,
        });
        continue;
      }
      if (isReady) available += nodeAllocatable;
      if (!isReady) {
        notReady.push(name);
        const since = ready?.lastTransitionTime;
        const age = ageMs(since, now);
        const why = ready ? `${ready.status}${ready.reason ? `/${ready.reason}` : ''}` : 'no Ready condition';
        if (age !== undefined && age >= maxNotReady) {
          findings.push({
            severity: 'Critical',
            reason: 'NodeNotReady',
            object,
            message: `GPU node ${name} NotReady (${why}) for more than ${spec.maxNotReadyDuration}`,
            ...(since ? { since } : {}),
          });
        } else {
          findings.push({
            severity: 'Warning',
            reason: 'NodeNotReady',
            object,
            message: `GPU node ${name} NotReady (${why})${since ? ` since ${since}` : ''}`,
            ...(since ? { since } : {}),
          });
          if (age !== undefined) next.when(now.getTime() - age, maxNotReady);
        }
      }
      for (const p of PRESSURES) {
        const c = conditionOf(n, p);
        if (c?.status === 'True')
          findings.push({ severity: 'Warning', reason: p, object, message: `${name} has ${p}${c.message ? `: ${c.message}` : ''}` });
      }
      for (const p of spec.problemConditions) {
        const c = conditionOf(n, p);
        if (c?.status === 'True') {
          findings.push({
            severity: 'Critical',
            reason: 'GPUProblem',
            object,
            message: `${name}: ${p}${c.reason ? `/${c.reason}` : ''}${c.message ? `: ${c.message}` : ''} (latched until serviced)`,
          });
        }
      }
      const badGpus = Object.entries(n.metadata.labels ?? {}).flatMap(([k, v]) => {
        const m = AMD_HEALTH_LABEL.exec(k);
        return m?.[1] && v === 'unhealthy' ? [m[1]] : [];
      });
      if (badGpus.length) {
        findings.push({
          severity: 'Warning',
          reason: 'GPUUnhealthy',
          object,
          message: `AMD device-metrics-exporter marks GPU ${nameList(badGpus)} on ${name} unhealthy`,
        });
      }
    }
    const schedulable = nodes.length - cordoned.length;
    const ready = schedulable - notReady.length;
    const readyPct = schedulable ? (100 * ready) / schedulable : 100;
    if (readyPct < spec.minReadyPercent) {
      findings.push({
        severity: 'Critical',
        reason: 'GPUNodesNotReady',
        message: `${notReady.length} of ${schedulable} GPU nodes NotReady: ${nameList(notReady)} (${readyPct.toFixed(0)}% ready, minimum ${spec.minReadyPercent}%)`,
      });
    }
    const installedSchedulable = installedActive;
    const availablePct = installedSchedulable ? (100 * available) / installedSchedulable : 100;
    if (installedSchedulable && availablePct < spec.minAvailableGPUPercent) {
      findings.push({
        severity: 'Critical',
        reason: 'GPUsUnavailable',
        message: `${available} of ${installedSchedulable} GPUs on schedulable nodes available (${availablePct.toFixed(0)}%, minimum ${spec.minAvailableGPUPercent}%): lost GPUs or NotReady nodes`,
      });
    }
    const util = utilizationFindings(scrapes.utilization, spec.utilization);
    findings.push(...util.findings);
    const counts = {
      nodes: nodes.length,
      ready,
      notReady: notReady.length,
      cordoned: cordoned.length,
      gpusInstalled: installed,
      gpusAvailable: available,
      ...(util.percent !== undefined ? { utilizationPercent: util.percent, idleGPUs: util.idle } : {}),
    };
    return verdict(
      findings,
      {
        reason: 'GPUNodesHealthy',
        message: `${ready}/${schedulable} GPU nodes ready${cordoned.length ? ` (${cordoned.length} cordoned)` : ''}, ${available}/${installedActive} GPUs available`,
      },
      {
        summary: { display: `${ready}/${nodes.length} ready`, counts },
        next,
        scrapes: { 'GPU utilization (Prometheus)': scrapes.utilization },
      },
    );
  },
};
