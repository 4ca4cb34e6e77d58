import { conditionOf } from '../checks/util.js';
import { podRequests } from '../checks/workload-projection.js';
import type { KubeObject } from '../runtime/objects.js';
import { cut, str } from './link.js';
import type { Link, WhySnapshot } from './types.js';

/** The scheduler's "N node(s) had untolerated taint {key: value}" (k8s.io/kubernetes TaintToleration plugin). */
const TAINT = /untolerated taint\(?s?\)?\s*\{([^}]{0,300})\}/g;
/** Taints every cluster has where no GPU job goes (control-plane nodes), not a cause. */
const ROUTINE_TAINT = /^(node-role\.kubernetes\.io\/(control-plane|master))\b/;

/** The taints the scheduler names in its message, without the control-plane's. */
export function namedTaints(message: string): string[] {
  return [...message.matchAll(TAINT)].map((m) => (m[1] ?? '').trim()).filter((t) => t && !ROUTINE_TAINT.test(t));
}

/** The latest message of a scheduling Event (FailedScheduling) of the pod, if any was read. */
function lastSchedulingEvent(events: KubeObject[]): string {
  const msgs = events
    .filter((e) => str((e as { reason?: unknown }).reason) === 'FailedScheduling')
    .map((e) => ({
      at: Date.parse(
        str((e as { lastTimestamp?: unknown }).lastTimestamp) ||
          str((e as { eventTime?: unknown }).eventTime) ||
          str(e.metadata.creationTimestamp),
      ),
      m: str((e as { message?: unknown }).message),
    }))
    .sort((a, b) => (b.at || 0) - (a.at || 0));
  return msgs[0]?.m ?? '';
}

/**
 * Admitted work whose pods do not start: the scheduler's word on each unplaced pod (PodScheduled=False, its
 * latest FailedScheduling Event), with the cause named when it is a taint or a pod larger than any node.
 */
export function podsLink(s: WhySnapshot): { link: Link; cause?: string; action?: string } {
  const pods = s.pods;
  if (!pods) return { link: { step: 'Pods', state: 'unknown', summary: 'not read', details: [] } };
  if (!pods.length) return { link: { step: 'Pods', state: 'ok', summary: 'all placed (none waits for a node)', details: [] } };
  const details: string[] = [];
  let first: { name: string; message: string; gpus: Record<string, number> } | undefined;
  for (const { pod, events } of pods.slice(0, 5)) {
    const sched = conditionOf(pod, 'PodScheduled');
    const message = cut(lastSchedulingEvent(events) || str(sched?.message) || 'not scheduled yet', 400);
    details.push(
      `pod ${pod.metadata.name}: ${sched ? `PodScheduled=${str(sched.status)}${sched.reason ? ` (${str(sched.reason)})` : ''}` : 'Pending'}: ${message}`,
    );
    if (!first && sched?.status === 'False') first = { name: pod.metadata.name, message, gpus: podRequests({ spec: pod.spec }) };
  }
  if (pods.length > 5) details.push(`and ${pods.length - 5} more pods`);
  if (!first) return { link: { step: 'Pods', state: 'wait', summary: `${pods.length} not running yet`, details } };
  const summary = `${pods.length} pod${pods.length === 1 ? '' : 's'} the scheduler cannot place`;
  const link: Link = { step: 'Pods', state: 'hold', summary, details };
  for (const [resource, n] of Object.entries(first.gpus)) {
    const largest = s.largestNode?.[resource];
    if (largest !== undefined && n > largest) {
      return {
        link,
        cause: `pod ${first.name} asks ${n} ${resource}, more than any node of its flavors has (largest ${largest}): it can never be placed`,
        action: 'split it into more pods with fewer GPUs each (e.g. replicas × gpus per replica), or add nodes with more GPUs',
      };
    }
  }
  const a = s.assigned;
  if (a?.nodes === 0) {
    return {
      link,
      cause: `ResourceFlavor ${a.flavors.join(', ')} (where Kueue admitted it) matches no node: its pods can never be placed`,
      action: "fix the flavor's nodeLabels (or label the nodes) so it matches the GPU nodes",
    };
  }
  const short = /Insufficient ([a-z0-9.-]+\/[a-z0-9._-]*[a-z0-9])/.exec(first.message)?.[1];
  if (short && a?.lost.length) {
    return {
      link,
      cause: `its pods wait for ${short}: GPUs are lost on ${a.lost.slice(0, 5).join(', ')}${a.lost.length > 5 ? ` and ${a.lost.length - 5} more` : ''} (nodes of flavor ${a.flavors.join(', ')}), and the healthy ones are in use`,
      action: 'repair the nodes named (kubectl describe node …; the device plugin and the GPU); the pods start when their GPUs are back',
    };
  }
  // The taints the scheduler names ({key: value}), the control plane's left out; where it names none, the taints on
  // the flavor's nodes are the suspects.
  const namesTaints = /untolerated taint\(?s?\)?\s*\{/.test(first.message);
  const suspects = !namesTaints && first.message.includes('untolerated taint') && a?.taints.length ? a.taints.join(', ') : undefined;
  const taint = namedTaints(first.message)[0] ?? suspects;
  if (taint) {
    return {
      link,
      cause: `its pods do not tolerate the taint {${taint}} on the nodes that have the GPUs (pod ${first.name}: ${first.message})`,
      action: `add a toleration for {${taint}} to the job's pod template, or remove the taint once the nodes are fit (kubectl taint nodes <node> <key>-)`,
    };
  }
  if (short) {
    return {
      link,
      cause: `the nodes of flavor ${a?.flavors.join(', ') ?? '?'} have no free ${short}: pods outside Kueue's quota hold them, or the quota promises more than the nodes have`,
      action: `kubectl get pods -A --field-selector spec.nodeName=<node> on the flavor's nodes; kaiwo-monitor check (capacity) compares quota with the hardware`,
    };
  }
  return {
    link,
    cause: `the scheduler cannot place pod ${first.name}: ${first.message}`,
    action: `kubectl describe pod -n ${s.target.namespace} ${first.name}`,
  };
}
