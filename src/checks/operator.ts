import { durationMs } from '../api/duration.js';
import { bool, controllerThresholds, DNS_LABEL, dur, metricsEndpoint, name, obj } from '../api/schema.js';
import { isoSeconds } from '../api/time.js';
import type { MetricsEndpoint } from '../api/types.js';
import type { KubeObject } from '../runtime/objects.js';
import { observationOf } from '../runtime/observed.js';
import { CONTROLLER_RUNTIME_METRICS, controllerMetricsFindings, type ControllerThresholds, scrapeSpecFor } from './controller-metrics.js';
import {
  byName,
  CONTROLLER_RBAC,
  controllerFields,
  type ControllerSpec,
  deploymentFindings,
  deploymentSource,
  leaseSource,
  podFindings,
  podSource,
} from './pods.js';
import { FIT_RBAC, fitFindings, fitSources } from './kaiwo-kueue-fit.js';
import { KAIWO_CONFIG_RBAC, kaiwoConfigSource } from './kaiwo-config.js';
import {
  GPU_WORKLOAD_RBAC,
  type GpuPreemptionSpec,
  gpuPreemptionFindings,
  gpuPreemptionSchema,
  gpuWorkloadSource,
  preemptionSettings,
} from './gpu-preemption.js';
import { type ComponentCheck, type ScrapeSpec, waitingForRequired } from './types.js';
import { deploymentAvailability, type F, leaseFindings, NextCheck, verdict } from './util.js';

export interface OperatorSpec extends ControllerSpec {
  queueConfigName: string;
  queueConfigFailedGrace: string;
  scheduler: { enabled: boolean; namespace: string; deploymentName: string };
  metrics: MetricsEndpoint & ControllerThresholds;
  gpuPreemption: GpuPreemptionSpec;
}

const KAIWO = 'kaiwo.silogen.ai/v1alpha1';

/** The sources the check does without when their first list fails: the Kueue-fit CRDs, GpuWorkloads, KaiwoConfig. */
const OPTIONAL_SOURCES = [...Object.keys(fitSources()), 'gpuWorkloads', 'kaiwoConfig'];

/** The Kaiwo operator: its Deployment and pods, leader Lease, kaiwo-scheduler and KaiwoQueueConfig status. */

