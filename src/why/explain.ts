import { workloadFacts } from '../checks/capacity-workloads.js';
import { conditionOf, type ObjCondition } from '../checks/util.js';
import { isRecord, type KubeObject } from '../runtime/objects.js';
import { podsLink } from './pods.js';
import { ordinal, projected } from './position.js';
import type { Answer, Link, LinkState, Position, WhySnapshot } from './types.js';

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const cut = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const cond = (c: ObjCondition | undefined) =>
  c ? `${c.type}=${str(c.status)}${c.reason ? ` (${str(c.reason)})` : ''}${c.message ? `: ${cut(str(c.message))}` : ''}` : '';

/** Rows as aligned columns. */
function aligned(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '));
}

/** A link and, when it holds the job back, the cause and the fix the answer ends with. */
interface Step {
  link: Link;
  cause?: string;
  action?: string;
}

const step = (name: string, state: LinkState, summary: string, details: string[] = [], cause?: string, action?: string): Step => ({
  link: { step: name, state, summary, details },
  ...(cause ? { cause } : {}),
  ...(action ? { action } : {}),
});

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

/** Kaiwo manages the ClusterQueue (its controller reference is KaiwoQueueConfig kaiwo), or the job is Kaiwo's. */
function kaiwoOwned(s: WhySnapshot): boolean {
  const refs = s.clusterQueue?.metadata.ownerReferences;
  return s.kaiwo !== undefined || (Array.isArray(refs) && refs.some((r) => isRecord(r) && r.kind === 'KaiwoQueueConfig'));
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

function localQueueFix(s: WhySnapshot): string {
  const [ns = '', name = ''] = (s.localQueueName ?? '/').split('/');
  return s.kaiwo
    ? `Kaiwo creates LocalQueue ${name} in the namespaces listed for ClusterQueue ${name} in KaiwoQueueConfig kaiwo: add ${ns} there (kubectl edit kaiwoqueueconfig kaiwo)`
    : `create it: kubectl create -f - <<< '{"apiVersion":"kueue.x-k8s.io/${s.kueue.version ?? 'v1beta2'}","kind":"LocalQueue","metadata":{"namespace":"${ns}","name":"${name}"},"spec":{"clusterQueue":"<ClusterQueue>"}}', or label the job with an existing LocalQueue`;
}

function localQueueStep(s: WhySnapshot): Step | undefined {
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

function clusterQueueStep(s: WhySnapshot): Step | undefined {
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

function positionStep(p: Position | undefined): Step | undefined {
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
function capacityStep(s: WhySnapshot): Step | undefined {
  const c = s.capacity;
  if (!c) return undefined;
  const w = s.workloads[0];
  const details = c.rows.length ? aligned([c.columns, ...c.rows]) : [];
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
