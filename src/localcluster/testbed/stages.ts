import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** Annotation that puts a pod into one of the test bed's fault stages (value: the fault). */
export const FAULT_ANNOTATION = 'kaiwo-monitor.dev/fault';
export type PodFault = 'CrashLoopBackOff' | 'OOMKilled' | 'ImagePullBackOff';

type Stage = Record<string, unknown> & {
  metadata: { name: string };
  spec: Record<string, unknown> & { selector: { matchExpressions: unknown[] } };
};

const notDeleting = { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' };
const fault = (value: PodFault) => ({ key: `.metadata.annotations["${FAULT_ANNOTATION}"]`, operator: 'In', values: [value] });
const phase = (value: string) => ({ key: '.status.phase', operator: 'In', values: [value] });

function podStage(name: string, matchExpressions: unknown[], delayMs: number, statusTemplate: string): Stage {
  return {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Stage',
    metadata: { name },
    spec: {
      resourceRef: { apiGroup: 'v1', kind: 'Pod' },
      selector: { matchExpressions },
      weight: 100,
      delay: { durationMilliseconds: delayMs },
      next: { statusTemplate },
    },
  };
}

/** Per existing container status: a crash just happened, kubelet waits in back-off; restartCount rises by one. */
const crashLoop = `{{ $now := Now }}
phase: Running
conditions:
- {type: Ready, status: "False", reason: ContainersNotReady, lastTransitionTime: {{ $now | Quote }}}
- {type: ContainersReady, status: "False", reason: ContainersNotReady, lastTransitionTime: {{ $now | Quote }}}
containerStatuses:
{{ range .status.containerStatuses }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: ""
  ready: false
  started: false
  restartCount: {{ add (or .restartCount 0) 1 }}
  state:
    waiting:
      reason: CrashLoopBackOff
      message: {{ printf "back-off restarting failed container %s" .name | Quote }}
  lastState:
    terminated:
      exitCode: 1
      reason: Error
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}
{{ end }}`;

/** Killed by the kernel OOM killer once and restarted: running again, lastState OOMKilled (exit 137). */
const oomKilled = `{{ $now := Now }}
containerStatuses:
{{ range .status.containerStatuses }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: ""
  ready: true
  started: true
  restartCount: {{ add (or .restartCount 0) 1 }}
  state:
    running:
      startedAt: {{ $now | Quote }}
  lastState:
    terminated:
      exitCode: 137
      reason: OOMKilled
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}
{{ end }}`;

/** Bound to a node but its image never arrives: Pending with ImagePullBackOff. */
const imagePull = `{{ $now := Now }}
phase: Pending
conditions:
- {type: PodScheduled, status: "True", lastTransitionTime: {{ $now | Quote }}}
- {type: Ready, status: "False", reason: ContainersNotReady, lastTransitionTime: {{ $now | Quote }}}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: ""
  ready: false
  started: false
  restartCount: 0
  state:
    waiting:
      reason: ImagePullBackOff
      message: {{ printf "Back-off pulling image %q" .image | Quote }}
{{ end }}`;

/** The test bed's own fault stages, selected by the FAULT_ANNOTATION on a pod. */
export function faultStages(crashLoopEveryMs: number): Stage[] {
  return [
    // Repeats while the annotation stays: every crashLoopEveryMs another restart (kubelet's back-off, shortened).
    podStage('kaiwo-monitor-crashloop', [notDeleting, fault('CrashLoopBackOff'), phase('Running')], crashLoopEveryMs, crashLoop),
    // Once: the stage stops matching when the last termination is already an OOM kill.
    podStage(
      'kaiwo-monitor-oomkilled',
      [
        notDeleting,
        fault('OOMKilled'),
        phase('Running'),
        { key: '.status.containerStatuses.[0].lastState.terminated.reason', operator: 'NotIn', values: ['OOMKilled'] },
      ],
      500,
      oomKilled,
    ),
    podStage(
      'kaiwo-monitor-imagepull',
      [
        notDeleting,
        fault('ImagePullBackOff'),
        phase('Pending'),
        { key: '.spec.nodeName', operator: 'Exists' },
        { key: '.status.containerStatuses.[0].state.waiting.reason', operator: 'NotIn', values: ['ImagePullBackOff'] },
      ],
      200,
      imagePull,
    ),
  ];
}

async function load(file: string): Promise<Stage[]> {
  return parseAllDocuments(await readFile(file, 'utf8'))
    .map((d) => d.toJS() as Stage)
    .filter((s) => s.kind === 'Stage');
}

/**
 * kwok's own stages from its module (kwok v0.8.0 has no built-in defaults): node-initialize, the heartbeat with
 * node Leases, pod-ready, pod-complete (Job pods finish after the `pod-complete.stage.kwok.x-k8s.io/delay`
 * annotation, default 1-6 s) and pod-delete; pod-ready leaves pods in the ImagePullBackOff fault alone.
 */
export async function kwokStages(kwokModuleDir: string, crashLoopEveryMs: number): Promise<Stage[]> {
  const dir = join(kwokModuleDir, 'kustomize', 'stage');
  const stages = [
    ...(await load(join(dir, 'node', 'fast', 'node-initialize.yaml'))),
    ...(await load(join(dir, 'node', 'heartbeat-with-lease', 'node-heartbeat-with-lease.yaml'))),
    ...(await load(join(dir, 'pod', 'fast', 'pod-ready.yaml'))),
    ...(await load(join(dir, 'pod', 'general', 'pod-complete.yaml'))),
    ...(await load(join(dir, 'pod', 'fast', 'pod-delete.yaml'))),
  ];
  for (const s of stages) {
    if (s.metadata.name === 'pod-ready') {
      s.spec.selector.matchExpressions.push({
        key: `.metadata.annotations["${FAULT_ANNOTATION}"]`,
        operator: 'NotIn',
        values: ['ImagePullBackOff'],
      });
    }
  }
  return [...stages, ...faultStages(crashLoopEveryMs)];
}
