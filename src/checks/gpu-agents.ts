import { isoSeconds } from '../api/time.js';
import { durationMs } from '../api/duration.js';
import type { LabelSelector } from '../api/types.js';
import { isRecord, type KubeObject } from '../runtime/objects.js';
import { matchesSelector, selectorString } from '../runtime/selector.js';
import { absentSince } from './absence.js';
import type { SourceSpec, SourceView } from './types.js';
import { type F, hasCapacity, type NextCheck } from './util.js';

/**
 * The node agents that make a GPU node useful, per GPU node: is a Ready pod of its device plugin (else its GPUs
 * vanish or go stale), its metrics exporter (else the hardware signals are blind there) and its node-problem-detector
 * there? Several installs of one role are alternatives (the AMD GPU operator or AMD's standalone DaemonSet; NVIDIA's
 * operator, Helm chart or static manifest): a node is served when a pod of any of them is. A role none of whose pods
 * exists anywhere is not installed here (DRA instead of a device plugin, no exporter) and is not checked.
 */

export const AGENT_ROLES = ['DevicePlugin', 'Exporter', 'ProblemDetector'] as const;
export type AgentRole = (typeof AGENT_ROLES)[number];

export interface AgentSpec {
  name: string;
  role: AgentRole;
  /** The GPU resource of the nodes it must run on; unset: every GPU node. */
  resource?: string;
  /** Where its pods are; unset: every namespace. */
  namespace?: string;
  podSelector: LabelSelector;
  /** Only pods owned by a DaemonSet whose name ends so (the AMD GPU operator labels device plugin and node labeller alike). */
  ownerSuffix?: string;
  /** Nodes it must run on besides those with `resource` capacity (a vendor's node label survives the device plugin). */
  nodeSelector?: LabelSelector;
}

export interface AgentsSpec {
  enabled: boolean;
  grace: string;
  daemonSets: AgentSpec[];
}

/** The defaults: the names and labels each vendor's installs give their pods (README "GPU hardware" cites the sources). */
export const DEFAULT_AGENTS: AgentSpec[] = [
  {
    name: 'AMD GPU operator device plugin',
    role: 'DevicePlugin',
    resource: 'amd.com/gpu',
    namespace: 'kube-amd-gpu',
    podSelector: { matchExpressions: [{ key: 'daemonset-name', operator: 'Exists' }] },
    ownerSuffix: '-device-plugin',
    nodeSelector: { matchLabels: { 'feature.node.kubernetes.io/amd-gpu': 'true' } },
  },
  {
    name: 'AMD device plugin DaemonSet',
    role: 'DevicePlugin',
    resource: 'amd.com/gpu',
    namespace: 'kube-system',
    podSelector: { matchExpressions: [{ key: 'name', operator: 'In', values: ['amdgpu-dp-ds'] }] },
  },
  {
    name: 'AMD device-metrics-exporter',
    role: 'Exporter',
    resource: 'amd.com/gpu',
    podSelector: { matchLabels: { 'app.kubernetes.io/name': 'metrics-exporter' } },
    nodeSelector: { matchLabels: { 'feature.node.kubernetes.io/amd-gpu': 'true' } },
  },
  {
    name: 'NVIDIA GPU operator device plugin',
    role: 'DevicePlugin',
    resource: 'nvidia.com/gpu',
    podSelector: { matchLabels: { app: 'nvidia-device-plugin-daemonset' } },
    nodeSelector: { matchExpressions: [{ key: 'nvidia.com/gpu.present', operator: 'In', values: ['true'] }] },
  },
  {
    name: 'NVIDIA device plugin (Helm chart)',
    role: 'DevicePlugin',
    resource: 'nvidia.com/gpu',
    podSelector: { matchLabels: { 'app.kubernetes.io/name': 'nvidia-device-plugin' } },
  },
  {
    name: 'NVIDIA device plugin DaemonSet',
    role: 'DevicePlugin',
    resource: 'nvidia.com/gpu',
    namespace: 'kube-system',
    podSelector: { matchLabels: { name: 'nvidia-device-plugin-ds' } },
  },
  {
    name: 'NVIDIA GPU operator dcgm-exporter',
    role: 'Exporter',
    resource: 'nvidia.com/gpu',
    podSelector: { matchLabels: { app: 'nvidia-dcgm-exporter' } },
    nodeSelector: { matchLabels: { 'nvidia.com/gpu.present': 'true' } },
  },
  {
    name: 'dcgm-exporter (Helm chart)',
    role: 'Exporter',
    resource: 'nvidia.com/gpu',
    podSelector: { matchLabels: { 'app.kubernetes.io/name': 'dcgm-exporter' } },
  },
  {
    name: 'node-problem-detector',
    role: 'ProblemDetector',
    namespace: 'kube-system',
    podSelector: { matchLabels: { app: 'node-problem-detector' } },
  },
];

