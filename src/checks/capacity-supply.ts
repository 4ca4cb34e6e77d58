import type { LabelSelector } from '../api/types.js';
import { isRecord, type KubeObject } from '../runtime/objects.js';
import { matchesSelector } from '../runtime/selector.js';
import { type KaiwoSettings, kaiwoToleration } from './kaiwo-config.js';
import {
  sameTaint,
  selects,
  type Taint,
  taintsOf,
  taintString,
  type Toleration,
  tolerates,
  toleratesAny,
  tolerationsOf,
} from './scheduling.js';
import { conditionOf, quantity } from './util.js';

/**
 * What a ResourceFlavor's nodes really offer, per GPU resource: healthy GPUs (allocatable on Ready, schedulable
 * nodes whose taints the flavor's work tolerates) and lost ones, each loss named with why.
 */
export interface Flavor {
  name: string;
  nodeLabels: [string, string][];
  nodeTaints: Taint[];
  tolerations: Toleration[];
}

/** What a node offers, read once per cached Node object. */
export interface NodeInfo {
  name: string;
  labels: Record<string, string>;
  cordoned: boolean;
  /** Why it offers nothing now (NotReady, cordoned); undefined when Ready and schedulable. */
  down?: string;
  /** Its NoSchedule and NoExecute taints, but those of the node lifecycle (judged by `down`). */
  taints: Taint[];
  cap: Record<string, number>;
  alloc: Record<string, number>;
  /** GPUs installed over all resources, and their names ("amd.com/gpu"). */
  gpus: number;
  resources: string;
}

/** GPUs of one flavor's nodes for one resource. */
export interface Supply {
  matched: number;
  reporting: number;
  healthy: number;
  lost: number;
  maxPerNode: number;
  /** Nodes that lost GPUs, and why; `taint` when an untolerated taint took them. */
  lostOn: { name: string; gpus: number; why: string; taint?: Taint }[];
  /** Tainted nodes whose GPUs count as healthy, and who tolerates the taint ("Kaiwo pods", "the flavor", "Workload ml/a"). */
  tolerated: { name: string; taint: Taint; by: string }[];
  /** Of the healthy GPUs, those with a Critical hardware signal (src/checks/gpu-signals.ts) the device plugin still advertises. */
  atRisk: number;
  atRiskOn: { name: string; gpus: number }[];
}

/** Lifecycle taints that describe a state judged by itself (NotReady, cordoned), not a flavor's toleration. */
const STATE_TAINTS = new Set(['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable', 'node.kubernetes.io/unschedulable']);

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The ResourceFlavors by name. */
export function flavorsByName(resourceFlavors: readonly KubeObject[]): Map<string, Flavor> {
  return new Map(resourceFlavors.map((rf) => [rf.metadata.name, flavorOf(rf)]));
}

export function flavorOf(rf: KubeObject): Flavor {
  const spec = isRecord(rf.spec) ? rf.spec : {};
  const labels = isRecord(spec.nodeLabels) ? Object.entries(spec.nodeLabels).map(([k, v]) => [k, str(v)] as [string, string]) : [];
  return {
    name: rf.metadata.name,
    nodeLabels: labels,
    nodeTaints: taintsOf(spec.nodeTaints),
    tolerations: tolerationsOf(spec.tolerations),
  };
}

const nodeInfos = new WeakMap<KubeObject, { key: string; info: NodeInfo }>();

/** The nodes the spec's nodeSelector selects, read for the compared resources. */
export function selectedNodes(nodes: readonly KubeObject[], selector: LabelSelector, resources: readonly string[]): NodeInfo[] {
  return nodes.filter((n) => matchesSelector(selector, n.metadata.labels)).map((n) => cachedNodeInfo(n, resources));
}

/** nodeInfo, once per cached Node object and list of resources. */
export function cachedNodeInfo(n: KubeObject, resources: readonly string[]): NodeInfo {
  const key = resources.join(',');
  const hit = nodeInfos.get(n);
  if (hit?.key === key) return hit.info;
  const info = nodeInfo(n, resources);
  nodeInfos.set(n, { key, info });
  return info;
}

