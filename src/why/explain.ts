import { workloadFacts } from '../checks/capacity-workloads.js';
import { conditionOf } from '../checks/util.js';
import { isRecord, type KubeObject } from '../runtime/objects.js';
import { cond, cut, type Step, step, str } from './link.js';
import { podsLink } from './pods.js';
import { ordinal, projected } from './position.js';
import { capacityStep, clusterQueueStep, localQueueStep, positionStep } from './queue-links.js';
import type { Answer, LinkState, WhySnapshot } from './types.js';

const KAIWO_DONE = new Set(['COMPLETE', 'TERMINATED']);

/** Kaiwo's view: its status and Schedulable condition (pkg/workloads/common/scheduling.go), the queue it asked for. */
function kaiwoStep(s: WhySnapshot): Step | undefined {
  const k = s.kaiwo;
  if (!k) return undefined;
  const kind = s.target.kind === 'KaiwoService' || k.kind === 'KaiwoService' ? 'KaiwoService' : 'KaiwoJob';
  const status = str((k.status as { status?: unknown } | undefined)?.status) || 'no status yet';
  const sched = conditionOf(k, 'Schedulable');
  const queue = s.kaiwoQueue ? `; asks for ClusterQueue ${s.kaiwoQueue}` : '';
  const details = [sched, conditionOf(k, 'Admitted')].filter((c) => c !== undefined).map(cond);
  const name = `${k.metadata.namespace ?? ''}/${k.metadata.name}`;
  if (KAIWO_DONE.has(status)) return step('Kaiwo', 'ok', `${status}: it has finished`, details);
  if (status === 'RUNNING') return step('Kaiwo', 'ok', `RUNNING${queue}`, details);
  if (status === 'FAILED') {
    return step(
      'Kaiwo',
      'hold',
      `FAILED${queue}`,
      details,
      `${kind} ${name} failed (Kaiwo's status FAILED): it will not run again`,
      `kubectl describe ${kind.toLowerCase()} -n ${k.metadata.namespace ?? ''} ${k.metadata.name}; kubectl logs -n ${k.metadata.namespace ?? ''} -l kaiwo.silogen.ai/run-id=${k.metadata.uid ?? ''}`,
    );
  }
  if (sched?.status === 'False') {
    const reason = str(sched.reason);
    const ns = k.metadata.namespace ?? '';
    const q = s.kaiwoQueue ?? 'kaiwo';
    const action =
      reason === 'WrongQueueNamespace'
        ? `add namespace ${ns} to clusterQueues[name=${q}].namespaces in KaiwoQueueConfig kaiwo (kubectl edit kaiwoqueueconfig kaiwo), or set spec.clusterQueue of the ${kind} to a queue that serves ${ns}`
        : reason === 'ClusterQueueNotFound'
          ? `add ClusterQueue ${q} to KaiwoQueueConfig kaiwo (kubectl edit kaiwoqueueconfig kaiwo), or set spec.clusterQueue to one it lists`
          : reason === 'InsufficientGPUs' || reason === 'NoGPUs'
            ? 'ask for fewer GPUs, or add GPU nodes Kaiwo counts (labelled kaiwo/nodepool, see kubectl get nodes -L kaiwo/nodepool)'
            : undefined;
    return step(
      'Kaiwo',
      'hold',
      `${status}: Schedulable=False (${reason})${queue}`,
      details,
      `Kaiwo will not submit ${kind} ${name}: ${reason}: ${cut(str(sched.message), 200)}`,
      action,
    );
  }
  if (status === 'ERROR') {
    return step(
      'Kaiwo',
      'hold',
      `ERROR${queue}`,
      details,
      `Kaiwo reports ERROR for ${kind} ${name} (e.g. its Deployment exceeded its progress deadline)`,
      `kubectl describe ${kind.toLowerCase()} -n ${k.metadata.namespace ?? ''} ${k.metadata.name}`,
    );
  }
  return step('Kaiwo', 'ok', `${status}${queue}`, details);
}

function workloadName(w: KubeObject): string {
  return `${w.metadata.namespace ?? ''}/${w.metadata.name}`;
}

