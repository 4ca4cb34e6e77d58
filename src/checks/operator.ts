import type { OperatorSpec } from '../api/types.js';
import { durationMs } from '../api/duration.js';
import type { KubeObject } from '../runtime/objects.js';
import { selectorString } from '../runtime/selector.js';
import { CONTROLLER_RUNTIME_METRICS, controllerMetricsFindings, scrapeSpecFor, scrapeUnknown } from './controller-metrics.js';
import { type ComponentCheck, type ScrapeSpec, type SourceView, waitingForData } from './types.js';
import { ageMs, type F, deploymentAvailability, leaseFindings, NextCheck, ref, verdict } from './util.js';

interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string } };
  lastState?: { terminated?: { reason?: string; finishedAt?: string; exitCode?: number } };
}

const BAD_WAITING = new Set(['CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'CreateContainerConfigError', 'CreateContainerError', 'InvalidImageName']);

/** Pod-level problems of a controller's pods: waiting reasons, OOM kills, restarts within the window, not ready. */
export function podFindings(pods: readonly KubeObject[], what: string, restartWindowMs: number, maxRestarts: number, now: Date, next: NextCheck): F[] {
  const out: F[] = [];
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    const object = ref(p, 'Pod', 'v1');
    const status = (p.status ?? {}) as { phase?: string; containerStatuses?: ContainerStatus[]; conditions?: { type: string; status: string }[] };
    for (const c of status.containerStatuses ?? []) {
      const waiting = c.state?.waiting?.reason;
      if (waiting && BAD_WAITING.has(waiting)) {
        out.push({ severity: 'Warning', reason: waiting, object, message: `${what} pod ${p.metadata.name} container ${c.name}: ${waiting}${c.state?.waiting?.message ? ` (${c.state.waiting.message})` : ''}` });
      }
      const term = c.lastState?.terminated;
      const termAge = ageMs(term?.finishedAt, now);
      if (term?.reason === 'OOMKilled' && termAge !== undefined && termAge < restartWindowMs) {
        out.push({ severity: 'Warning', reason: 'OOMKilled', object, message: `${what} pod ${p.metadata.name} container ${c.name} was OOMKilled at ${term.finishedAt ?? ''}; raise its memory limit` });
        next.when(now.getTime() - termAge, restartWindowMs);
      } else if ((c.restartCount ?? 0) >= maxRestarts && termAge !== undefined && termAge < restartWindowMs) {
        out.push({ severity: 'Warning', reason: 'Restarting', object, message: `${what} pod ${p.metadata.name} container ${c.name} restarted ${c.restartCount ?? 0} times, last at ${term?.finishedAt ?? ''} (${term?.reason ?? 'exit'} ${term?.exitCode ?? ''}); check kubectl logs --previous` });
        next.when(now.getTime() - termAge, restartWindowMs);
      }
    }
    const ready = status.conditions?.find((c) => c.type === 'Ready');
    if (status.phase === 'Running' && ready?.status !== 'True') {
      out.push({ severity: 'Warning', reason: 'PodNotReady', object, message: `${what} pod ${p.metadata.name} is Running but not Ready` });
    }
  }
  return out;
}

/** Availability of a Deployment: Critical when it is missing or has no available replica. */
export function deploymentFindings(d: KubeObject | undefined, what: string, namespace: string, name: string, missingSeverity: F['severity'] = 'Critical'): F[] {
  const object = { apiVersion: 'apps/v1', kind: 'Deployment', namespace, name };
  if (!d) return [{ severity: missingSeverity, reason: 'DeploymentNotFound', object, message: `${what} Deployment ${namespace}/${name} not found` }];
  const { available, desired } = deploymentAvailability(d);
  if (available < 1) return [{ severity: 'Critical', reason: 'DeploymentUnavailable', object, message: `${what} Deployment ${namespace}/${name} has 0 of ${desired} replicas available` }];
  if (available < desired) return [{ severity: 'Warning', reason: 'DeploymentDegraded', object, message: `${what} Deployment ${namespace}/${name} has ${available} of ${desired} replicas available` }];
  return [];
}

const byName = (v: SourceView | undefined, name: string) => v?.objects.find((o) => o.metadata.name === name);

/** The Kaiwo operator: its Deployment and pods, leader Lease, kaiwo-scheduler and KaiwoQueueConfig status. */
export const operatorCheck: ComponentCheck<OperatorSpec> = {
  component: 'operator',
  section: (s) => s.operator,
  sources: (s) => ({
    deployments: { apiVersion: 'apps/v1', plural: 'deployments', kind: 'Deployment', namespace: s.namespace, fieldSelector: `metadata.name=${s.deploymentName}` },
    pods: { apiVersion: 'v1', plural: 'pods', kind: 'Pod', namespace: s.namespace, labelSelector: selectorString(s.podSelector) },
    leases: { apiVersion: 'coordination.k8s.io/v1', plural: 'leases', kind: 'Lease', namespace: s.namespace, fieldSelector: `metadata.name=${s.leaseName}` },
    queueConfigs: { apiVersion: 'kaiwo.silogen.ai/v1alpha1', plural: 'kaiwoqueueconfigs', kind: 'KaiwoQueueConfig', fieldSelector: `metadata.name=${s.queueConfigName}` },
    ...(s.scheduler.enabled ? { scheduler: { apiVersion: 'apps/v1', plural: 'deployments', kind: 'Deployment', namespace: s.scheduler.namespace, fieldSelector: `metadata.name=${s.scheduler.deploymentName}` } } : {}),
  }),
  scrapes: (s): Record<string, ScrapeSpec> => (s.metrics.enabled && s.metrics.url ? { metrics: scrapeSpecFor(s.metrics, CONTROLLER_RUNTIME_METRICS, durationMs(s.metrics.workqueueDepthFor)) } : {}),
  evaluate: ({ spec, data, scrapes, now }) => {
    const waiting = waitingForData(data);
    if (waiting) return waiting;
    const deployment = byName(data.deployments, spec.deploymentName);
    if (!deployment && data.queueConfigs?.state === 'absent') {
      return { status: 'Unknown', reason: 'KaiwoNotInstalled', message: `no Deployment ${spec.namespace}/${spec.deploymentName} and the Kaiwo CRDs are not installed`, findings: [] };
    }
    const next = new NextCheck(now);
    const findings: F[] = [
      ...deploymentFindings(deployment, 'Kaiwo operator', spec.namespace, spec.deploymentName),
      ...podFindings(data.pods?.objects ?? [], 'Kaiwo operator', durationMs(spec.restartWindow), spec.maxRestarts, now, next),
      ...leaseFindings(byName(data.leases, spec.leaseName), 'the Kaiwo operator', spec.leaseName, spec.namespace, durationMs(spec.leaseGracePeriod), now, next),
    ];
    if (spec.scheduler.enabled) {
      const sched = byName(data.scheduler, spec.scheduler.deploymentName);
      findings.push(...deploymentFindings(sched, 'kaiwo-scheduler (Kaiwo pods stay Pending without it)', spec.scheduler.namespace, spec.scheduler.deploymentName, 'Warning'));
    }
    if (data.queueConfigs?.state !== 'absent') {
      const qc = byName(data.queueConfigs, spec.queueConfigName);
      const object = { apiVersion: 'kaiwo.silogen.ai/v1alpha1', kind: 'KaiwoQueueConfig', name: spec.queueConfigName };
      const st = (qc?.status as { status?: string } | undefined)?.status ?? '';
      if (!qc) findings.push({ severity: 'Warning', reason: 'QueueConfigNotFound', object, message: `KaiwoQueueConfig ${spec.queueConfigName} not found; Kaiwo creates it at start-up` });
      else if (st === 'FAILED') findings.push({ severity: 'Critical', reason: 'QueueConfigFailed', object, message: `KaiwoQueueConfig ${spec.queueConfigName} is FAILED: Kaiwo cannot sync its ClusterQueues/ResourceFlavors (see its Events)` });
      else if (st !== 'READY') findings.push({ severity: 'Warning', reason: 'QueueConfigNotReady', object, message: `KaiwoQueueConfig ${spec.queueConfigName} status is ${st === '' ? 'empty (not reconciled yet)' : st}` });
    }
    if (scrapes.metrics) findings.push(...controllerMetricsFindings('the Kaiwo operator', scrapes.metrics, spec.metrics, now, next));
    const { available, desired } = deployment ? deploymentAvailability(deployment) : { available: 0, desired: 0 };
    const podsNotReady = findings.filter((f) => f.reason === 'PodNotReady').length;
    const unknown = findings.some((f) => f.severity === 'Critical') ? undefined : scrapeUnknown('Kaiwo operator', scrapes.metrics);
    if (unknown) return { status: 'Unknown', ...unknown, findings, summary: { display: `${available}/${desired} available`, counts: { availableReplicas: available, desiredReplicas: desired, podsNotReady } } };
    return verdict(findings, { reason: 'OperatorHealthy', message: `Kaiwo operator ${available}/${desired} available, leader Lease renewed` }, {
      summary: { display: `${available}/${desired} available`, counts: { availableReplicas: available, desiredReplicas: desired, podsNotReady } },
      ...(next.date ? { nextCheckAt: next.date } : {}),
    });
  },
};