function nodeInfo(n: KubeObject, resources: readonly string[]): NodeInfo {
  const st = (isRecord(n.status) ? n.status : {}) as { capacity?: unknown; allocatable?: unknown };
  const spec = (isRecord(n.spec) ? n.spec : {}) as { unschedulable?: unknown; taints?: unknown };
  const capacity = isRecord(st.capacity) ? st.capacity : {};
  const allocatable = isRecord(st.allocatable) ? st.allocatable : {};
  const cap: Record<string, number> = {};
  const alloc: Record<string, number> = {};
  for (const r of resources) {
    const c = Math.max(0, quantity(capacity[r]));
    if (c <= 0) continue;
    cap[r] = c;
    alloc[r] = Math.max(0, Math.min(c, quantity(allocatable[r])));
  }
  const ready = conditionOf(n, 'Ready');
  const cordoned = spec.unschedulable === true;
  const down = ready?.status !== 'True' ? `NotReady${ready?.reason ? `/${ready.reason}` : ''}` : cordoned ? 'cordoned' : undefined;
  const taints = taintsOf(spec.taints).filter((t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !STATE_TAINTS.has(t.key));
  const gpus = Object.values(cap).reduce((a, b) => a + b, 0);
  const labels = isRecord(n.metadata.labels) ? n.metadata.labels : {};
  return {
    name: n.metadata.name,
    labels,
    cordoned,
    ...(down ? { down } : {}),
    taints,
    cap,
    alloc,
    gpus,
    resources: Object.keys(cap).join(', '),
  };
}

/** Toleration lists of the Workloads admitted to or pending on a flavor, each with the first Workload that carries it. */
export type WorkloadTolerations = ReadonlyMap<readonly Toleration[], string>;

/**
 * Who tolerates a taint on a flavor's nodes for one resource, if anyone: the flavor (its tolerations, or a taint
 * listed in its nodeTaints, which Kueue requires its Workloads to tolerate), Kaiwo's pods (Kaiwo's own GPU taint,
 * when KaiwoConfig says Kaiwo adds it), or one of the Workloads admitted to or pending on the flavor. Memoised per
 * taint: a cluster's nodes carry few distinct taints.
 */
export function tolerator(
  f: Flavor,
  resource: string,
  kaiwo: KaiwoSettings,
  workloads: WorkloadTolerations | undefined,
): (t: Taint) => string | undefined {
  const memo = new Map<string, string | undefined>();
  const mine = kaiwoToleration(kaiwo, resource);
  return (t) => {
    const key = taintString(t);
    if (memo.has(key)) return memo.get(key);
    let by: string | undefined;
    if (toleratesAny(f.tolerations, t) || f.nodeTaints.some((n) => sameTaint(n, t))) by = 'the flavor';
    else if (mine && tolerates(mine, t)) by = 'Kaiwo pods';
    else
      for (const [list, name] of workloads ?? [])
        if (toleratesAny(list, t)) {
          by = `Workload ${name}`;
          break;
        }
    memo.set(key, by);
    return by;
  };
}

/** The GPUs of the nodes matching one flavor, per resource. */
export function supplyOf(
  f: Flavor,
  nodes: readonly NodeInfo[],
  resources: readonly string[],
  tolerators: ReadonlyMap<string, (t: Taint) => string | undefined>,
  atRisk?: ReadonlyMap<string, number>,
): Map<string, Supply> {
  const out = new Map<string, Supply>(
    resources.map((r) => [
      r,
      { matched: 0, reporting: 0, healthy: 0, lost: 0, maxPerNode: 0, lostOn: [], tolerated: [], atRisk: 0, atRiskOn: [] },
    ]),
  );
  const riskCounted = new Map<string, number>();
  for (const n of nodes) {
    if (!selects(n.labels, f.nodeLabels)) continue;
    for (const [r, s] of out) {
      s.matched++;
      const cap = n.cap[r];
      if (cap === undefined) continue;
      const alloc = n.alloc[r] ?? 0;
      s.reporting++;
      s.maxPerNode = Math.max(s.maxPerNode, cap);
      const whoTolerates = tolerators.get(r);
      let blocked: Taint | undefined;
      let counted: { taint: Taint; by: string } | undefined;
      for (const t of n.taints) {
        const by = whoTolerates?.(t);
        if (by === undefined) {
          blocked = t;
          break;
        }
        counted ??= { taint: t, by };
      }
      const why = n.down ?? (blocked ? `tainted ${taintString(blocked)}, not tolerated` : undefined);
      if (why !== undefined) {
        s.lost += cap;
        s.lostOn.push({ name: n.name, gpus: cap, why, ...(n.down === undefined && blocked ? { taint: blocked } : {}) });
        continue;
      }
      if (counted) s.tolerated.push({ name: n.name, ...counted });
      s.healthy += alloc;
      // A node's failing GPUs are at risk on its first resource with healthy GPUs (a node has one vendor's GPUs),
      // but those its device plugin already withdrew (allocatable < capacity: lost, mostly for the same fault) are
      // not at risk any more: they are taken to be the failing ones first, so no GPU is both lost and at risk.
      const failing = Math.max(0, (atRisk?.get(n.name) ?? 0) - (riskCounted.get(n.name) ?? 0));
      const withdrawn = Math.min(failing, cap - alloc);
      const risky = Math.min(alloc, failing - withdrawn);
      if (risky > 0) {
        s.atRisk += risky;
        s.atRiskOn.push({ name: n.name, gpus: risky });
      }
      if (failing > 0) riskCounted.set(n.name, (riskCounted.get(n.name) ?? 0) + withdrawn + risky);
      if (alloc < cap) {
        s.lost += cap - alloc;
        s.lostOn.push({ name: n.name, gpus: cap - alloc, why: `${cap - alloc} of ${cap} unhealthy` });
      }
    }
  }
  return out;
}

/**
 * Whether any node carries a taint that Kaiwo's pods may not tolerate (for some compared resource): only then are
 * the Workloads' tolerations worth reading (none: no taints, or only Kaiwo's own with addTaintsToGpuNodes).
 */
export function tolerationsMatter(nodes: readonly NodeInfo[], resources: readonly string[], kaiwo: KaiwoSettings): boolean {
  const kaiwoTolerations = resources.map((r) => kaiwoToleration(kaiwo, r));
  return nodes.some((n) => n.taints.some((t) => kaiwoTolerations.some((k) => !k || !tolerates(k, t))));
}

/**
 * The supply of every flavor the rows reference, keyed "flavor|resource"; a flavor that does not exist has none.
 * `workloads` (resource → flavor → toleration lists) says which Workloads' tolerations count; undefined: none.
 */
export function flavorSupply(
  rows: readonly { flavor: string }[],
  flavors: ReadonlyMap<string, Flavor>,
  nodes: readonly NodeInfo[],
  resources: readonly string[],
  kaiwo: KaiwoSettings,
  workloads: ReadonlyMap<string, ReadonlyMap<string, WorkloadTolerations>> | undefined,
  atRisk?: ReadonlyMap<string, number>,
): Map<string, Supply> {
  const supply = new Map<string, Supply>();
  for (const name of new Set(rows.map((r) => r.flavor))) {
    const f = flavors.get(name);
    if (!f) continue;
    const tolerators = new Map(resources.map((r) => [r, tolerator(f, r, kaiwo, workloads?.get(r)?.get(name))]));
    for (const [r, s] of supplyOf(f, nodes, resources, tolerators, atRisk)) supply.set(`${name}|${r}`, s);
  }
  return supply;
}

/** A supply the nodes report (not a missing flavor, nor nodes without the extended resource). */
export const known = (s: Supply | undefined): Supply | undefined => (s && s.reporting > 0 ? s : undefined);

/** `list` most GPUs first (then by name), at most `max` as "name (label)", the rest counted ("and 3 more"). */
function rankedNodes<T extends { name: string; gpus: number }>(list: readonly T[], label: (x: T) => string, max: number): string {
  const sorted = [...list].sort((a, b) => b.gpus - a.gpus || (a.name < b.name ? -1 : 1));
  const shown = sorted
    .slice(0, max)
    .map((x) => `${x.name} (${label(x)})`)
    .join(', ');
  return sorted.length > max ? `${shown} and ${sorted.length - max} more` : shown;
}

/** "mi300x-1 (NotReady), mi300x-2 (2 of 8 unhealthy) and 3 more", biggest losses first. */
export const lostNodes = (s: Supply, max = 4): string => rankedNodes(s.lostOn, (x) => x.why, max);

/** "gpu-3 (2), gpu-7 (1)": the nodes with GPUs at risk, most first. */
export const atRiskNodes = (s: Supply, max = 4): string => rankedNodes(s.atRiskOn, (x) => String(x.gpus), max);

/** "; 2 of them at risk (Critical hardware signals on gpu-3 (2))" where GPUs counted healthy are failing. */
export function atRiskNote(s: Supply): string {
  return s.atRisk ? `; ${s.atRisk} of the healthy at risk (Critical hardware signals on ${atRiskNodes(s)})` : '';
}

const tops = new WeakMap<Supply, { taint: Taint; by: string; nodes: string[] } | undefined>();

/** The most common tolerated taint and who tolerates it, with its nodes (once per supply: many messages quote it). */
function topTolerated(s: Supply): { taint: Taint; by: string; nodes: string[] } | undefined {
  if (tops.has(s)) return tops.get(s);
  const groups = new Map<string, { taint: Taint; by: string; nodes: string[] }>();
  for (const t of s.tolerated) {
    const k = `${taintString(t.taint)}\0${t.by}`;
    const g = groups.get(k) ?? { taint: t.taint, by: t.by, nodes: [] };
    g.nodes.push(t.name);
    groups.set(k, g);
  }
  let best: { taint: Taint; by: string; nodes: string[] } | undefined;
  for (const g of groups.values()) if (!best || g.nodes.length > best.nodes.length) best = g;
  if (best) best.nodes.sort();
  tops.set(s, best);
  return best;
}

/** Why tainted nodes count as healthy, for messages: "; counted though tainted: gpu-0, gpu-1 (… tolerated by Kaiwo pods)". */
export function countedNote(s: Supply, max = 3): string {
  const top = topTolerated(s);
  if (!top) return '';
  const names = top.nodes;
  const shown = names.length > max ? `${names.slice(0, max).join(', ')} and ${names.length - max} more` : names.join(', ');
  const other = s.tolerated.length - top.nodes.length;
  return `; counted though tainted: ${shown} (${taintString(top.taint)}, tolerated by ${top.by})${other > 0 ? ` and ${other} other node(s)` : ''}`;
}

/**
 * What taints do to a flavor's GPUs, for the table's WHY cell: the node an untolerated taint took most GPUs from
 * ("mi300x-1 tainted maintenance", "+2" more nodes), else the taint counted as tolerated ("kaiwo.silogen.ai/gpu
 * tolerated by Kaiwo pods").
 */
export function taintCell(s: Supply): string {
  const byTaint = s.lostOn.filter((x) => x.taint).sort((a, b) => b.gpus - a.gpus || (a.name < b.name ? -1 : 1));
  const first = byTaint[0];
  if (first?.taint) return `${first.name} tainted ${first.taint.key}${byTaint.length > 1 ? ` +${byTaint.length - 1}` : ''}`;
  const top = topTolerated(s);
  return top ? `${top.taint.key} tolerated by ${top.by}` : '';
}