export const operatorCheck: ComponentCheck<OperatorSpec, 'operator'> = {
  component: 'operator',
  conditionType: 'KaiwoOperatorHealthy',
  label: 'Kaiwo operator',
  column: 'Operator',
  description:
    'Deployment and pods (crash loops, OOM kills, restarts), leader Lease, kaiwo-scheduler, KaiwoQueueConfig, ' +
    "Kueue's served API versions against those the installed Kaiwo uses, " +
    'v0.2 GPU preemption (GpuWorkloads: Kaiwo reading no GPU metrics, GPUs held idle, preemptions, stuck preemptions), ' +
    'optional controller-runtime metrics (reconcile errors, panics, backlog, p99)',
  schema: obj('the Kaiwo operator (KaiwoOperatorHealthy)', {
    ...controllerFields('the Kaiwo operator', {
      namespace: 'kaiwo-system',
      deployment: 'kaiwo-controller-manager',
      podLabels: { 'control-plane': 'kaiwo-controller-manager' },
      lease: '83fc2279.silogen.ai',
    }),
    queueConfigName: name('the KaiwoQueueConfig Kaiwo reconciles', 'kaiwo'),
    queueConfigFailedGrace: dur(
      'a KaiwoQueueConfig FAILED for less than this (by when this monitor saw it change) is a Warning, ' +
        'longer Critical: Kaiwo reports FAILED for a moment during normal syncs',
      '30s',
      '0s',
      '1h',
    ),
    scheduler: obj('the kaiwo-scheduler Deployment Kaiwo pods use by default', {
      enabled: bool('check kaiwo-scheduler', true),
      namespace: name('namespace of kaiwo-scheduler', 'kube-system', DNS_LABEL, 63),
      deploymentName: name('scheduler Deployment', 'kaiwo-scheduler'),
    }),
    metrics: metricsEndpoint(
      'the operator metrics endpoint (kustomize installs serve HTTPS on 8443; Helm installs have none)',
      controllerThresholds({ errorsPerMinute: 5, depth: 100, depthFor: '5m', p99: '30s' }),
    ),
    gpuPreemption: gpuPreemptionSchema,
  }),
  selectors: ['podSelector'],
  rbac: [
    ...CONTROLLER_RBAC,
    { apiGroups: ['kaiwo.silogen.ai'], resources: ['kaiwoqueueconfigs'], verbs: ['get', 'list', 'watch'] },
    FIT_RBAC,
    GPU_WORKLOAD_RBAC,
    KAIWO_CONFIG_RBAC,
    { nonResourceURLs: ['/metrics'], verbs: ['get'] },
  ],
  sources: (s) => ({
    deployments: deploymentSource(s.namespace, s.deploymentName),
    pods: podSource(s.namespace, s.podSelector),
    leases: leaseSource(s.namespace, s.leaseName),
    queueConfigs: {
      apiVersion: KAIWO,
      plural: 'kaiwoqueueconfigs',
      kind: 'KaiwoQueueConfig',
      fieldSelector: `metadata.name=${s.queueConfigName}`,
    },
    ...(s.scheduler.enabled ? { scheduler: deploymentSource(s.scheduler.namespace, s.scheduler.deploymentName) } : {}),
    // Kueue's served API versions, against what Kaiwo's Go client uses (optional: an older ClusterRole may not grant it).
    ...fitSources(),
    // Kaiwo v0.2's GPU preemption (optional: absent on v0.1, or not granted), and the settings it falls back to.
    gpuWorkloads: gpuWorkloadSource,
    kaiwoConfig: kaiwoConfigSource,
  }),
  scrapes: (s): Record<string, ScrapeSpec> =>
    s.metrics.enabled && s.metrics.url
      ? { metrics: scrapeSpecFor(s.metrics, CONTROLLER_RUNTIME_METRICS, durationMs(s.metrics.workqueueDepthFor)) }
      : {},
  evaluate: ({ spec, data, scrapes, now }) => {
    // The CRD sources are optional: one whose first list failed (forbidden) is not waited for.
    const waiting = waitingForRequired(data, OPTIONAL_SOURCES);
    if (waiting) return waiting;
    const deployment = byName(data.deployments, spec.deploymentName);
    if (!deployment && data.queueConfigs?.state === 'absent') {
      const message = `no Deployment ${spec.namespace}/${spec.deploymentName} and the Kaiwo CRDs are not installed`;
      return { status: 'Unknown', reason: 'KaiwoNotInstalled', message, findings: [] };
    }
    const next = new NextCheck(now);
    const what = 'Kaiwo operator';
    const findings: F[] = [
      ...deploymentFindings(deployment, what, spec.namespace, spec.deploymentName),
      ...podFindings(data.pods?.objects ?? [], what, durationMs(spec.restartWindow), spec.maxRestarts, now, next),
      ...leaseFindings(
        byName(data.leases, spec.leaseName),
        'the Kaiwo operator',
        spec.leaseName,
        spec.namespace,
        durationMs(spec.leaseGracePeriod),
        now,
        next,
      ),
      // Before the KaiwoQueueConfig's FAILED: when Kueue does not serve Kaiwo's API versions, this is why.
      ...fitFindings(deployment, data, spec.namespace),
    ];
    if (spec.scheduler.enabled) {
      const sched = byName(data.scheduler, spec.scheduler.deploymentName);
      findings.push(
        ...deploymentFindings(
          sched,
          'kaiwo-scheduler (Kaiwo pods stay Pending without it)',
          spec.scheduler.namespace,
          spec.scheduler.deploymentName,
          'Warning',
        ),
      );
    }
    if (data.queueConfigs?.state !== 'absent') {
      findings.push(
        ...queueConfigFindings(
          byName(data.queueConfigs, spec.queueConfigName),
          spec.queueConfigName,
          spec.queueConfigFailedGrace,
          now,
          next,
        ),
      );
    }
    if (scrapes.metrics) findings.push(...controllerMetricsFindings('the Kaiwo operator', scrapes.metrics, spec.metrics, now, next));
    const preemption = gpuPreemptionFindings(
      data.gpuWorkloads,
      preemptionSettings(deployment, data.kaiwoConfig),
      spec.gpuPreemption,
      `${spec.namespace}/${spec.deploymentName}`,
      now,
      next,
    );
    findings.push(...preemption.findings);
    const { available, desired } = deployment ? deploymentAvailability(deployment) : { available: 0, desired: 0 };
    const podsNotReady = findings.filter((f) => f.reason === 'PodNotReady').length;
    return verdict(
      findings,
      { reason: 'OperatorHealthy', message: `Kaiwo operator ${available}/${desired} available, leader Lease renewed` },
      {
        summary: {
          display: `${available}/${desired} available`,
          counts: { availableReplicas: available, desiredReplicas: desired, podsNotReady, ...preemption.counts },
        },
        next,
        scrapes: { [what]: scrapes.metrics },
      },
    );
  },
};

