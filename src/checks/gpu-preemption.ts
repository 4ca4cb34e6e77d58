import { durationMs } from '../api/duration.js';
import { dur, obj } from '../api/schema.js';
import { isoSeconds } from '../api/time.js';
import { isRecord, type KubeObject } from '../runtime/objects.js';
import { absentSince } from './absence.js';
import { named } from './kueue-workloads.js';
import { pick } from './workload-projection.js';
import type { PolicyRule, SourceSpec, SourceView } from './types.js';
import { type F, type NextCheck, quantity } from './util.js';

/**
 * Kaiwo v0.2's GPU preemption (GpuWorkload, kaiwo.silogen.ai/v1alpha1; internal/controller/gpuworkload_controller.go and
 * gpuworkload_scraper.go of v0.2.0-rc12). With GPU_PREEMPTION_ENABLED=true on its Deployment, Kaiwo tracks every
 * opted-in workload with AMD GPUs in a GpuWorkload, reads `gpu_gfx_activity` from GPU_PREEMPTION_METRICS_ENDPOINT every
 * GPU_PREEMPTION_POLLING_INTERVAL, marks a workload Idle below its utilization threshold and, by policy (Always: after
 * the grace period; OnPressure: when another GpuWorkload waits for GPUs), deletes its root owner. What the source says
 * about its signals, and so what is judged:
 * - `lastMetricsUpdate` moves only when a value changed by more than 0.01 (a flat 0 % freezes it), and a failed scrape
 *   writes nothing anywhere: no field says "the scraper is dead". So the monitor judges what Kaiwo shows over time, by
 *   its own clock: Active workloads with running pods that never got a metric, and values strictly between 0 and 100
 *   that stopped moving, with no workload's metrics moving meanwhile, mean Kaiwo reads no GPU metrics (Critical).
 * - A workload without metrics stays Active forever; one whose metrics stopped keeps its last values: Kaiwo will
 *   neither preempt the first nor protect the second (it may preempt it on stale data).
 * - The `gpu-preemption-eval` Lease is taken once per evaluation and released without renewal: it is no liveness
 *   signal and is not judged.
 * - Preempting has no timestamp and nothing times it out (a delete that keeps failing retries forever): the monitor
 *   dates it by when it first saw it.
 */
export interface GpuPreemptionSpec {
  idleFor: string;
  maxPreemptingDuration: string;
  metricsGrace: string;
  preemptionWindow: string;
}

export const gpuPreemptionSchema = obj("Kaiwo v0.2's GPU preemption: its GpuWorkloads, when the kind is served", {
  idleFor: dur('GPUs held by an Idle GpuWorkload for longer than this (by its idleSince) are a Warning', '30m', '1s', '720h'),
  maxPreemptingDuration: dur('a GpuWorkload Preempting for longer than this (as this monitor saw it) is stuck', '5m', '10s', '24h'),
  metricsGrace: dur(
    'Active GpuWorkloads with running pods and no GPU metric, or with metrics that stopped moving, for this long mean Kaiwo reads none',
    '5m',
    '10s',
    '24h',
  ),
  preemptionWindow: dur('preemptions within this window are reported (Info), and idle GPU-hours counted over it', '1h', '1m', '24h'),
});

export const GPU_WORKLOADS = 'kaiwo.silogen.ai/v1alpha1';
export const GPU_WORKLOAD_RBAC: PolicyRule = {
  apiGroups: ['kaiwo.silogen.ai'],
  resources: ['gpuworkloads'],
  verbs: ['get', 'list', 'watch'],
};

/** What is kept of a GpuWorkload: its phase and times, its GPUs, and of its tracked pods only what the rules read. */
interface Slim {
  phase: string;
  gpus: number;
  resource: string;
  policy?: string;
  grace?: string;
  owner: string;
  idleSince?: string;
  preemptedAt?: string;
  preemptionReason?: string;
  lastMetricsUpdate?: string;
  /** Tracked pods, GPU metrics among them, and whether a value lies strictly between 0 and 100 (one Kaiwo sees move). */
  pods: number;
  metrics: number;
  midRange: boolean;
}

const str = (v: unknown, max = 253): string | undefined => (typeof v === 'string' ? v.slice(0, max) : undefined);