/** What a role's absence means, and how bad it is. */
const ROLE: Record<AgentRole, { label: string; reason: string; severity: 'Critical' | 'Warning'; effect: string }> = {
  DevicePlugin: {
    label: 'device plugin',
    reason: 'DevicePluginMissing',
    severity: 'Critical',
    effect: 'its GPUs cannot be allocated to new pods and vanish or go stale',
  },
  Exporter: {
    label: 'metrics exporter',
    reason: 'GPUExporterMissing',
    severity: 'Warning',
    effect: 'its GPU hardware signals are blind',
  },
  ProblemDetector: {
    label: 'node-problem-detector',
    reason: 'ProblemDetectorMissing',
    severity: 'Warning',
    effect: 'its GPU problem conditions are not reported',
  },
};

const sourceName = (i: number) => `agent${i}`;

/**
 * A pod as the agents rule reads it: identity, node, phase, Ready, owner DaemonSet names; labels are what the
 * informer selected by and are not kept.
 */
export function slimAgentPod(p: KubeObject): KubeObject {
  const m = p.metadata;
  const owners = (Array.isArray(m.ownerReferences) ? m.ownerReferences : [])
    .filter((o): o is { kind: string; name: string } => isRecord(o) && o.kind === 'DaemonSet' && typeof o.name === 'string')
    .slice(0, 4)
    .map((o) => ({ kind: 'DaemonSet', name: o.name.slice(0, 253) }));
  const spec = isRecord(p.spec) ? p.spec : {};
  const st = isRecord(p.status) ? p.status : {};
  const ready = (Array.isArray(st.conditions) ? st.conditions : []).find((c) => isRecord(c) && c.type === 'Ready') as
    Record<string, unknown> | undefined;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: m.name,
      ...(m.namespace ? { namespace: m.namespace } : {}),
      ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
      ...(m.creationTimestamp ? { creationTimestamp: m.creationTimestamp } : {}),
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
      ...(owners.length ? { ownerReferences: owners } : {}),
    },
    spec: typeof spec.nodeName === 'string' ? { nodeName: spec.nodeName } : {},
    status: {
      ...(typeof st.phase === 'string' ? { phase: st.phase } : {}),
      ...(ready
        ? {
            conditions: [
              {
                type: 'Ready',
                status: ready.status,
                ...(typeof ready.lastTransitionTime === 'string' ? { lastTransitionTime: ready.lastTransitionTime } : {}),
              },
            ],
          }
        : {}),
    },
  };
}

/** One pods source per agent (`agent<i>`), optional: a namespace or selector nobody may list leaves that agent unchecked. */
export function agentSources(s: AgentsSpec): Record<string, SourceSpec> {
  if (!s.enabled) return {};
  return Object.fromEntries(
    s.daemonSets.map((a, i) => [
      sourceName(i),
      {
        apiVersion: 'v1',
        plural: 'pods',
        kind: 'Pod',
        ...(a.namespace ? { namespace: a.namespace } : {}),
        labelSelector: selectorString(a.podSelector),
        transform: slimAgentPod,
        optional: true,
      },
    ]),
  );
}

const owned = (p: KubeObject, suffix: string | undefined) =>
  !suffix ||
  (p.metadata.ownerReferences ?? []).some(
    (o) => isRecord(o) && o.kind === 'DaemonSet' && typeof o.name === 'string' && o.name.endsWith(suffix),
  );

const readyOf = (p: KubeObject) => {
  const st = isRecord(p.status) ? p.status : {};
  const c = (Array.isArray(st.conditions) ? st.conditions : []).find((x) => isRecord(x) && x.type === 'Ready') as
    Record<string, unknown> | undefined;
  return { ready: c?.status === 'True', since: typeof c?.lastTransitionTime === 'string' ? c.lastTransitionTime : undefined };
};

export interface AgentsResult {
  findings: F[];
  /** Per installed role: GPU nodes it should serve (devicePluginNodes, …) and those a Ready pod serves (devicePluginReady, …). */
  counts: Record<string, number>;
  /** Installs found nowhere (for the summary). */
  notInstalled: string[];
  /** Installs whose pods could not be listed, with why. */
  unreadable: string[];
}

/**
 * Per GPU node and installed role: a Ready pod of one of the role's installs on it, else a finding once it has
 * been missing or unready for `grace` (a rollout or a restart replaces a pod well within it). A node younger than
 * `grace` is not judged yet. `gpuNodes` may hold any nodes: a role's GPU nodes are those with its resource (or,
 * without one, any of `gpuResources`) or matching one of its installs' nodeSelectors.
 */
