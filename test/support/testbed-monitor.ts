import { Monitors } from '../../src/dev/monitors.js';
import { MonitorRecorder } from '../../src/dev/scenarios.js';
import type { TestBed } from '../../src/dev/testbed/testbed.js';
import { OperatorProcess } from './operator.js';

/** The monitor of a test-bed suite: the operator process and a recorder of every status it writes. */
export interface Watching { op?: OperatorProcess; recorder?: MonitorRecorder }

/** Creates KaiwoMonitor `name` with `spec`, starts recording its statuses and runs the operator against the test bed. */
export async function watchTestBed(tb: TestBed, name: string, spec: Record<string, unknown>, into: Watching): Promise<void> {
  await new Monitors(tb.kc).create(name, spec);
  into.recorder = new MonitorRecorder(tb.kc, name);
  into.recorder.start();
  into.op = await OperatorProcess.start(tb.kubeconfigPath);
}

/** Stops the operator, the recorder and the test bed, in that order. */
export async function stopTestBed(tb: TestBed, w: Watching): Promise<void> {
  await w.op?.stop();
  await w.recorder?.stop();
  await tb.stop();
}