export function slimGpuWorkload(w: KubeObject): KubeObject {
  const spec = isRecord(w.spec) ? w.spec : {};
  const st = isRecord(w.status) ? w.status : {};
  let gpus = 0;
  let resource = '';
  if (isRecord(spec.gpuResources))
    for (const [r, n] of Object.entries(spec.gpuResources).slice(0, 8)) {
      const q = quantity(n);
      if (q > 0) {
        gpus += q;
        resource ||= r.slice(0, 253);
      }
    }
  let pods = 0;
  let metrics = 0;
  let midRange = false;
  for (const p of Array.isArray(st.trackedPods) ? st.trackedPods.slice(0, 1000) : []) {
    if (!isRecord(p)) continue;
    pods++;
    for (const m of Array.isArray(p.gpuMetrics) ? p.gpuMetrics.slice(0, 64) : []) {
      if (!isRecord(m) || typeof m.utilization !== 'number') continue;
      metrics++;
      if (m.utilization > 0.01 && m.utilization < 99.99) midRange = true;
    }
  }
  const ref = isRecord(spec.workloadRef) ? spec.workloadRef : {};
  const slim: Slim = {
    phase: str(st.phase, 32) ?? '',
    gpus,
    resource,
    ...(str(spec.preemptionPolicy, 32) ? { policy: str(spec.preemptionPolicy, 32) } : {}),
    ...(str(spec.gracePeriod, 32) ? { grace: str(spec.gracePeriod, 32) } : {}),
    owner: `${str(ref.kind, 63) ?? '?'}/${str(ref.name) ?? '?'}`,
    ...(str(st.idleSince, 64) ? { idleSince: str(st.idleSince, 64) } : {}),
    ...(str(st.preemptedAt, 64) ? { preemptedAt: str(st.preemptedAt, 64) } : {}),
    ...(str(st.preemptionReason, 300) ? { preemptionReason: str(st.preemptionReason, 300) } : {}),
    ...(str(st.lastMetricsUpdate, 64) ? { lastMetricsUpdate: str(st.lastMetricsUpdate, 64) } : {}),
    pods,
    metrics,
    midRange,
  };
  return {
    metadata: pick(w.metadata, ['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp']) as KubeObject['metadata'],
    status: { ...slim },
  };
}

export const gpuWorkloadSource: SourceSpec = {
  apiVersion: GPU_WORKLOADS,
  plural: 'gpuworkloads',
  kind: 'GpuWorkload',
  transform: slimGpuWorkload,
  // Served from Kaiwo v0.2 on; an older ClusterRole may not grant it.
  optional: true,
};

/**
 * Kaiwo's preemption settings: the Deployment's env, then KaiwoConfig.spec.gpuPreemption (precedence: GpuWorkload spec >
 * KaiwoConfig > env > built-in).
 */
export interface PreemptionSettings {
  /** true: GPU_PREEMPTION_ENABLED is "true"; false: unset or another literal; undefined: not a literal (valueFrom). */
  enabled: boolean | undefined;
  endpoint: string;
  pollInterval: string;
  policy: string;
  grace: string;
}

export function preemptionSettings(deployment: KubeObject | undefined, kaiwoConfig: SourceView | undefined): PreemptionSettings {
  const containers = (deployment?.spec as { template?: { spec?: { containers?: unknown } } } | undefined)?.template?.spec?.containers;
  const list: unknown[] = Array.isArray(containers) ? containers : [];
  const manager = list.find((c) => isRecord(c) && c.name === 'manager') ?? list[0];
  const env = new Map<string, string | undefined>();
  if (isRecord(manager) && Array.isArray(manager.env))
    for (const e of manager.env.slice(0, 500)) if (isRecord(e) && typeof e.name === 'string') env.set(e.name, str(e.value, 512));
  const literal = (k: string) => env.get(k);
  const enabledVar = env.has('GPU_PREEMPTION_ENABLED') ? literal('GPU_PREEMPTION_ENABLED') : 'false';
  const cfg = kaiwoConfig?.objects.find((o) => o.metadata.name === 'kaiwo')?.spec as { gpuPreemption?: unknown } | undefined;
  const gp = isRecord(cfg?.gpuPreemption) ? cfg.gpuPreemption : {};
  return {
    enabled: enabledVar === undefined ? undefined : enabledVar === 'true',
    endpoint: literal('GPU_PREEMPTION_METRICS_ENDPOINT') ?? 'GPU_PREEMPTION_METRICS_ENDPOINT',
    pollInterval: literal('GPU_PREEMPTION_POLLING_INTERVAL') ?? '15s',
    policy: str(gp.defaultPolicy, 32) ?? literal('GPU_PREEMPTION_DEFAULT_POLICY') ?? 'OnPressure',
    grace: str(gp.defaultGracePeriod, 32) ?? literal('GPU_PREEMPTION_DEFAULT_GRACE_PERIOD') ?? '10m',
  };
}

