import { isoSeconds } from '../api/time.js';
import { durationMs } from '../api/duration.js';
import { bool, dur, failureGrace, gpuResourceNames, int, labelSelectorSchema, obj, QUALIFIED_NAME, str, tlsClient } from '../api/schema.js';
import { absentSince } from './absence.js';
import { AGENT_ROLES, agentFindings, agentSources, type AgentsSpec, DEFAULT_AGENTS } from './gpu-agents.js';
import { slimNode } from './gpu-nodes.js';
import { coveredNodes, gpusByNode, FAMILIES, readSignals, signalScrapes, type SignalsSpec } from './gpu-signals.js';
import { awaited, type CheckResult, type ComponentCheck, notObserved, waitingForData } from './types.js';
import { type F, hasCapacity, NextCheck, verdict } from './util.js';

export interface GPUHardwareSpec {
  enabled: boolean;
  resourceNames: string[];
  signals: SignalsSpec;
  agents: AgentsSpec;
}

/** NVIDIA's device plugin ignores these XIDs: the application's fault, not the GPU's (k8s-device-plugin internal/rm/health.go). */
export const APPLICATION_XIDS = [13, 31, 43, 45, 68, 109];
/**
 * XIDs that mean the GPU itself needs a reset or service: GKE's XidCriticalError set (48 double-bit ECC, 63/64 row
 * remapping, 79 fallen off the bus, 119/120 GSP, 123, 140 unrecovered ECC; container-engine-accelerators
 * pkg/gpu/nvidia/health_check/health_checker.go) joined with DCGM's fatal ones (74 NVLink, 95 uncontained ECC).
 */
export const CRITICAL_XIDS = [48, 63, 64, 74, 79, 95, 119, 120, 123, 140];

const LABEL_NAME = '^[A-Za-z_][A-Za-z0-9_]*$';
const xidList = (description: string, def: number[]) => ({
  type: 'array',
  maxItems: 256,
  default: def,
  items: { type: 'integer', format: 'int32', minimum: 1, maximum: 100000 },
  'x-kubernetes-list-type': 'set',
  description,
});

const agentSchema = {
  type: 'object',
  required: ['name', 'role', 'podSelector'],
  properties: {
    name: str('what the install is called in findings', { maxLength: 63, minLength: 1 }),
    role: { type: 'string', enum: [...AGENT_ROLES], description: 'what the pod does for its node' },
    resource: str('the GPU resource of the nodes it must run on (unset: every GPU node)', { maxLength: 253, pattern: QUALIFIED_NAME }),
    namespace: str('namespace of its pods (unset: every namespace)', { maxLength: 63 }),
    podSelector: labelSelectorSchema('labels of its pods'),
    ownerSuffix: str("only pods of a DaemonSet whose name ends so (e.g. '-device-plugin')", { maxLength: 63 }),
    nodeSelector: labelSelectorSchema('nodes it must run on besides those with the resource (a vendor label outlives the device plugin)'),
  },
};

/**
 * GPU hardware: the exporters' own signals (uncorrectable ECC, XIDs, row remapping, RAS errors, health, heat, PCIe
 * replays) per node and GPU through Prometheus, and the node agents (device plugin, exporter, node-problem-detector)
 * per GPU node. A GPU with a Critical signal that its device plugin still advertises is "at risk" in the capacity
 * check, which reads the same queries.
 */
