import { active, type CapacityRow, flavorKey, topReason } from './capacity-rows.js';
import { known, lostNodes, type Supply, taintCell } from './capacity-supply.js';
import { SUMMARY_TABLE } from '../api/schema.js';
import type { ComponentSummary } from '../api/types.js';
import type { CheckResult, GaugeSample } from './types.js';
import { type F, verdict } from './util.js';

export const CAPACITY_METRIC = 'kaiwo_monitor_capacity_gpus';

const TABLE_COLUMNS = ['QUEUE', 'FLAVOR', 'RESOURCE', 'PROMISED', 'HEALTHY', 'LOST', 'IN-USE', 'PENDING', 'WHY'];
/** With hardware signals read (gpuHardware.signals), AT-RISK follows HEALTHY; without them it is unknown and not shown. */
const RISK_COLUMNS = ['QUEUE', 'FLAVOR', 'RESOURCE', 'PROMISED', 'HEALTHY', 'AT-RISK', 'LOST', 'IN-USE', 'PENDING', 'WHY'];

/** Summary counts, the per-queue table of at most `tableRows` rows, the gauges and the verdict; rows that are not active are left out. */
export function summarize(
  tableRows: number,
  all: readonly CapacityRow[],
  supply: ReadonlyMap<string, Supply>,
  findings: F[],
  notInPool: number,
  withRisk = false,
): CheckResult {
  const rows = all.filter(active);
  const { healthy, lost, atRisk } = flavorTotals(rows, supply);
  const sum = (f: (r: CapacityRow) => number) => rows.reduce((a, r) => a + f(r), 0);
  const pending = sum((r) => r.pending);
  const counts = {
    clusterQueues: new Set(all.map((r) => r.cq)).size,
    rows: rows.length,
    gpusPromised: sum((r) => r.promised),
    gpusHealthy: healthy,
    gpusLost: lost,
    ...(withRisk ? { gpusAtRisk: atRisk } : {}),
    gpusInUse: sum((r) => r.inUse),
    gpusPending: pending,
    pendingWorkloads: sum((r) => r.pendingWorkloads),
    nodesNotInKaiwoPool: notInPool,
  };
  const table = tableOf(rows, supply, tableRows, withRisk);
  const display = `${healthy} healthy${atRisk ? ` (${atRisk} at risk)` : ''}, ${lost} lost, ${pending} pending GPUs`;
  const result = verdict(
    findings,
    {
      reason: 'CapacityHealthy',
      message: `${counts.clusterQueues} ClusterQueues: ${counts.gpusPromised} GPUs promised, ${healthy} healthy${atRisk ? ` (${atRisk} at risk)` : ''}, ${lost} lost, ${counts.gpusInUse} in use, ${pending} pending`,
    },
    {
      summary: {
        display,
        counts,
        ...(table.length ? { table: { columns: withRisk ? RISK_COLUMNS : TABLE_COLUMNS, rows: table } } : {}),
        ...waitingOf(rows, supply),
      },
    },
  );
  return { ...result, gauges: { [CAPACITY_METRIC]: capacityGauges(rows, supply, withRisk) } };
}

/** One line on why a row's pending demand waits, from the row's verdict (why) and its supply. */
function causeOf(r: CapacityRow, s: Supply | undefined, fits: boolean): string {
  if (!fits || r.why === 'too large') return `larger than any node of flavor ${r.flavor}: it can never start`;
  switch (r.why) {
    case 'lost GPUs':
      return `waits for lost GPUs: ${s ? `${s.lost} ${r.resource} lost on ${lostNodes(s, 3)}` : 'lost'}; a hardware problem, not quota`;
    case 'quota':
      return `quota exhausted (${r.inUse} of nominal ${r.nominal} ${r.resource} in use) while healthy GPUs are free`;
    case 'no nodes':
      return `flavor ${r.flavor} matches no node`;
    case 'flavor missing':
      return `flavor ${r.flavor} does not exist`;
    case 'capacity':
      return 'waits its turn: quota and healthy GPUs are in use';
    default:
      // Kueue's reason, or one of the check's own labels (over-promised, degraded, not reported, …).
      return r.reasons.has(r.why) ? `Kueue: ${r.why}` : r.why || 'pending';
  }
}