/** Kueue's Workload: missing (itself an answer), finished, deactivated, reserved/admitted, admission checks, evictions. */
function workloadStep(s: WhySnapshot): { step: Step; pending: boolean; admitted: boolean } {
  const none = (state: LinkState, summary: string, cause?: string, action?: string) => ({
    step: step('Workload', state, summary, [], cause, action),
    pending: false,
    admitted: false,
  });
  if (!s.kueue.version) {
    return none(
      'hold',
      "Kueue's Workload API is not served",
      'Kueue is not installed (no workloads.kueue.x-k8s.io CRD): nothing admits the job',
      'install Kueue (see kubectl get crd workloads.kueue.x-k8s.io)',
    );
  }
  if (s.kaiwoNeeds && !s.kueue.served.includes(s.kaiwoNeeds)) {
    return none(
      'hold',
      `Kueue serves ${s.kueue.served.join(', ') || 'no version'} of its API; Kaiwo speaks ${s.kaiwoNeeds}`,
      `Kaiwo talks to Kueue through ${s.kaiwoNeeds}, which this Kueue no longer serves: Kaiwo cannot create or read Workloads`,
      `run a Kueue release that still serves ${s.kaiwoNeeds} (≤ v0.19), or a Kaiwo release built for ${s.kueue.served.join('/')}`,
    );
  }
  const w = s.workloads[0];
  if (!w) {
    if (s.kaiwo && s.child === null) {
      return none(
        'wait',
        'none yet: Kaiwo has not created its Job/Deployment',
        "Kaiwo has not created the job's workload object yet",
        `kubectl describe ${s.kaiwo.kind?.toLowerCase() ?? 'kaiwojob'} -n ${s.kaiwo.metadata.namespace ?? ''} ${s.kaiwo.metadata.name}; check the Kaiwo operator (kaiwo-monitor check)`,
      );
    }
    if (!s.localQueueName) {
      return none(
        'hold',
        'none: the job names no queue (label kueue.x-k8s.io/queue-name)',
        'Kueue does not manage it: it carries no kueue.x-k8s.io/queue-name label',
        'label it kueue.x-k8s.io/queue-name=<LocalQueue> (Kaiwo does this for its own jobs)',
      );
    }
    if (s.localQueue === null) return none('wait', `none: LocalQueue ${s.localQueueName} does not exist`);
    return none(
      'unknown',
      `none for it in ${s.target.namespace} (Kueue ${s.kueue.version})`,
      "Kueue has made no Workload for it: is the Kueue controller running and the job's kind among its integrations.frameworks?",
      'kaiwo-monitor check (Kueue controller), kubectl -n kueue-system logs deploy/kueue-controller-manager',
    );
  }
  const name = workloadName(w);
  const facts = workloadFacts(projected(w));
  const details: string[] = [];
  for (const t of ['QuotaReserved', 'Admitted', 'Evicted', 'Requeued']) {
    const c = conditionOf(w, t);
    if (c && (t === 'QuotaReserved' || t === 'Admitted' || c.status === 'True')) details.push(cond(c));
  }
  const evictions =
    isRecord(w.status) && isRecord(w.status.schedulingStats) && Array.isArray(w.status.schedulingStats.evictions)
      ? w.status.schedulingStats.evictions
      : [];
  const ev = evictions
    .filter(isRecord)
    .map((e) => `${str(e.reason)}${e.underlyingCause ? `/${str(e.underlyingCause)}` : ''} ×${typeof e.count === 'number' ? e.count : 1}`);
  if (ev.length) details.push(`evicted before: ${ev.slice(0, 5).join(', ')}`);
  if (conditionOf(w, 'Finished')?.status === 'True')
    return { step: step('Workload', 'ok', `${name}: finished`, details), pending: false, admitted: false };
  if ((w.spec as { active?: unknown } | undefined)?.active === false) {
    const why = conditionOf(w, 'DeactivationTarget') ?? conditionOf(w, 'Evicted');
    return {
      step: step(
        'Workload',
        'hold',
        `${name}: deactivated (spec.active false)${why ? `, ${cond(why)}` : ''}`,
        details,
        `Kueue deactivated Workload ${name}${why?.reason ? ` (${str(why.reason)})` : ''}: it is not queued any more`,
        `kubectl patch workloads.kueue.x-k8s.io -n ${w.metadata.namespace ?? ''} ${w.metadata.name} --type merge -p '{"spec":{"active":true}}' once the cause is fixed`,
      ),
      pending: false,
      admitted: false,
    };
  }
  const admitted = conditionOf(w, 'Admitted')?.status === 'True';
  if (admitted)
    return {
      step: step('Workload', 'ok', `${name}: admitted to ClusterQueue ${facts.admittedTo || '?'}`, details),
      pending: false,
      admitted: true,
    };
  if (facts.reserved) {
    const checks = isRecord(w.status) && Array.isArray(w.status.admissionChecks) ? w.status.admissionChecks.filter(isRecord) : [];
    const open = checks.filter((c) => str(c.state) !== 'Ready');
    for (const c of checks)
      details.push(`admission check ${str(c.name)}: ${str(c.state)}${c.message ? `: ${cut(str(c.message), 200)}` : ''}`);
    const first = open[0];
    if (first) {
      const rejected = str(first.state) === 'Rejected';
      return {
        step: step(
          'Workload',
          'hold',
          `${name}: quota reserved in ClusterQueue ${facts.admittedTo || '?'}; admission check ${str(first.name)} is ${str(first.state)}`,
          details,
          `admission check ${str(first.name)} is ${str(first.state)}${first.message ? ` (${cut(str(first.message), 200)})` : ''}: Kueue admits the Workload only when every check is Ready`,
          rejected
            ? 'the check rejected it: see its controller; resubmit once fixed'
            : `kubectl get admissioncheck ${str(first.name)} -o yaml (its controller decides; it sets the state on the Workload)`,
        ),
        pending: false,
        admitted: false,
      };
    }
    return {
      step: step('Workload', 'wait', `${name}: quota reserved in ClusterQueue ${facts.admittedTo || '?'}, admission pending`, details),
      pending: false,
      admitted: false,
    };
  }
  const reserved = conditionOf(w, 'QuotaReserved');
  return {
    step: step('Workload', 'wait', `${name}: pending${reserved?.reason ? ` (${str(reserved.reason)})` : ''}`, details),
    pending: true,
    admitted: false,
  };
}

