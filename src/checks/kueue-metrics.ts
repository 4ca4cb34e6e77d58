import type { Sample } from '../sources/promtext.js';
import { seriesIncreases, windowOf } from './controller-metrics.js';
import type { ScrapeView } from './types.js';

/** Kueue's own metrics the Kueue check reads where it scrapes Kueue (besides controller-runtime's). */
export const KUEUE_METRICS = [
  'kueue_admission_attempts_total',
  'kueue_pending_workloads',
  'kueue_evicted_workloads_total',
  'kueue_cluster_queue_status',
  'kueue_cluster_queue_resource_pending',
];

/**
 * Every Kueue metric has `replica_role` (leader, follower, standalone) in newer releases and none in older ones; a
 * follower's gauges are stale copies (cleared on election), so only the leader's or a standalone's count.
 */
const counted = (s: Sample): boolean => s.labels.replica_role === undefined || s.labels.replica_role !== 'follower';

/** Per ClusterQueue, from the latest scrape: Kueue's pending Workloads by status and pending requests by resource. */
export interface KueueQueueMetrics {
  active: number;
  inadmissible: number;
  /** resource → quantity requested by pending Workloads (kueue_cluster_queue_resource_pending, Kueue ≥ 0.17 with resource metrics). */
  pendingResources: Map<string, number>;
  /** Kueue's own status of the queue (kueue_cluster_queue_status: pending, active, terminating). */
  status?: string;
}

export interface KueueMetrics {
  queues: Map<string, KueueQueueMetrics>;
  /** Evictions by reason (kueue_evicted_workloads_total increases) over `spanMs`, the part of the window the history covers. */
  evictions: Map<string, number>;
  evictionTotal: number;
  spanMs: number;
}

/** Kueue's metrics from the scrape history: the latest gauges and the evictions counted over `windowMs` (or less). */
export function kueueMetrics(view: ScrapeView, windowMs: number): KueueMetrics {
  const queues = new Map<string, KueueQueueMetrics>();
  const queue = (name: string): KueueQueueMetrics => {
    let q = queues.get(name);
    if (!q) {
      q = { active: 0, inadmissible: 0, pendingResources: new Map() };
      queues.set(name, q);
    }
    return q;
  };
  for (const s of view.history.at(-1)?.samples ?? []) {
    const cq = s.labels.cluster_queue;
    if (!cq || !counted(s) || !Number.isFinite(s.value) || s.value < 0) continue;
    if (s.name === 'kueue_pending_workloads') {
      if (s.labels.status === 'inadmissible') queue(cq).inadmissible += s.value;
      else if (s.labels.status === 'active') queue(cq).active += s.value;
    } else if (s.name === 'kueue_cluster_queue_resource_pending' && s.labels.resource) {
      const q = queue(cq);
      q.pendingResources.set(s.labels.resource, (q.pendingResources.get(s.labels.resource) ?? 0) + s.value);
    } else if (s.name === 'kueue_cluster_queue_status' && s.value === 1 && s.labels.status) {
      queue(cq).status = s.labels.status;
    }
  }
  const entries = windowOf(view.history, windowMs);
  const evictions = new Map<string, number>();
  let evictionTotal = 0;
  for (const { labels, increase } of seriesIncreases(entries, 'kueue_evicted_workloads_total').values()) {
    if (labels.replica_role === 'follower' || increase <= 0) continue;
    const reason = labels.reason?.length ? labels.reason : 'no reason';
    evictions.set(reason, (evictions.get(reason) ?? 0) + increase);
    evictionTotal += increase;
  }
  const spanMs = entries.length >= 2 ? (entries.at(-1)?.at ?? 0) - (entries[0]?.at ?? 0) : 0;
  return { queues, evictions, evictionTotal, spanMs };
}

/** "2 inadmissible (parked until the cluster changes), requesting 16 amd.com/gpu" for a queue, '' when Kueue says nothing. */
export function queueMetricsNote(q: KueueQueueMetrics | undefined): string {
  if (!q) return '';
  const parts: string[] = [];
  if (q.inadmissible > 0) parts.push(`${q.inadmissible} inadmissible (parked until the cluster changes)`);
  const asks = [...q.pendingResources]
    .filter(([, n]) => n > 0)
    .slice(0, 4)
    .map(([r, n]) => `${n} ${r.slice(0, 64)}`);
  if (asks.length) parts.push(`requesting ${asks.join(', ')}`);
  return parts.length ? `; Kueue's metrics: ${parts.join(', ')}` : '';
}
