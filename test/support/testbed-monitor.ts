import type { KubeConfig } from '@kubernetes/client-node';
import type { KaiwoMonitor } from '../../src/api/types.js';
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

/** One status the recorder saw, with when. */
export type Seen = MonitorRecorder['seen'][number];

/**
 * What a test-bed suite does with its recorder: wait for the first status since a time that satisfies a rule (a
 * timeout says what the last status held, as `show` renders it), and keep the measured cause → status times for the
 * suite's closing report.
 */
export function observe(
  state: Watching,
  opts: { log: (m: string) => void; show: (m: KaiwoMonitor) => unknown; timeoutMs: number; pollMs?: number },
) {
  const rec = (): MonitorRecorder => {
    if (!state.recorder) throw new Error('monitor not recording');
    return state.recorder;
  };
  const detections: [string, number][] = [];
  const last = () => JSON.stringify(opts.show(rec().seen.at(-1)?.monitor ?? ({} as KaiwoMonitor)));
  return {
    rec,
    detections,
    /** The first status written since `since` that satisfies `f`. */
    seenSince: (what: string, since: number, f: (m: KaiwoMonitor, x: Seen) => boolean, timeoutMs = opts.timeoutMs) =>
      waitFor(what, () => rec().seen.find((x) => x.at >= since && f(x.monitor, x)), timeoutMs, opts.pollMs ?? 100).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}; last status: ${last()}`, { cause: err });
      }),
    /** Records (and logs) the time from `since` to the status `x`; returns it. */
    detected: (name: string, since: number, x: { at: number }): number => {
      const ms = Math.max(0, x.at - since);
      detections.push([name, ms]);
      opts.log(`${name}: ${ms} ms`);
      return ms;
    },
    /** The measured times under `title`, for the suite's after hook. */
    report: (title: string): void => {
      if (detections.length)
        process.stderr.write(
          `\n      ${title}:\n${detections.map(([n, ms]) => `        ${String(ms).padStart(6)} ms  ${n}`).join('\n')}\n`,
        );
    },
  };
}

/** The findings of a status as one line each, for a timeout's message. */
export const findingLines = (m: KaiwoMonitor, component?: string): string[] =>
  (m.status?.findings ?? [])
    .filter((f) => component === undefined || f.component === component)
    .map((f) => `${f.component} ${f.severity}/${f.reason}: ${f.message}`);

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