export function agentFindings(
  s: AgentsSpec,
  data: Readonly<Record<string, SourceView | undefined>>,
  gpuNodes: readonly KubeObject[],
  gpuResources: readonly string[],
  now: Date,
  next: NextCheck,
): AgentsResult {
  const out: AgentsResult = { findings: [], counts: {}, notInstalled: [], unreadable: [] };
  if (!s.enabled) return out;
  const graceMs = durationMs(s.grace);
  const nowMs = now.getTime();
  // role|resource → { agents, pods by node }
  const groups = new Map<
    string,
    { role: AgentRole; resource?: string; agents: AgentSpec[]; byNode: Map<string, KubeObject[]>; any: boolean }
  >();
  s.daemonSets.forEach((a, i) => {
    const key = `${a.role}|${a.resource ?? ''}`;
    let g = groups.get(key);
    if (!g)
      groups.set(key, (g = { role: a.role, ...(a.resource ? { resource: a.resource } : {}), agents: [], byNode: new Map(), any: false }));
    g.agents.push(a);
    const view = data[sourceName(i)];
    // A source failing after its first list keeps its last list (the informer's cache): judged on it. One that never
    // listed (forbidden, say) cannot tell whether the install is there: said, not guessed.
    if (view?.state !== 'synced' && view?.state !== 'failing') {
      if (view?.error) out.unreadable.push(`${a.name} (${view.error.slice(0, 200)})`);
      return;
    }
    let found = false;
    for (const p of view.objects) {
      if (!owned(p, a.ownerSuffix) || p.metadata.deletionTimestamp) continue;
      found = true;
      const node = (p.spec as { nodeName?: unknown } | undefined)?.nodeName;
      if (typeof node !== 'string' || !node) continue;
      const list = g.byNode.get(node);
      if (list) list.push(p);
      else g.byNode.set(node, [p]);
    }
    if (found) g.any = true;
    else out.notInstalled.push(a.name);
  });
  for (const g of groups.values()) {
    if (!g.any) continue;
    const role = ROLE[g.role];
    const names = g.agents.map((a) => a.name);
    const resources = g.resource ? [g.resource] : gpuResources;
    const serves = (n: KubeObject) =>
      hasCapacity(n, resources) || g.agents.some((a) => a.nodeSelector !== undefined && matchesSelector(a.nodeSelector, n.metadata.labels));
    let should = 0;
    let served = 0;
    for (const n of gpuNodes) {
      if (!serves(n)) continue;
      should++;
      const name = n.metadata.name;
      const pods = g.byNode.get(name) ?? [];
      const states = pods.map(readyOf);
      const key = `agent|${g.role}|${g.resource ?? ''}|${name}`;
      if (states.some((x) => x.ready)) {
        served++;
        absentSince(key, false, nowMs);
        continue;
      }
      // Missing or not Ready since this process first saw it so, its pod's last Ready transition or its creation,
      // or the node's creation, whichever is latest: a rollout, a restart or a new node is given the grace.
      const times = [absentSince(key, true, nowMs) ?? nowMs, Date.parse(n.metadata.creationTimestamp ?? '')];
      states.forEach((x, i) => times.push(Date.parse(x.since ?? pods[i]?.metadata.creationTimestamp ?? '')));
      const start = Math.max(...times.filter(Number.isFinite));
      const age = nowMs - start;
      if (age < graceMs) {
        next.when(start, graceMs);
        continue;
      }
      const what = pods.length
        ? `its ${role.label} pod ${pods[0]?.metadata.namespace ?? ''}/${pods[0]?.metadata.name ?? ''} is not Ready`
        : `no ${role.label} pod runs there`;
      out.findings.push({
        severity: role.severity,
        reason: role.reason,
        object: { apiVersion: 'v1', kind: 'Node', name },
        // No ticking duration (an unchanged state writes no status): how long is in `since`.
        message: `GPU node ${name}: ${what} (${names.join(' / ')}) for more than ${s.grace}: ${role.effect}`,
        since: isoSeconds(start),
      });
    }
    const k = g.role.charAt(0).toLowerCase() + g.role.slice(1);
    out.counts[`${k}Nodes`] = (out.counts[`${k}Nodes`] ?? 0) + should;
    out.counts[`${k}Ready`] = (out.counts[`${k}Ready`] ?? 0) + served;
  }
  if (out.unreadable.length) {
    out.findings.push({
      severity: 'Info',
      reason: 'AgentPodsUnreadable',
      message: `cannot list the pods of ${out.unreadable.join('; ')}: those installs are not checked (grant list and watch on pods)`,
    });
  }
  return out;
}