/**
 * The KaiwoQueueConfig's status.status (READY, FAILED, or empty before its first sync). Kaiwo sets FAILED whenever
 * one sync of its ClusterQueues/ResourceFlavors fails and READY after the next one succeeds (v0.1.9
 * internal/controller/kaiwoqueueconfig_controller.go Reconcile), so FAILED shows for a moment during normal syncs
 * (e.g. while a ClusterQueue it manages is deleted and recreated; silogen/kaiwo#437). The status has no timestamp:
 * FAILED is a Warning until it has lasted `grace`, judged by when this process saw the object change (or first saw
 * it, after a restart), then Critical; the check asks to be re-evaluated at that moment.
 */
function queueConfigFindings(qc: KubeObject | undefined, name: string, grace: string, now: Date, next: NextCheck): F[] {
  const object = { apiVersion: KAIWO, kind: 'KaiwoQueueConfig', name };
  const st = (qc?.status as { status?: string } | undefined)?.status ?? '';
  if (!qc)
    return [
      {
        severity: 'Warning',
        reason: 'QueueConfigNotFound',
        object,
        message: `KaiwoQueueConfig ${name} not found; Kaiwo creates it at start-up`,
      },
    ];
  if (st === 'FAILED') {
    const seen = observationOf(qc);
    const since = seen?.changedAt ?? seen?.firstSeen ?? now.getTime();
    const lasted = now.getTime() - since;
    const graceMs = durationMs(grace);
    const what = `KaiwoQueueConfig ${name} is FAILED: Kaiwo could not sync its ClusterQueues/ResourceFlavors (see its Events)`;
    if (lasted >= graceMs) {
      return [
        {
          severity: 'Critical',
          reason: 'QueueConfigFailed',
          object,
          since: isoSeconds(since),
          message: `${what}, since ${isoSeconds(since)} (longer than ${grace})`,
        },
      ];
    }
    next.when(since, graceMs);
    return [
      {
        severity: 'Warning',
        reason: 'QueueConfigFailed',
        object,
        since: isoSeconds(since),
        message: `${what}; Critical if it lasts ${grace}`,
      },
    ];
  }
  if (st !== 'READY') {
    const message = `KaiwoQueueConfig ${name} status is ${st === '' ? 'empty (not reconciled yet)' : st}`;
    return [{ severity: 'Warning', reason: 'QueueConfigNotReady', object, message }];
  }
  return [];
}
