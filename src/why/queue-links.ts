import { isRecord } from '../runtime/objects.js';
import { alignColumns, conditionOf } from '../checks/util.js';
import { ordinal } from './position.js';
import { cond, cut, kaiwoOwned, type Step, step, str } from './link.js';
import type { Position, WhySnapshot } from './types.js';

/** The links after the Workload: its LocalQueue, its ClusterQueue, its place in the queue, quota against hardware. */

export function localQueueFix(s: WhySnapshot): string {
  const [ns = '', name = ''] = (s.localQueueName ?? '/').split('/');
  return s.kaiwo
    ? `Kaiwo creates LocalQueue ${name} in the namespaces listed for ClusterQueue ${name} in KaiwoQueueConfig kaiwo: add ${ns} there (kubectl edit kaiwoqueueconfig kaiwo)`
    : `create it: kubectl create -f - <<< '{"apiVersion":"kueue.x-k8s.io/${s.kueue.version ?? 'v1beta2'}","kind":"LocalQueue","metadata":{"namespace":"${ns}","name":"${name}"},"spec":{"clusterQueue":"<ClusterQueue>"}}', or label the job with an existing LocalQueue`;
}

export function localQueueStep(s: WhySnapshot): Step | undefined {
  if (!s.localQueueName) return undefined;
  const lq = s.localQueue;
  if (lq === undefined) return step('LocalQueue', 'unknown', `${s.localQueueName}: not read`);
  if (lq === null)
    return step(
      'LocalQueue',
      'hold',
      `${s.localQueueName}: does not exist`,
      [],
      `LocalQueue ${s.localQueueName} does not exist`,
      localQueueFix(s),
    );
  const active = conditionOf(lq, 'Active');
  const target = str((lq.spec as { clusterQueue?: unknown } | undefined)?.clusterQueue);
  if (active?.status === 'False' && (active.reason === 'ClusterQueueIsInactive' || active.reason === 'ClusterQueueDoesNotExist')) {
    // The LocalQueue only reflects its ClusterQueue: the next link says why.
    return step('LocalQueue', 'wait', `${s.localQueueName} → ClusterQueue ${target}: ${cond(active)}`);
  }
  if (active?.status === 'False') {
    const stopped = active.reason === 'Stopped';
    return step(
      'LocalQueue',
      'hold',
      `${s.localQueueName} → ClusterQueue ${target}: ${cond(active)}`,
      [],
      `LocalQueue ${s.localQueueName} is not active (${str(active.reason)})`,
      stopped
        ? `kubectl patch localqueue -n ${lq.metadata.namespace ?? ''} ${lq.metadata.name} --type merge -p '{"spec":{"stopPolicy":"None"}}'`
        : undefined,
    );
  }
  return step('LocalQueue', 'ok', `${s.localQueueName} → ClusterQueue ${target}${active ? ': active' : ''}`);
}

export function clusterQueueStep(s: WhySnapshot): Step | undefined {
  const name = s.clusterQueueName;
  if (!name) return undefined;
  const cq = s.clusterQueue;
  if (cq === undefined) return step('ClusterQueue', 'unknown', `${name}: not read`);
  if (cq === null) {
    return step(
      'ClusterQueue',
      'hold',
      `${name}: does not exist`,
      [],
      `ClusterQueue ${name} does not exist`,
      s.kaiwo
        ? `add it to KaiwoQueueConfig kaiwo (Kaiwo deletes ClusterQueues its config does not list)`
        : `create ClusterQueue ${name}, or point the LocalQueue at one that exists`,
    );
  }
  const spec = isRecord(cq.spec) ? cq.spec : {};
  const strategy = str(spec.queueingStrategy) || 'BestEffortFIFO';
  const cohort = str(spec.cohortName) || str(spec.cohort);
  const active = conditionOf(cq, 'Active');
  const summary = `${name} (${strategy}${cohort ? `, cohort ${cohort}` : ''})`;
  if (active?.status === 'False') {
    const reason = str(active.reason);
    const stop = str(spec.stopPolicy);
    const action =
      reason === 'Stopped'
        ? `kubectl patch clusterqueue ${name} --type merge -p '{"spec":{"stopPolicy":"None"}}'${kaiwoOwned(s) ? ' (and remove stopPolicy from KaiwoQueueConfig kaiwo, or Kaiwo sets it again)' : ''}`
        : reason === 'FlavorNotFound'
          ? `create the ResourceFlavor(s) it names${kaiwoOwned(s) ? ' (in KaiwoQueueConfig kaiwo: Kaiwo deletes flavors its config does not list)' : ''}`
          : reason === 'AdmissionCheckNotFound' || reason === 'AdmissionCheckInactive'
            ? 'create the AdmissionCheck it names, or start the controller that makes it Active'
            : undefined;
    const held = reason === 'Stopped' ? ` is held (stopPolicy ${stop || 'Hold'})` : ` is inactive (${reason})`;
    return step('ClusterQueue', 'hold', `${summary}: ${cond(active)}`, [], `ClusterQueue ${name}${held}: it admits nothing`, action);
  }
  return step('ClusterQueue', 'ok', `${summary}${active?.status === 'True' ? ': active' : ''}`);
}

