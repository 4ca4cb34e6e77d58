import type { ObjectRef } from '../api/types.js';
import type { KubeObject } from '../runtime/objects.js';
import type { DegradedFlavors, OnDegraded, Placed } from './capacity-demand.js';
import { active, type CapacityRow, flavorKey } from './capacity-rows.js';
import { countedNote, type Flavor, lostNodes, type Supply } from './capacity-supply.js';
import { runState, type RunState } from './capacity-workloads.js';
import { type UnplacedPod, unplacedPod } from './pending-pods.js';
import { selects } from './scheduling.js';
import type { SourceView } from './types.js';
import { type F, nameList } from './util.js';

/** What the findings per flavor × resource read. */
export interface FlavorInput {
  apiVersion: string;
  rows: readonly CapacityRow[];
  flavors: ReadonlyMap<string, Flavor>;
  supply: ReadonlyMap<string, Supply>;
  /** "flavor|resource" → GPUs in use over all queues. */
  inUse: ReadonlyMap<string, number>;
  degraded: DegradedFlavors;
  placed: Placed;
  /** The unbound pending pods' source: read when synced or failing; otherwise Kueue's PodsReady has to do. */
  pendingPods: SourceView | undefined;
}

/** One flavor × resource with the active rows on it. */
interface OnFlavor {
  flavor: string;
  resource: string;
  f: Flavor;
  s: Supply;
  rows: CapacityRow[];
  queues: string;
  inUse: number;
  object: ObjectRef;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
/** GPUs of `resource` one unplaced pod requests. */
const podGpus = (p: UnplacedPod, resource: string): number => {
  const g = p.requests[resource];
  return typeof g === 'number' && g > 0 ? g : 0;
};

/**
 * Findings per flavor × resource (queues share the flavor's nodes): a flavor without nodes or without reported GPUs,
 * and admitted work beyond its healthy GPUs (over quota, on lost GPUs, or running on degraded nodes). Sets the
 * rows' `why`; `done` holds the flavors judged here, which the per-row quota finding then leaves alone.
 */
export function flavorFindings(input: FlavorInput): { findings: F[]; done: Set<string> } {
  const { rows, flavors, supply, inUse, degraded, placed, pendingPods, apiVersion } = input;
  const findings: F[] = [];
  const done = new Set<string>();
  // The pods the scheduler could not place, read only when a flavor is degraded; undefined when they cannot be read.
  const podsRead = pendingPods?.state === 'synced' || pendingPods?.state === 'failing';
  const unplaced = podsRead ? (degraded.size ? unplacedPods(pendingPods.objects) : []) : undefined;
  let runUnknown = false;
  for (const [fk, all] of rowsByFlavor(rows)) {
    const frows = all.filter(active);
    if (!frows.length) continue;
    const [flavor = '', resource = ''] = fk.split('|');
    const f = flavors.get(flavor);
    const s = supply.get(fk);
    if (!f || !s) {
      for (const r of frows) r.why = 'flavor missing';
      continue;
    }
    const x: OnFlavor = {
      flavor,
      resource,
      f,
      s,
      rows: frows,
      queues: nameList(
        frows.map((r) => r.cq),
        3,
      ),
      inUse: inUse.get(fk) ?? 0,
      object: { apiVersion, kind: 'ResourceFlavor', name: flavor },
    };
    if (s.matched === 0) {
      const finding = noNodes(x);
      if (finding) findings.push(finding);
      continue;
    }
    if (s.reporting === 0) {
      findings.push(notReported(x));
      continue;
    }
    if (x.inUse - s.healthy <= 0) continue;
    done.add(fk);
    if (s.lost <= 0) {
      findings.push(overQuota(x));
      continue;
    }
    const on = degraded.get(resource)?.get(flavor) ?? [];
    if (unplaced) {
      const narrower = narrowerFlavors(supply, flavors, f, resource);
      findings.push(byPods(x, on, blockedPods(unplaced, placed.degradedNamespaces.get(fk), f, resource, narrower), placed.tracksPodsReady));
      continue;
    }
    const judged = byPodsReady(x, on, placed.tracksPodsReady);
    findings.push(judged.finding);
    if (judged.unknown) runUnknown = true;
  }
  if (runUnknown) {
    findings.push({
      severity: 'Info',
      reason: 'PendingPodsUnreadable',
      message:
        `pending Pods cannot be read (${pendingPods?.error?.slice(0, 200) ?? 'not listed'}) and Kueue writes no PodsReady condition on Workloads ` +
        '(waitForPodsReady is off: the default before Kueue v0.19), so admitted Workloads on a flavor that lost GPUs cannot be told running from ' +
        "not started and count as waiting (PendingOnLostCapacity); grant list and watch on pods (the monitor's ClusterRole does), or turn waitForPodsReady on",
    });
  }
  return { findings, done };
}

/** "flavor|resource" → its rows, in row order. */
export function rowsByFlavor(rows: readonly CapacityRow[]): Map<string, CapacityRow[]> {
  const out = new Map<string, CapacityRow[]>();
  for (const row of rows) {
    const fk = flavorKey(row.flavor, row.resource);
    out.set(fk, [...(out.get(fk) ?? []), row]);
  }
  return out;
}

/** The pods of `objects` the scheduler tried and could not place that request an extended resource. */
export function unplacedPods(objects: readonly KubeObject[]): UnplacedPod[] {
  const out: UnplacedPod[] = [];
  for (const o of objects) {
    const p = unplacedPod(o);
    if (p) out.push(p);
  }
  return out;
}

/** The nodeLabels of the other flavors of `resource` that include f's and more (a pod selecting those was admitted to them, not to f). */
export function narrowerFlavors(
  supply: ReadonlyMap<string, Supply>,
  flavors: ReadonlyMap<string, Flavor>,
  f: Flavor,
  resource: string,
): (readonly [string, string])[][] {
  const out: (readonly [string, string])[][] = [];
  for (const k of supply.keys()) {
    const [name = '', r = ''] = k.split('|');
    const g = name === f.name || r !== resource ? undefined : flavors.get(name);
    if (g && g.nodeLabels.length > f.nodeLabels.length && selects(Object.fromEntries(g.nodeLabels), f.nodeLabels)) out.push(g.nodeLabels);
  }
  return out;
}

/**
 * The unplaced pods of the work admitted to flavor f: in a namespace with such a Workload, requesting the resource,
 * with f's nodeLabels in their nodeSelector and not those of a narrower flavor.
 */
export function blockedPods(
  unplaced: readonly UnplacedPod[],
  namespaces: ReadonlySet<string> | undefined,
  f: Flavor,
  resource: string,
  narrower: readonly (readonly (readonly [string, string])[])[],
): UnplacedPod[] {
  return namespaces
    ? unplaced.filter(
        (p) =>
          namespaces.has(p.namespace) &&
          podGpus(p, resource) > 0 &&
          selects(p.nodeSelector, f.nodeLabels) &&
          !narrower.some((labels) => selects(p.nodeSelector, labels)),
      )
    : [];
}

function noNodes(x: OnFlavor): F | undefined {
  for (const r of x.rows) r.why = 'no nodes';
  const promised = x.rows.reduce((a, r) => a + r.promised, 0);
  if (promised <= 0 && x.inUse <= 0) return undefined;
  const labels = x.f.nodeLabels.map(([k, v]) => `${k}=${v}`).join(',') || 'none';
  return {
    severity: x.inUse > 0 ? 'Critical' : 'Warning',
    reason: 'FlavorHasNoNodes',
    object: x.object,
    message:
      `ResourceFlavor ${x.flavor} (nodeLabels ${labels}) matches no node, but ClusterQueue ${x.queues} promise ${promised} ${x.resource} on it` +
      (x.inUse > 0 ? `; ${x.inUse} reserved by admitted Workloads that cannot start` : ': Workloads admitted to it will never start'),
  };
}

function notReported(x: OnFlavor): F {
  for (const r of x.rows) r.why = 'not reported';
  return {
    severity: 'Info',
    reason: 'SupplyNotReported',
    object: x.object,
    message: `no node of ResourceFlavor ${x.flavor} reports ${x.resource} capacity (a DRA driver instead of a device plugin?): its quota is not compared with hardware`,
  };
}

/** Admitted work beyond the healthy GPUs and none lost: the quota is larger than the hardware. */
function overQuota(x: OnFlavor): F {
  for (const r of x.rows) if (r.inUse > 0) r.why = 'over quota';
  return {
    severity: 'Critical',
    reason: 'QuotaExceedsHealthyCapacity',
    object: x.object,
    message:
      `ResourceFlavor ${x.flavor}: ${x.inUse} ${x.resource} reserved by admitted Workloads (ClusterQueue ${x.queues}) but its nodes have only ` +
      `${x.s.healthy} and none lost: quota larger than the hardware, ${x.inUse - x.s.healthy} GPUs of admitted work sit with Pending pods${countedNote(x.s)}`,
  };
}

const workloads = (xs: readonly OnDegraded[]) =>
  nameList(
    xs.map((x) => `${x.f.namespace}/${x.w.metadata.name}`),
    3,
  );
const reserved = (x: OnFlavor) =>
  `ResourceFlavor ${x.flavor}: ${x.inUse} ${x.resource} reserved by admitted Workloads (ClusterQueue ${x.queues}) but only ${x.s.healthy} healthy`;

/** The lost GPUs are held by work that started before they were lost. */
function runningOnDegraded(x: OnFlavor, evidence: string, names: string, note = ''): F {
  for (const r of x.rows) if (r.inUse > 0) r.why = 'degraded';
  return {
    severity: 'Warning',
    reason: 'RunningOnDegradedCapacity',
    object: x.object,
    message:
      `${reserved(x)}: its admitted Workloads run (${evidence})${names ? `: ${names}` : ''}${note}, while ${x.s.lost} GPUs are lost on ${lostNodes(x.s)}; ` +
      `nothing waits for them now, but the quota this work frees when it ends admits work that cannot start until the nodes are serviced${countedNote(x.s)}`,
  };
}

/** Lost GPUs under admitted work, judged by the scheduler's word: pods of that work it tried and could not place. */
function byPods(x: OnFlavor, on: readonly OnDegraded[], blocked: readonly UnplacedPod[], tracksPodsReady: boolean): F {
  if (!blocked.length) {
    // PodsReady, where Kueue writes it, says they run; not True yet (pods starting, pulling images) is no wait for GPUs.
    const notReady = tracksPodsReady ? on.filter((o) => o.f.podsReady !== 'True') : [];
    const evidence = tracksPodsReady && on.length && !notReady.length ? 'PodsReady' : 'none has a pod the scheduler cannot place';
    return runningOnDegraded(x, evidence, workloads(on), notReady.length ? ` (PodsReady not True yet: ${workloads(notReady)})` : '');
  }
  for (const r of x.rows) if (r.inUse > 0) r.why = 'lost GPUs';
  const keyed = blocked.map((p) => ({ p, key: `${p.namespace}/${p.name}` })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const gpus = keyed.reduce((a, k) => a + podGpus(k.p, x.resource), 0);
  const first = keyed[0];
  const said = first?.p.message ? `; the scheduler on ${first.key}: "${first.p.message}"` : '';
  return {
    severity: 'Critical',
    reason: 'PendingOnLostCapacity',
    object: x.object,
    message:
      `${reserved(x)}; ${Math.min(x.inUse - x.s.healthy, gpus)} wait for the ${x.s.lost} GPUs lost on ${lostNodes(x.s)}: a hardware problem, not quota; ` +
      `the scheduler cannot place ${plural(keyed.length, 'pod')} of admitted work (${gpus} ${x.resource}, Unschedulable): ${nameList(
        keyed.map((k) => k.key),
        3,
      )}${said}` +
      countedNote(x.s),
  };
}

/** Lost GPUs under admitted work, judged without the pods by Kueue's PodsReady (waitForPodsReady only); `unknown`: some cannot be told. */
function byPodsReady(x: OnFlavor, on: readonly OnDegraded[], tracksPodsReady: boolean): { finding: F; unknown: boolean } {
  const inState = (state: RunState) => on.filter((o) => runState(o.f, tracksPodsReady) === state);
  const sum = (state: RunState) => inState(state).reduce((a, o) => a + o.gpus, 0);
  const [running, waiting, unknown] = [sum('running'), sum('waiting'), sum('unknown')];
  if (waiting === 0 && unknown === 0 && running >= x.inUse)
    return { finding: runningOnDegraded(x, 'PodsReady', workloads(inState('running'))), unknown: false };
  for (const r of x.rows) if (r.inUse > 0) r.why = 'lost GPUs';
  const notRunning = waiting > 0 ? `; not running (PodsReady not True): ${workloads(inState('waiting'))}` : '';
  return {
    unknown: unknown > 0,
    finding: {
      severity: 'Critical',
      reason: 'PendingOnLostCapacity',
      object: x.object,
      message:
        `${reserved(x)}; ${Math.min(x.inUse - x.s.healthy, waiting > 0 ? waiting : x.s.lost)} wait for the ${x.s.lost} GPUs lost on ${lostNodes(x.s)}: ` +
        `a hardware problem, not quota${notRunning}${countedNote(x.s)}`,
    },
  };
}