/** Follows the chain for one job: the first link that holds it back is the answer. */
export function explain(s: WhySnapshot): Answer {
  const target = `${s.target.kind.toLowerCase()}/${s.target.name} -n ${s.target.namespace}`;
  const steps: Step[] = [];
  const push = (x: Step | undefined) => {
    if (x) steps.push(x);
  };
  const k = kaiwoStep(s);
  push(k);
  const finished = k?.link.state === 'ok' && /^(COMPLETE|TERMINATED)/.test(k.link.summary);
  const w = workloadStep(s);
  if (k?.link.state !== 'hold') {
    push(w.step);
    if (w.step.link.state !== 'hold') {
      push(localQueueStep(s));
      push(clusterQueueStep(s));
    }
    if (w.pending) {
      push(positionStep(s.position));
      push(capacityStep(s));
    }
    if (w.admitted) push(podsLink(s));
  }
  // A read that failed: on its link when the chain has one (it then says "not read"), else a link of its own.
  for (const e of s.errors) {
    const at = steps.find((x) => x.link.step === e.step);
    const line = `could not be read: ${cut(e.message, 300)}`;
    if (at) {
      if (at.link.summary !== line && !at.link.details.includes(line)) at.link.details.push(line);
    } else steps.push(step(e.step, 'unknown', line));
  }
  const held = steps.find((x) => x.link.state === 'hold');
  const links = steps.map((x) => x.link);
  if (held)
    return {
      target,
      links,
      heldBy: held.link.step,
      cause: held.cause ?? held.link.summary,
      ...(held.action ? { action: held.action } : {}),
      ...(s.position ? { position: s.position } : {}),
      exitCode: 1,
    };
  const unknown = steps.find((x) => x.link.state === 'unknown');
  if (unknown)
    return {
      target,
      links,
      cause: unknown.cause ?? `cannot tell: ${unknown.link.step} ${unknown.link.summary}`,
      ...(unknown.action ? { action: unknown.action } : {}),
      exitCode: 2,
    };
  const cause = finished
    ? 'it has finished'
    : w.admitted
      ? 'it is admitted and its pods are placed'
      : s.position?.index !== undefined
        ? `it is ${ordinal(s.position.index)} in line in ClusterQueue ${s.clusterQueueName ?? ''} and starts when the work ahead of it frees quota`
        : 'it waits for Kueue to admit it';
  return { target, links, cause, ...(s.position ? { position: s.position } : {}), exitCode: 0 };
}