export const gpuHardwareCheck: ComponentCheck<GPUHardwareSpec, 'gpuHardware'> = {
  component: 'gpuHardware',
  conditionType: 'GPUHardwareHealthy',
  label: 'GPU hardware',
  column: 'GPU-HW',
  description:
    "exporters' hardware signals per node and GPU from Prometheus (uncorrectable ECC, hardware XIDs, row-remap failures, " +
    'fatal RAS errors, unhealthy: Critical; correctable ECC, heat, throttling, PCIe replays: Warning; application XIDs ignored), ' +
    'GPU nodes without exporter series; per GPU node a Ready device-plugin, exporter and node-problem-detector pod',
  schema: obj('GPU hardware (GPUHardwareHealthy)', {
    enabled: bool('check the GPUs themselves and their node agents', true),
    resourceNames: gpuResourceNames('extended resources that make a node a GPU node (capacity > 0)'),
    signals: obj(
      'hardware signals from the GPU exporters (AMD device-metrics-exporter, NVIDIA dcgm-exporter) through a Prometheus HTTP API',
      {
        enabled: bool('query Prometheus for hardware signals', false),
        prometheusURL: str('base URL of the Prometheus HTTP API, e.g. http://prometheus-k8s.monitoring.svc:9090', {
          maxLength: 2048,
          pattern: '^https?://[^\\s/$.?#].[^\\s]*$',
        }),
        interval: dur('how often to query (one query per signal family)', '30s', '5s', '1h'),
        timeout: dur('query timeout', '10s', '100ms', '5m'),
        failureGrace: failureGrace(),
        tls: tlsClient('TLS settings for an https Prometheus'),
        window: dur('window over which error counters must grow (increase(); a counter reset is not growth)', '10m', '10s', '24h'),
        sustain: dur('how long a temperature must stay past its threshold (min_over_time)', '5m', '10s', '24h'),
        nodeLabels: {
          type: 'array',
          maxItems: 8,
          default: ['node', 'kubernetes_node', 'Hostname', 'hostname'],
          items: { type: 'string', maxLength: 63, pattern: LABEL_NAME },
          description:
            'series labels that name the node, first set one wins (dcgm-exporter: Hostname; device-metrics-exporter: hostname; ' +
            'node or kubernetes_node where Prometheus relabels __meta_kubernetes_pod_node_name)',
        },
        uncorrectableECC: int('uncorrectable ECC errors within the window that make a GPU Critical', 1, 1, 1_000_000),
        correctableECC: int('correctable ECC errors within the window that make a Warning', 1000, 1, 1_000_000_000),
        pcieReplays: int('PCIe replays within the window that make a Warning', 100, 1, 1_000_000_000),
        temperatureCelsius: int('GPU (edge) temperature held for `sustain` that makes a Warning', 90, 30, 200),
        junctionTemperatureCelsius: int('AMD junction (hotspot) temperature held for `sustain` that makes a Warning', 105, 30, 200),
        criticalXIDs: xidList('NVIDIA XIDs that make a GPU Critical (the GPU needs a reset or service)', CRITICAL_XIDS),
        ignoredXIDs: xidList("NVIDIA XIDs that are the application's fault, not the GPU's: no finding", APPLICATION_XIDS),
        missingGrace: dur(
          'a GPU node without exporter series in Prometheus this long is reported (exporter restarts and new nodes)',
          '2m',
          '0s',
          '24h',
        ),
      },
      {
        'x-kubernetes-validations': [
          { rule: '!self.enabled || has(self.prometheusURL)', message: 'prometheusURL is required when enabled' },
        ],
      },
    ),
    agents: obj('the node agents of each GPU node: device plugin, metrics exporter, node-problem-detector', {
      enabled: bool('check that each GPU node has a Ready pod of each installed agent', true),
      grace: dur('a GPU node without a Ready pod of an agent this long is reported (rollouts, restarts, new nodes)', '2m', '0s', '24h'),
      daemonSets: {
        type: 'array',
        maxItems: 16,
        default: DEFAULT_AGENTS,
        items: agentSchema,
        description:
          'the installs to look for; installs of one role and resource are alternatives, and a role none of whose pods exists is not installed (not checked)',
      },
    }),
  }),
  selectors: ['agents.daemonSets[].podSelector', 'agents.daemonSets[].nodeSelector'],
  rbac: [{ apiGroups: [''], resources: ['nodes', 'pods'], verbs: ['get', 'list', 'watch'] }],
  // The nodes source is the GPU-node check's (same transform: one informer).
  sources: (s) => ({ nodes: { apiVersion: 'v1', plural: 'nodes', kind: 'Node', transform: slimNode }, ...agentSources(s.agents) }),
  scrapes: (s) => signalScrapes(s.signals, FAMILIES, true),
  evaluate: ({ spec, data, scrapes, now }) => {
    const agentViews = Object.entries(data).filter(([k]) => k !== 'nodes');
    const missing = notObserved({ nodes: data.nodes ?? { state: 'pending', objects: [] } });
    if (missing) return missing;
    // An agent source still listing for the first time is waited for; one whose list failed is done without.
    const listing = agentViews.filter(([, v]) => awaited(v, { apiVersion: 'v1', plural: 'pods', kind: 'Pod', optional: true }));
    const waiting = waitingForData(Object.fromEntries(listing));
    if (waiting) return waiting;
    const next = new NextCheck(now);
    const nodes = data.nodes?.objects ?? [];
    const gpuNodes = nodes.filter((n) => hasCapacity(n, spec.resourceNames));
    const findings: F[] = [];
    const counts: Record<string, number> = { gpuNodes: gpuNodes.length };
    const s = spec.signals;
    const reading = s.enabled && s.prometheusURL;
    let blind: CheckResult | undefined;
    if (reading) {
      const read = readSignals(scrapes, new Set(nodes.map((n) => n.metadata.name)), s);
      for (const x of read.signals) {
        findings.push({
          severity: x.severity,
          reason: x.reason,
          object: { apiVersion: 'v1', kind: 'Node', name: x.node },
          message: x.message,
        });
      }
      const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
      counts.criticalGPUs = total(gpusByNode(read.signals));
      counts.degradedGPUs = total(gpusByNode(read.signals, 'Warning'));
      if (read.unmatched) counts.unmatchedSeries = read.unmatched;
      if (read.applicationXids) counts.applicationXids = read.applicationXids;
      if (read.dropped) counts.droppedSeries = read.dropped;
      const coverage = scrapes['hw.coverage'];
      if (coverage?.state === 'ok') {
        const covered = coveredNodes(coverage, s);
        const watched = gpuNodes.filter((n) => covered.has(n.metadata.name)).length;
        counts.watchedNodes = watched;
        if (gpuNodes.length && !watched) {
          blind = {
            status: 'Unknown',
            reason: 'NoHardwareMetrics',
            message: `Prometheus holds no GPU exporter series (gpu_health, gpu_gfx_activity, DCGM_FI_DEV_GPU_UTIL, DCGM_FI_DEV_GPU_TEMP) for any of the ${gpuNodes.length} GPU nodes under the labels ${s.nodeLabels.join(', ')}: the hardware signals are blind`,
            findings: [],
          };
        }
        const grace = durationMs(s.missingGrace);
        for (const n of gpuNodes) {
          const name = n.metadata.name;
          const since = absentSince(`coverage|${name}`, !covered.has(name), now.getTime());
          if (since === undefined || blind) continue;
          const created = Date.parse(n.metadata.creationTimestamp ?? '');
          const start = Math.max(since, Number.isFinite(created) ? created : -Infinity);
          if (now.getTime() - start < grace) {
            next.when(start, grace);
            continue;
          }
          findings.push({
            severity: 'Warning',
            reason: 'GPUMetricsMissing',
            object: { apiVersion: 'v1', kind: 'Node', name },
            message: `GPU node ${name}: no exporter series in Prometheus for more than ${s.missingGrace}: its GPUs' hardware health is unknown (exporter gone, not scraped, or its node label is not one of ${s.nodeLabels.join(', ')})`,
            since: isoSeconds(start),
          });
        }
      }
    }
    // Every node: agentFindings picks those each agent must run on, by GPU capacity or by the vendor's node label
    // (which outlives a dead device plugin, whose node then has no GPU capacity).
    const agents = agentFindings(spec.agents, data, nodes, spec.resourceNames, now, next);
    findings.push(...agents.findings);
    Object.assign(counts, agents.counts);
    const critical = counts.criticalGPUs ?? 0;
    const summary = {
      display: reading ? `${critical} GPU${critical === 1 ? '' : 's'} failing` : `${gpuNodes.length} GPU nodes`,
      counts,
    };
    const scraped = Object.fromEntries(Object.entries(scrapes).map(([k, v]) => [`GPU hardware (${k.slice(3)})`, v]));
    const result = verdict(
      findings,
      {
        reason: 'GPUHardwareHealthy',
        message: `${gpuNodes.length} GPU nodes: ${reading ? 'no hardware signal past its threshold' : 'hardware signals not read (signals.enabled is false)'}${
          agents.notInstalled.length === spec.agents.daemonSets.length && spec.agents.enabled ? '; no node agent found' : ''
        }`,
      },
      { summary, next, scrapes: scraped },
    );
    if (blind && result.status === 'True')
      return { ...blind, findings: result.findings, summary, ...(result.nextCheckAt ? { nextCheckAt: result.nextCheckAt } : {}) };
    return result;
  },
};
