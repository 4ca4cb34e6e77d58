import { CONTROL_PLANE_LABELS, KAIWO_CONFIG_NAME, type KaiwoSettings } from './kaiwo-config.js';
import type { F } from './util.js';

/** What Kaiwo's view needs of a node. */
export interface PoolNode {
  name: string;
  labels: Record<string, string>;
  cordoned: boolean;
  /** GPUs installed over the compared resources, and their names. */
  gpus: number;
  resources: string;
}

const KAIWO_FORMAT = /-[+-]?\d+gpu(?:-|$)/;
const COUNT = /^[+-]?\d+$/;
/** Pool labels seen (a cluster has a handful): one parse each. */
const parsed = new Map<string, number | undefined>();

/**
 * The GPUs per node Kaiwo counts for a node of pool `pool`, read the way Kaiwo reads them
 * (pkg/workloads/common/cluster.go fillGpuStats): Kaiwo names its pools `<vendor>-<model>-<N>gpu-<cores>core-<mem>gi`
 * (internal/controller/utils/kueue.go) and takes N from the third '-'-separated part of a pool whose vendor is amd or
 * nvidia; a `cpu-only-…` pool, or one whose third part is not `<N>gpu`, counts no GPUs. Undefined for a label that
 * is not in Kaiwo's format.
 */
export function kaiwoPoolGpus(pool: string): number | undefined {
  if (parsed.has(pool)) return parsed.get(pool);
  let n: number | undefined;
  if (KAIWO_FORMAT.test(pool)) {
    const parts = pool.split('-');
    const count = (parts[2] ?? '').replace(/gpu$/, '');
    n = (parts[0] === 'amd' || parts[0] === 'nvidia') && COUNT.test(count) ? Math.max(0, Number(count)) : 0;
  }
  if (parsed.size >= 1024) parsed.clear();
  parsed.set(pool, n);
  return n;
}

function notLabelledHint(s: KaiwoSettings): string {
  return s.dynamicallyUpdateDefaultClusterQueue
    ? `Kaiwo relabels nodes on every KaiwoQueueConfig sync (dynamicallyUpdateDefaultClusterQueue: true in KaiwoConfig ${KAIWO_CONFIG_NAME}), ` +
        `so a label still missing means its sync fails or has not run: see KaiwoQueueConfig ${KAIWO_CONFIG_NAME}'s status and the operator's log`
    : 'Kaiwo v0.1 labels nodes only when it creates the default KaiwoQueueConfig, or on every sync with dynamicallyUpdateDefaultClusterQueue: true ' +
        `(false${s.from === 'KaiwoConfig' ? ` in KaiwoConfig ${KAIWO_CONFIG_NAME}` : ', the default'}): a node added later or a label removed later stays ` +
        'unlabelled (v0.2 relabels on every sync); label the node or set dynamicallyUpdateDefaultClusterQueue: true';
}

/**
 * Kaiwo's view of the GPU nodes: a GPU node outside every pool while other nodes are in one (NodeNotInKaiwoPool;
 * Kaiwo itself leaves cordoned nodes out, and control-plane nodes with excludeMasterNodesFromNodePools), and a pool
 * whose GPUs per node disagree with the node (KaiwoPoolLabelMismatch).
 */
export function kaiwoPoolFindings(
  nodes: readonly PoolNode[],
  label: string,
  settings: KaiwoSettings,
): { findings: F[]; notInPool: number } {
  const gpuNodes = nodes.filter((n) => n.gpus > 0);
  const pooled = gpuNodes.filter((n) => n.labels[label] !== undefined);
  const findings: F[] = [];
  if (!pooled.length) return { findings, notInPool: 0 };
  let notInPool = 0;
  for (const n of gpuNodes) {
    const { gpus, resources } = n;
    const pool = n.labels[label];
    const object = { apiVersion: 'v1', kind: 'Node', name: n.name };
    if (pool === undefined) {
      if (n.cordoned) continue; // Kaiwo leaves cordoned nodes out of its pools
      if (settings.excludeMasterNodesFromNodePools && CONTROL_PLANE_LABELS.some((l) => n.labels[l] !== undefined)) continue;
      notInPool++;
      // Kaiwo counts a vendor's GPUs on nodes whose pool name starts with the vendor (cluster.go fillGpuStats): with
      // none left its jobs get NoGPUs, else InsufficientGPUs once they ask more than the labelled nodes hold.
      const vendors = n.resources
        .split(', ')
        .map((r) => r.split('.')[0] ?? '')
        .filter((v) => v === 'amd' || v === 'nvidia');
      const orphaned = vendors.filter((v) => !pooled.some((p) => (p.labels[label] ?? '').startsWith(`${v}-`)));
      const effect = orphaned.length
        ? `Kaiwo refuses every ${orphaned.join('/')} job as NoGPUs (no node of that vendor is left in its pools) though Kueue could run them`
        : 'Kaiwo may mark jobs InsufficientGPUs that Kueue could run';
      findings.push({
        severity: 'Warning',
        reason: 'NodeNotInKaiwoPool',
        object,
        message:
          `GPU node ${n.name} (${gpus} ${resources}) has no ${label} label while ${pooled.length} other node(s) do: Kaiwo does not count its GPUs; ` +
          `${effect}. ${notLabelledHint(settings)}`,
      });
      continue;
    }
    const claimed = typeof pool === 'string' ? kaiwoPoolGpus(pool) : undefined;
    if (claimed === undefined || claimed === gpus) continue;
    findings.push({
      severity: 'Warning',
      reason: 'KaiwoPoolLabelMismatch',
      object,
      message:
        `node ${n.name} is in Kaiwo pool ${pool} (${claimed} GPUs per node) but has ${gpus} ${resources}: Kaiwo counts ${claimed} for it ` +
        "(it takes the count from the node's beta.amd.com/gpu.family.AI or nvidia.com/gpu.count label when it names the pool)",
    });
  }
  return { findings, notInPool };
}