const slimOf = (w: KubeObject): Slim => w.status as Partial<Slim> as Slim;
const nameOf = (w: KubeObject) => `${w.metadata.namespace ?? ''}/${w.metadata.name}`;
const parsed = (t: string | undefined) => (t ? Date.parse(t) : NaN);
/** What Kaiwo does next with an Idle workload, by its policy. */
function nextStep(s: Slim, settings: PreemptionSettings): string {
  const policy = s.policy ?? settings.policy;
  const grace = s.grace ?? settings.grace;
  if (policy === 'Always') {
    const graceMs = durationMs(grace);
    const at = parsed(s.idleSince) + graceMs;
    // Kaiwo evaluates an Idle workload on its reconciles, every 60 s (IdleRequeueInterval), at most one evaluation per 30 s.
    const when = Number.isFinite(at) && graceMs > 0 ? `at its first evaluation from ${isoSeconds(at)} on` : `after ${grace} idle`;
    return `preempts it ${when} (policy Always, grace ${grace}; Idle workloads are re-evaluated every 60s)`;
  }
  return `preempts it only when another GpuWorkload waits for ${s.resource || 'GPUs'} (policy ${policy}, after ${grace} idle)`;
}

/** Findings on Kaiwo's GPU preemption, from the GpuWorkloads and Kaiwo's settings; plus counts for the summary. */
export function gpuPreemptionFindings(
  view: SourceView | undefined,
  settings: PreemptionSettings,
  spec: GpuPreemptionSpec,
  deploymentName: string,
  now: Date,
  next: NextCheck,
): { findings: F[]; counts: Record<string, number> } {
  const gws = view?.state === 'synced' || view?.state === 'failing' ? view.objects : [];
  if (!gws.length) return { findings: [], counts: {} };
  if (settings.enabled === false)
    return {
      findings: [
        {
          severity: 'Info',
          reason: 'GPUPreemptionOff',
          message: `GPU preemption is off (GPU_PREEMPTION_ENABLED is not "true" on Deployment ${deploymentName}): ${gws.length} GpuWorkload${gws.length > 1 ? 's are' : ' is'} left from when it was on; Kaiwo neither updates nor preempts them`,
        },
      ],
      counts: { gpuWorkloads: gws.length },
    };
  const t = now.getTime();
  const findings: F[] = [];
  // Never shorter than three of Kaiwo's polls: a slow poll is not blindness.
  const graceMs = Math.max(durationMs(spec.metricsGrace), 3 * durationMs(settings.pollInterval));
  const grace = graceMs === durationMs(spec.metricsGrace) ? spec.metricsGrace : `${graceMs / 1000}s (3 polls)`;
  const blind: KubeObject[] = [];
  const frozen: KubeObject[] = [];
  let moving = 0;
  let withMetrics = 0;
  const idle: { w: KubeObject; s: Slim; since: number }[] = [];
  const preempted: { w: KubeObject; s: Slim }[] = [];
  const stuck: { w: KubeObject; since: number }[] = [];
  let idleGPUs = 0;
  let idleGPUMinutes = 0;
  const windowMs = durationMs(spec.preemptionWindow);
  for (const w of gws) {
    const s = slimOf(w);
    const uid = w.metadata.uid ?? nameOf(w);
    const running = (s.phase === 'Active' || s.phase === 'Idle') && s.pods > 0;
    // Never a metric while Active with pods: dated by this process (Kaiwo's own fields cannot say).
    const noMetrics = absentSince(`gpuworkload:${uid}:none`, running && s.metrics === 0, t);
    if (noMetrics !== undefined) {
      if (t - noMetrics >= graceMs) blind.push(w);
      else next.when(noMetrics, graceMs);
    }
    // Metrics that stopped moving: the same lastMetricsUpdate for the grace while a value sits strictly inside 0–100.
    // (Dated from when this process first saw that lastMetricsUpdate: right after a restart everything counts as moving.)
    if (running && s.metrics > 0) {
      withMetrics++;
      const seen = absentSince(`gpuworkload:${uid}:update:${s.lastMetricsUpdate ?? ''}`, true, t) ?? t;
      if (t - seen < graceMs) {
        moving++;
        next.when(seen, graceMs);
      } else if (s.midRange) frozen.push(w);
    }
    const preempting = absentSince(`gpuworkload:${uid}:preempting`, s.phase === 'Preempting', t);
    if (preempting !== undefined) {
      const lim = durationMs(spec.maxPreemptingDuration);
      if (t - preempting >= lim) stuck.push({ w, since: preempting });
      else next.when(preempting, lim);
    }
    if (s.phase === 'Idle') {
      const since = Math.min(t, Number.isFinite(parsed(s.idleSince)) ? parsed(s.idleSince) : t);
      idleGPUs += s.gpus;
      idleGPUMinutes += (s.gpus * Math.min(t - since, windowMs)) / 60_000;
      if (t - since >= durationMs(spec.idleFor)) idle.push({ w, s, since });
      else next.when(since, durationMs(spec.idleFor));
    }
    const at = parsed(s.preemptedAt);
    if (s.phase === 'Preempted' && Number.isFinite(at) && t - at < windowMs) {
      preempted.push({ w, s });
      next.when(at, windowMs);
    }
  }
  // Blind: values that would move have stopped and none moves, or no running workload has ever had a metric. Workloads
  // without metrics beside others that have theirs (a flat 0 % proves nothing either way) are a Warning.
  if ((frozen.length && moving === 0) || (blind.length && withMetrics === 0)) {
    const parts = [
      ...(blind.length ? [`${blind.length} Active with running pods never got a GPU metric (${named(blind.map(nameOf))})`] : []),
      ...(frozen.length ? [`${frozen.length} stopped getting new values (${named(frozen.map(nameOf))})`] : []),
    ];
    findings.push({
      severity: 'Critical',
      reason: 'GPUPreemptionBlind',
      message:
        `Kaiwo reads no GPU metrics from ${settings.endpoint} (polled every ${settings.pollInterval}): of its GpuWorkloads, ${parts.join('; ')} ` +
        `for ${grace}, and none moved meanwhile. It marks none Idle and protects none from preemption on stale values; ` +
        'check that the endpoint answers Kaiwo over plain HTTP(S) with gauge gpu_gfx_activity labelled namespace and pod',
    });
  } else if (blind.length) {
    findings.push({
      severity: 'Warning',
      reason: 'GPUWorkloadWithoutMetrics',
      message: `${blind.length} Active GpuWorkload${blind.length > 1 ? 's have' : ' has'} had no GPU metric for ${grace} while others get theirs: ${named(blind.map(nameOf))}; ${settings.endpoint} serves no gpu_gfx_activity for their pods (exporter missing on their nodes, or series without namespace/pod labels), so Kaiwo never marks them Idle`,
    });
  }
  if (stuck.length)
    findings.push({
      severity: 'Warning',
      reason: 'GPUPreemptionStuck',
      message: `Kaiwo has been preempting ${named(stuck.map(({ w }) => `${nameOf(w)} (${slimOf(w).owner})`))} for longer than ${spec.maxPreemptingDuration}: it cannot delete the owner (see its log: e.g. the owner's CRD is gone) and retries forever; the GPUs stay held`,
    });
  if (idle.length) {
    const worst = [...idle].sort((a, b) => b.s.gpus * (t - b.since) - a.s.gpus * (t - a.since) || nameOf(a.w).localeCompare(nameOf(b.w)));
    const gpus = idle.reduce((n, x) => n + x.s.gpus, 0);
    findings.push({
      severity: 'Warning',
      reason: 'GPUsHeldIdle',
      ...(idle.length === 1 && worst[0]
        ? {
            object: {
              apiVersion: GPU_WORKLOADS,
              kind: 'GpuWorkload',
              namespace: worst[0].w.metadata.namespace ?? '',
              name: worst[0].w.metadata.name,
            },
          }
        : {}),
      message:
        `${gpus} GPUs held idle (below the utilization threshold) for longer than ${spec.idleFor} by ${idle.length} GpuWorkload${idle.length > 1 ? 's' : ''}: ` +
        worst
          .slice(0, 3)
          .map(
            (x) =>
              `${nameOf(x.w)} (${x.s.owner}, ${x.s.gpus} ${x.s.resource}, idle since ${isoSeconds(x.since)}; Kaiwo ${nextStep(x.s, settings)})`,
          )
          .join('; ') +
        (idle.length > 3 ? ` (+${idle.length - 3} more)` : ''),
    });
  }
  if (preempted.length)
    findings.push({
      severity: 'Info',
      reason: 'GPUWorkloadsPreempted',
      message: `Kaiwo preempted ${preempted.length} GpuWorkload${preempted.length > 1 ? 's' : ''} (${preempted.reduce((n, x) => n + x.s.gpus, 0)} GPUs) in the last ${spec.preemptionWindow}: ${preempted
        .slice(0, 3)
        .map((x) => `${nameOf(x.w)} (${x.s.owner}): ${x.s.preemptionReason ?? 'no reason given'}`)
        .join('; ')}${preempted.length > 3 ? ` (+${preempted.length - 3} more)` : ''}`,
    });
  return {
    findings,
    counts: {
      gpuWorkloads: gws.length,
      idleGPUs,
      idleGPUHours: Math.round(idleGPUMinutes / 60),
      preemptions: preempted.length,
      gpuWorkloadsWithoutMetrics: blind.length,
    },
  };
}