/** The oldest pending Workload of each ClusterQueue (oldest first) with its cause, at most SUMMARY_TABLE.rows. */
export function waitingOf(
  rows: readonly CapacityRow[],
  supply: ReadonlyMap<string, Supply>,
): { waiting?: NonNullable<ComponentSummary['waiting']> } {
  const best = new Map<string, CapacityRow>();
  for (const r of rows) {
    const cur = best.get(r.cq)?.oldest;
    if (r.oldest && (!cur || r.oldest.createdMs < cur.createdMs)) best.set(r.cq, r);
  }
  const out = [...best.values()]
    .sort((a, b) => (a.oldest?.createdMs ?? 0) - (b.oldest?.createdMs ?? 0))
    .slice(0, SUMMARY_TABLE.rows)
    .flatMap((r) => {
      const o = r.oldest;
      if (!o) return [];
      const cause = causeOf(r, known(supply.get(flavorKey(r.flavor, r.resource))), o.fits).slice(0, 256);
      return [{ clusterQueue: r.cq.slice(0, 253), workload: o.workload.slice(0, 317), ...(o.since ? { since: o.since } : {}), cause }];
    });
  return out.length ? { waiting: out } : {};
}

/** Healthy, lost and at-risk GPUs over the flavor × resource pairs the rows use, each pair counted once. */
export function flavorTotals(
  rows: readonly CapacityRow[],
  supply: ReadonlyMap<string, Supply>,
): { healthy: number; lost: number; atRisk: number } {
  const seen = new Set<string>();
  let healthy = 0;
  let lost = 0;
  let atRisk = 0;
  for (const r of rows) {
    const k = flavorKey(r.flavor, r.resource);
    const s = supply.get(k);
    if (!s || seen.has(k)) continue;
    seen.add(k);
    healthy += s.healthy;
    lost += s.lost;
    atRisk += s.atRisk;
  }
  return { healthy, lost, atRisk };
}

/** The table: queues with the most pending GPUs first, their rows until `max` rows. */
export function tableOf(rows: readonly CapacityRow[], supply: ReadonlyMap<string, Supply>, max: number, withRisk = false): string[][] {
  const byQueue = new Map<string, CapacityRow[]>();
  for (const r of rows) byQueue.set(r.cq, [...(byQueue.get(r.cq) ?? []), r]);
  const queues = [...byQueue.entries()]
    .map(([cq, rs]) => ({ cq, rs, pending: rs.reduce((a, r) => a + r.pending, 0) }))
    .sort((a, b) => b.pending - a.pending || (a.cq < b.cq ? -1 : 1));
  const out: string[][] = [];
  for (const q of queues) {
    for (const r of q.rs) {
      if (out.length >= max) break;
      const s = known(supply.get(flavorKey(r.flavor, r.resource)));
      const reason = r.pending > 0 ? topReason(r) : '';
      const taints = s ? taintCell(s) : '';
      out.push([
        r.cq,
        r.flavor,
        r.resource,
        String(r.promised),
        s ? String(s.healthy) : '-',
        ...(withRisk ? [s ? String(s.atRisk) : '-'] : []),
        s ? String(s.lost) : '-',
        String(r.inUse),
        String(r.pending),
        `${r.why}${reason && reason !== r.why ? ` (${reason})` : ''}${taints ? `; ${taints}` : ''}`,
      ]);
    }
  }
  return out;
}

/**
 * kaiwo_monitor_capacity_gpus per row and kind; healthy, at_risk (with hardware signals read) and lost only where the
 * nodes report the resource.
 */
export function capacityGauges(rows: readonly CapacityRow[], supply: ReadonlyMap<string, Supply>, withRisk = false): GaugeSample[] {
  return rows.flatMap((r) => {
    const s = known(supply.get(flavorKey(r.flavor, r.resource)));
    const labels = { cluster_queue: r.cq, flavor: r.flavor, resource: r.resource };
    const values: [string, number | undefined][] = [
      ['promised', r.promised],
      ['healthy', s?.healthy],
      ['at_risk', withRisk ? s?.atRisk : undefined],
      ['lost', s?.lost],
      ['in_use', r.inUse],
      ['pending', r.pending],
    ];
    return values.filter((v): v is [string, number] => v[1] !== undefined).map(([kind, value]) => ({ labels: { ...labels, kind }, value }));
  });
}
