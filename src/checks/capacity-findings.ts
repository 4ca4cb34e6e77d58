import type { KubeObject } from '../runtime/objects.js';
import type { TooLarge } from './capacity-demand.js';
import { active, type CapacityRow, flavorKey, type FlavorUsage, topReason, topReasons } from './capacity-rows.js';
import { atRiskNodes, atRiskNote, countedNote, lostNodes, type Supply } from './capacity-supply.js';
import { KAIWO_CONFIG_NAME, KAIWO_CONFIG_RBAC, kaiwoConfigSource, type KaiwoSettings } from './kaiwo-config.js';
import { type F, nameList, ref } from './util.js';

/** What the findings per row read. */
export interface RowInput {
  apiVersion: string;
  rows: readonly CapacityRow[];
  supply: ReadonlyMap<string, Supply>;
  usage: FlavorUsage;
  /** The ClusterQueue objects by name (for the findings' object). */
  queues: ReadonlyMap<string, KubeObject>;
  /** Flavors already judged per flavor (flavorFindings): their rows get no quota finding of their own. */
  done: ReadonlySet<string>;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** KaiwoConfig cannot be read: Kaiwo's defaults are assumed. */
export function kaiwoConfigFindings(kaiwo: KaiwoSettings): F[] {
  if (!kaiwo.unreadable) return [];
  return [
    {
      severity: 'Info',
      reason: 'KaiwoConfigUnreadable',
      object: { apiVersion: kaiwoConfigSource.apiVersion, kind: 'KaiwoConfig', name: KAIWO_CONFIG_NAME },
      message:
        `KaiwoConfig ${KAIWO_CONFIG_NAME} cannot be read (${kaiwo.unreadable}): Kaiwo's defaults are assumed (GPU resource ${kaiwo.gpuResourceKey}, ` +
        `no ${kaiwo.gpuTaintKey} taint on GPU nodes); grant get, list and watch on kaiwoconfigs.${KAIWO_CONFIG_RBAC.apiGroups?.[0] ?? ''}`,
    },
  ];
}

/**
 * Findings per active row whose flavor has reporting nodes: a promise beyond the healthy GPUs, and why its pending
 * Workloads wait (quota, lost GPUs); sets each row's `why` where the flavor findings left it empty.
 */
export function rowFindings(input: RowInput): F[] {
  const { apiVersion, rows, supply, usage, queues, done } = input;
  const findings: F[] = [];
  for (const row of rows) {
    if (!active(row)) continue;
    const fk = flavorKey(row.flavor, row.resource);
    const s = supply.get(fk);
    if (!s || s.matched === 0 || s.reporting === 0) continue;
    const object = ref(queues.get(row.cq) ?? { metadata: { name: row.cq } }, 'ClusterQueue', apiVersion);
    const where = `ClusterQueue ${row.cq}, flavor ${row.flavor}`;
    const lost = s.lost ? ` (${s.lost} lost on ${lostNodes(s)})` : '';
    if (row.promised > s.healthy && !done.has(fk)) {
      findings.push({
        severity: 'Warning',
        reason: 'QuotaExceedsHealthyCapacity',
        object,
        message:
          `${where}: promises ${row.promised} ${row.resource} (nominal ${row.nominal}${row.borrowingLimit ? ` + borrowing limit ${row.borrowingLimit}` : ''}) ` +
          `but the flavor's nodes have ${s.healthy} healthy${lost}: Workloads admitted beyond that sit with Pending pods${atRiskNote(s)}${countedNote(s)}`,
      });
      row.why ||= 'over-promised';
    } else if (s.atRisk > 0 && row.promised > s.healthy - s.atRisk && !done.has(fk)) {
      findings.push({
        severity: 'Warning',
        reason: 'QuotaReliesOnAtRiskGPUs',
        object,
        message:
          `${where}: promises ${row.promised} ${row.resource}, and the flavor's nodes have ${s.healthy} healthy, but ${s.atRisk} of them have ` +
          `Critical hardware signals (${atRiskNodes(s)}): once their device plugin drops them the quota exceeds the hardware; ` +
          `drain and service those GPUs before work lands on them`,
      });
      row.why ||= 'GPUs at risk';
    }
    if (row.pending <= 0) {
      row.why ||= 'ok';
      continue;
    }
    const finding = pendingFinding(row, s, usage, where, object);
    if (finding) findings.push(finding);
  }
  return findings;
}

/** Why a row's pending Workloads wait: quota (PendingOnQuota), lost GPUs (PendingOnLostCapacity), else only its `why`. */
function pendingFinding(row: CapacityRow, s: Supply, usage: FlavorUsage, where: string, object: F['object']): F | undefined {
  const kueue = topReasons(row);
  const need = row.minNeed;
  const inUse = usage.inUse.get(flavorKey(row.flavor, row.resource)) ?? 0;
  const physFree = s.healthy - inUse;
  const demand = `${plural(row.pendingWorkloads, 'pending Workload')} need ${row.pending} ${row.resource}${Number.isFinite(need) && row.pendingWorkloads > 1 ? ` (smallest ${need})` : ''}`;
  if (!Number.isFinite(need)) {
    row.why = 'too large';
    return undefined;
  }
  if (physFree >= need) {
    if (usage.quotaFree(row) >= need) {
      row.why = topReason(row) || 'other';
      return undefined;
    }
    row.why = 'quota';
    return {
      severity: 'Warning',
      reason: 'PendingOnQuota',
      object,
      message:
        `${where}: ${demand}; ${physFree} healthy GPUs are free but the quota is exhausted (${quotaTerms(row, usage)}): a policy limit, not hardware` +
        (kueue ? ` (Kueue: ${kueue})` : ''),
    };
  }
  if (s.lost > 0 && physFree + s.lost >= need) {
    row.why = 'lost GPUs';
    return {
      severity: 'Critical',
      reason: 'PendingOnLostCapacity',
      object,
      message:
        `${where}: ${demand}; ${Math.max(0, physFree)} healthy GPUs free (${s.healthy} healthy, ${inUse} in use) and ` +
        `${s.lost} lost on ${lostNodes(s)}: they would fit if the lost GPUs were healthy — a hardware problem, not quota${kueue ? ` (Kueue: ${kueue})` : ''}` +
        atRiskNote(s),
    };
  }
  row.why ||= 'capacity';
  return undefined;
}

/**
 * The quota a row's pending work meets, as Kueue counts it: in use of nominal, the limits, the cohort chain and what
 * it can still give (Cohort quotas and other queues' lending included), and Kueue's fair-sharing share.
 */
function quotaTerms(row: CapacityRow, usage: FlavorUsage): string {
  const fk = flavorKey(row.flavor, row.resource);
  const { tree } = usage;
  const lends = tree.lendingLimit(row.cq, fk);
  const path = tree.cohortPath(row.cq);
  const cohortQuota = tree.cohortQuota(row.cq, fk);
  const share = tree.weightedShare(row.cq);
  return (
    `${row.inUse} in use of nominal ${row.nominal}` +
    (row.borrowingLimit !== undefined ? `, borrowing limit ${row.borrowingLimit}` : '') +
    (lends !== undefined ? `, lending limit ${lends}` : '') +
    (path
      ? `; cohort ${path}${cohortQuota ? ` (${cohortQuota} of its own)` : ''}: ${usage.quotaFree(row)} more can be admitted, ` +
        `at most ${tree.potential(row.cq, fk)} with nothing else in use`
      : '') +
    (share !== undefined
      ? `; fair sharing: weighted share ${share} (0 within nominal quota; higher shares are admitted last, preempted first)`
      : '')
  );
}

/** One finding per ClusterQueue × resource with Workloads whose pods no node of its flavors can hold. */
export function tooLargeFindings(tooLarge: ReadonlyMap<string, TooLarge>, apiVersion: string): F[] {
  const findings: F[] = [];
  for (const t of tooLarge.values()) {
    const sorted = t.workloads.sort((a, b) => b.perPod - a.perPod);
    const first = sorted[0];
    if (!first) continue;
    const names = nameList(
      sorted.map((x) => `${x.w.metadata.namespace ?? ''}/${x.w.metadata.name} (${x.perPod}/pod)`),
      3,
    );
    findings.push({
      severity: 'Warning',
      reason: 'WorkloadTooLargeForAnyNode',
      object: ref(first.w, 'Workload', apiVersion),
      message:
        `${plural(sorted.length, 'Workload')} in ClusterQueue ${t.cq} ask more ${t.resource} per pod than any node of its flavors has (largest ${t.largest}): ` +
        `${names}; they can never start — split them into more pods`,
    });
  }
  return findings;
}
