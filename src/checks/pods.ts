import { bool, DNS_LABEL, dur, int, labelSelectorSchema, name, type Schema } from '../api/schema.js';
import type { LabelSelector } from '../api/types.js';
import type { KubeObject } from '../runtime/objects.js';
import { selectorString } from '../runtime/selector.js';
import type { SourceSpec, SourceView } from './types.js';
import { ageMs, type F, deploymentAvailability, type NextCheck, quietRenewal, ref } from './util.js';

/** A controller's Deployment, pods and leader Lease: sources and findings shared by the Kaiwo operator and Kueue checks. */

/** The spec fields of every controller a check watches (the Kaiwo operator, Kueue). */
export interface ControllerSpec {
  enabled: boolean;
  namespace: string;
  deploymentName: string;
  podSelector: LabelSelector;
  leaseName: string;
  leaseGracePeriod: string;
  restartWindow: string;
  maxRestarts: number;
}

/** The schema of ControllerSpec's fields, with one controller's defaults. */
export function controllerFields(
  what: string,
  d: { namespace: string; deployment: string; podLabels: Record<string, string>; lease: string },
): Record<keyof ControllerSpec, Schema> {
  return {
    enabled: bool(`check ${what}`, true),
    namespace: name(`namespace of ${what}`, d.namespace, DNS_LABEL, 63),
    deploymentName: name(`${what} Deployment`, d.deployment),
    podSelector: labelSelectorSchema(`${what} pods`, { matchLabels: d.podLabels }),
    leaseName: name(`leader-election Lease of ${what} in its namespace`, d.lease),
    leaseGracePeriod: dur('tolerated lateness of a Lease renewal beyond leaseDurationSeconds', '5s', '0s', '1h'),
    restartWindow: dur('container restarts are counted over this window', '15m', '1m', '24h'),
    maxRestarts: int(`restarts within restartWindow before ${what} counts as crash-looping`, 3, 0, 1000),
  };
}

export const byName = (v: SourceView | undefined, name: string): KubeObject | undefined => v?.objects.find((o) => o.metadata.name === name);

export const deploymentSource = (namespace: string, name: string): SourceSpec => ({
  apiVersion: 'apps/v1',
  plural: 'deployments',
  kind: 'Deployment',
  namespace,
  fieldSelector: `metadata.name=${name}`,
});
export const podSource = (namespace: string, selector: LabelSelector): SourceSpec => ({
  apiVersion: 'v1',
  plural: 'pods',
  kind: 'Pod',
  namespace,
  labelSelector: selectorString(selector),
});
export const leaseSource = (namespace: string, name: string): SourceSpec => ({
  apiVersion: 'coordination.k8s.io/v1',
  plural: 'leases',
  kind: 'Lease',
  namespace,
  fieldSelector: `metadata.name=${name}`,
  quiet: quietRenewal,
});

/** What reading a controller's Deployment, pods and Lease takes. */
export const CONTROLLER_RBAC = [
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch'] },
];

interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string } };
  lastState?: { terminated?: { reason?: string; finishedAt?: string; exitCode?: number } };
}

const BAD_WAITING = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'InvalidImageName',
]);

/** Pod-level problems of a controller's pods: waiting reasons, OOM kills, restarts within the window, not ready. */
export function podFindings(
  pods: readonly KubeObject[],
  what: string,
  restartWindowMs: number,
  maxRestarts: number,
  now: Date,
  next: NextCheck,
): F[] {
  const out: F[] = [];
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    const object = ref(p, 'Pod', 'v1');
    const status = (p.status ?? {}) as {
      phase?: string;
      containerStatuses?: ContainerStatus[];
      conditions?: { type: string; status: string }[];
    };
    for (const c of status.containerStatuses ?? []) {
      const waiting = c.state?.waiting?.reason;
      if (waiting && BAD_WAITING.has(waiting)) {
        out.push({
          severity: 'Warning',
          reason: waiting,
          object,
          message: `${what} pod ${p.metadata.name} container ${c.name}: ${waiting}${c.state?.waiting?.message ? ` (${c.state.waiting.message})` : ''}`,
        });
      }
      const term = c.lastState?.terminated;
      const termAge = ageMs(term?.finishedAt, now);
      if (term?.reason === 'OOMKilled' && termAge !== undefined && termAge < restartWindowMs) {
        out.push({
          severity: 'Warning',
          reason: 'OOMKilled',
          object,
          message: `${what} pod ${p.metadata.name} container ${c.name} was OOMKilled at ${term.finishedAt ?? ''}; raise its memory limit`,
        });
        next.when(now.getTime() - termAge, restartWindowMs);
      } else if ((c.restartCount ?? 0) >= maxRestarts && termAge !== undefined && termAge < restartWindowMs) {
        out.push({
          severity: 'Warning',
          reason: 'Restarting',
          object,
          message: `${what} pod ${p.metadata.name} container ${c.name} restarted ${c.restartCount ?? 0} times, last at ${term?.finishedAt ?? ''} (${term?.reason ?? 'exit'} ${term?.exitCode ?? ''}); check kubectl logs --previous`,
        });
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
export function deploymentFindings(
  d: KubeObject | undefined,
  what: string,
  namespace: string,
  name: string,
  missingSeverity: F['severity'] = 'Critical',
): F[] {
  const object = { apiVersion: 'apps/v1', kind: 'Deployment', namespace, name };
  if (!d)
    return [
      { severity: missingSeverity, reason: 'DeploymentNotFound', object, message: `${what} Deployment ${namespace}/${name} not found` },
    ];
  const { available, desired } = deploymentAvailability(d);
  if (available < 1)
    return [
      {
        severity: 'Critical',
        reason: 'DeploymentUnavailable',
        object,
        message: `${what} Deployment ${namespace}/${name} has 0 of ${desired} replicas available`,
      },
    ];
  if (available < desired)
    return [
      {
        severity: 'Warning',
        reason: 'DeploymentDegraded',
        object,
        message: `${what} Deployment ${namespace}/${name} has ${available} of ${desired} replicas available`,
      },
    ];
  return [];
}
