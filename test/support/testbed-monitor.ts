import type { KubeConfig } from '@kubernetes/client-node';
import { Monitors } from './fakes/monitors.js';
import { MonitorRecorder } from './fakes/scenarios.js';
import { CHECKS } from '../../src/checks/registry.js';
import type { TestBed } from '../../src/localcluster/testbed/testbed.js';
import { HttpStatusError } from '../../src/runtime/http.js';
import { rawJson } from '../../src/runtime/rawrequest.js';
import { OperatorProcess } from './operator.js';
import { waitFor } from './wait.js';

/** The monitor of a test-bed suite: the operator process and a recorder of every status it writes. */
export interface Watching {
  op?: OperatorProcess;
  recorder?: MonitorRecorder;
}

/** Creates KaiwoMonitor `name` with `spec`, starts recording its statuses and runs the operator against the test bed. */
export async function watchTestBed(tb: TestBed, name: string, spec: Record<string, unknown>, into: Watching): Promise<void> {
  await new Monitors(tb.kc).create(name, spec);
  into.recorder = new MonitorRecorder(tb.kc, name);
  into.recorder.start();
  into.op = await OperatorProcess.start(tb.kubeconfigPath);
}

/** A spec evaluated every 5 s with only the given checks' sections (as given) and every other check disabled. */
export function onlyChecks(sections: Record<string, Record<string, unknown>>): Record<string, unknown> {
  return {
    interval: '5s',
    ...Object.fromEntries(CHECKS.map((c) => [c.component, sections[c.component] ?? { enabled: false }])),
  };
}

/** Stops the operator, the recorder and the test bed, in that order. */
export async function stopTestBed(tb: TestBed, w: Watching): Promise<void> {
  await w.op?.stop();
  await w.recorder?.stop();
  await tb.stop();
}

/**
 * Status writes happen only on change, so "nothing (bad) was written" needs a marker: a spec change the suite's checks
 * do not act on (`workloads.maxPendingDuration` set to `maxPending`). Returns the new generation: once a status says
 * it observed that generation, the monitor has evaluated (and written) every verdict it reached before the change.
 */
export async function bumpGeneration(kc: KubeConfig, name: string, maxPending: string): Promise<number> {
  const patched = await rawJson<{ metadata: { generation?: number } }>(kc, {
    method: 'PATCH',
    path: `/apis/monitoring.kaiwo.silogen.ai/v1alpha1/kaiwomonitors/${name}`,
    body: { spec: { workloads: { maxPendingDuration: maxPending } } },
    contentType: 'application/merge-patch+json',
  });
  return patched.metadata.generation ?? 0;
}

export const QUEUE_CONFIG_PATH = '/apis/kaiwo.silogen.ai/v1alpha1/kaiwoqueueconfigs/kaiwo';

/** What the tests read and edit of KaiwoQueueConfig/kaiwo. */
export interface QueueConfig {
  metadata: { resourceVersion?: string; annotations?: Record<string, string> };
  spec: {
    clusterQueues?: { name: string; namespaces?: string[]; spec?: Record<string, unknown> }[];
    resourceFlavors?: { name: string; nodeLabels?: Record<string, string> }[];
  };
  status?: { status?: string };
}

/** Read-modify-write of KaiwoQueueConfig/kaiwo, again on a conflict (Kaiwo reconciles it on every update). */
export async function editQueueConfig(kc: KubeConfig, f: (qc: QueueConfig) => void): Promise<void> {
  await waitFor(
    'KaiwoQueueConfig updated',
    async () => {
      const qc = await rawJson<QueueConfig>(kc, { method: 'GET', path: QUEUE_CONFIG_PATH });
      f(qc);
      return rawJson(kc, { method: 'PUT', path: QUEUE_CONFIG_PATH, body: qc }).then(
        () => true,
        (err: unknown) => {
          if (err instanceof HttpStatusError && err.status === 409) return false;
          throw err;
        },
      );
    },
    30_000,
    100,
  );
}