export function positionStep(p: Position | undefined): Step | undefined {
  if (!p) return undefined;
  const from =
    p.source === 'visibility' ? "from Kueue's visibility API" : `computed the way Kueue orders ${p.strategy}: priority, then creation time`;
  const ahead = Object.entries(p.aheadGpus ?? {})
    .filter(([, n]) => n > 0)
    .map(([r, n]) => `${n} ${r}`)
    .join(', ');
  if (p.index === undefined)
    return step('Position', 'unknown', `not among the ${p.pending} pending Workloads read (${from})${p.note ? `: ${p.note}` : ''}`);
  const summary = `${ordinal(p.index)} of ${p.pending} pending${p.index > 0 ? `, ${p.index} ahead${ahead ? ` asking ${ahead}` : ''}` : ''} (${from})`;
  return step('Position', p.index === 0 ? 'ok' : 'wait', summary, p.note ? [p.note] : []);
}

/** Quota against hardware for the job's ClusterQueue: the capacity check's findings that concern it. */
export function capacityStep(s: WhySnapshot): Step | undefined {
  const c = s.capacity;
  if (!c) return undefined;
  const w = s.workloads[0];
  const details = c.rows.length ? alignColumns([c.columns, ...c.rows]) : [];
  const byReason = (reason: string) => c.findings.find((f) => f.reason === reason);
  const tooLarge = byReason('WorkloadTooLargeForAnyNode');
  if (tooLarge && w && tooLarge.message.includes(`${w.metadata.namespace ?? ''}/${w.metadata.name}`)) {
    return step(
      'Capacity',
      'hold',
      'larger than any node',
      details,
      `it asks more GPUs per pod than any node of its flavors has: ${cut(tooLarge.message, 400)}`,
      'split it into more pods with fewer GPUs each, or add nodes with more GPUs',
    );
  }
  const noNodes = byReason('FlavorHasNoNodes');
  if (noNodes)
    return step(
      'Capacity',
      'hold',
      'a flavor without nodes',
      details,
      cut(noNodes.message, 400),
      "fix the flavor's nodeLabels (or label the nodes) so it matches the GPU nodes",
    );
  const lost = byReason('PendingOnLostCapacity');
  if (lost) {
    return step(
      'Capacity',
      'hold',
      'short of hardware: GPUs lost',
      details,
      `GPUs are lost: ${cut(lost.message, 500)}`,
      'repair the nodes named (kubectl describe node …; the device plugin and the GPU); the job starts when their GPUs are back',
    );
  }
  const quota = byReason('PendingOnQuota');
  if (quota) {
    return step(
      'Capacity',
      'hold',
      'short of quota (policy), not hardware',
      details,
      `the quota is exhausted while GPUs are free: ${cut(quota.message, 500)}`,
      `raise nominalQuota (or borrowingLimit) of ClusterQueue ${s.clusterQueueName ?? ''}${kaiwoOwned(s) ? ' in KaiwoQueueConfig kaiwo' : ''}, or wait for running work to finish`,
    );
  }
  const other = c.findings.filter((f) => f.severity !== 'Info').map((f) => f.message);
  return step('Capacity', 'ok', c.rows.length ? 'quota and healthy GPUs are both in use: it waits its turn' : 'no GPU rows for its queue', [
    ...details,
    ...other,
  ]);
}
