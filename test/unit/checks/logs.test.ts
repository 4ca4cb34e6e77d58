import { expect } from 'chai';
import { applyDefaults } from '../../../src/api/defaults.js';
import { logsCheck, type LogsSpec } from '../../../src/checks/logs.js';
import { operatorCheck } from '../../../src/checks/operator.js';
import { type KaiwoMonitorSpec, specSchema } from '../../../src/checks/registry.js';
import type { LogBucket, LogErrorLine, LogStreamView, LogView } from '../../../src/checks/types.js';
import { sourceId } from '../../../src/controller/sources.js';
import { NOW, view } from '../../support/fixtures.js';

const spec = (over: object = {}): LogsSpec => applyDefaults<KaiwoMonitorSpec>(specSchema, { logs: { enabled: true, ...over } }).logs;
const secondsAgo = (s: number) => Math.floor((NOW.getTime() - s * 1000) / 1000) * 1000;
const line = (agoS: number, controller: string, name: string): LogErrorLine => ({
  at: secondsAgo(agoS),
  pod: 'kaiwo-controller-manager-0',
  container: 'manager',
  error: true,
  reconcileError: true,
  controller,
  object: { kind: 'KaiwoJob', namespace: 'ml', name },
  message: 'Reconciler error: token=[REDACTED] expired',
});
const stream = (buckets: LogBucket[], last: LogErrorLine[] = [], over: Partial<LogStreamView> = {}): LogStreamView => ({
  namespace: 'kaiwo-system',
  pod: 'kaiwo-controller-manager-0',
  container: 'manager',
  state: 'ok',
  buckets,
  last,
  ...over,
});
const logView = (...streams: LogStreamView[]): LogView => ({ state: 'ok', streams });
const data = { operatorPods: view([]) };
const run = (logs: Record<string, LogView> | undefined, over: object = {}, now = NOW) =>
  logsCheck.evaluate({ spec: spec(over), data, scrapes: {}, now, env: {}, ...(logs ? { logs } : {}) });

/** n Reconciler errors of one controller, one per second ending `endAgoS` seconds ago. */
const burst = (n: number, controller: string, endAgoS = 0): LogBucket[] =>
  Array.from({ length: n }, (_, i) => ({ at: secondsAgo(endAgoS + n - 1 - i), errors: 1, reconcileErrors: { [controller]: 1 } }));

describe('check: operator logs', () => {
  it('is off by default, and follows only the Kaiwo operator when enabled (Kueue optional)', () => {
    const defaults = applyDefaults<KaiwoMonitorSpec>(specSchema, {});
    expect(defaults.logs.enabled).to.equal(false);
    expect(Object.keys(logsCheck.logs?.(spec()) ?? {})).to.deep.equal(['operator']);
    expect(Object.keys(logsCheck.logs?.(spec({ kueue: { enabled: true } })) ?? {})).to.deep.equal(['operator', 'kueue']);
    // The pods are listed with the operator check's source (one informer).
    expect(sourceId(logsCheck.sources(spec(), {}).operatorPods!)).to.equal(sourceId(operatorCheck.sources(defaults.operator, {}).pods!));
  });

  it('is healthy below the thresholds, with the counts in its summary', () => {
    const r = run({ operator: logView(stream(burst(20, 'kaiwojob'))) });
    expect(r).to.include({ status: 'True', reason: 'OperatorLogsHealthy' });
    expect(r.summary?.counts).to.deep.equal({ streams: 1, errorLines: 20, reconcileErrors: 20 });
    expect(r.summary?.display).to.equal('20 errors/5m');
  });

  it('goes False (ReconcilerErrors) when one controller passes the rate, naming the controller, the object and the last (redacted) error', () => {
    const r = run({ operator: logView(stream(burst(30, 'kaiwojob'), [line(5, 'kaiwojob', 'train-1'), line(1, 'kaiwojob', 'train-2')])) });
    expect(r).to.include({ status: 'False', reason: 'ReconcilerErrors' });
    const f = r.findings.find((x) => x.reason === 'ReconcilerErrors');
    expect(f?.object).to.deep.equal({ kind: 'KaiwoJob', namespace: 'ml', name: 'train-2' });
    expect(f?.message).to.equal(
      'Kaiwo operator logs: 30 "Reconciler error" lines from controller kaiwojob in the last 5m (6.0/min, threshold 5/min); ' +
        'last (pod kaiwo-controller-manager-0): controller kaiwojob, KaiwoJob ml/train-2: Reconciler error: token=[REDACTED] expired',
    );
  });

  it('warns (LogErrors) about error lines of any kind above maxErrorsPerMinute', () => {
    const buckets = Array.from({ length: 60 }, (_, i) => ({ at: secondsAgo(i), errors: 1, reconcileErrors: {} }));
    const r = run({ operator: logView(stream(buckets)) });
    expect(r.status).to.equal('True');
    expect(r.findings.map((f) => f.reason)).to.deep.equal(['LogErrors']);
    expect(r.findings[0]?.message).to.include('60 error lines in the last 5m (12/min, threshold 10/min)');
  });

  it('sums the streams of all replicas, and recovers when the errors leave the window (re-evaluated then)', () => {
    const r = run({
      operator: logView(stream(burst(15, 'kaiwojob', 100)), stream(burst(15, 'kaiwojob', 100), [], { pod: 'kaiwo-controller-manager-1' })),
    });
    expect(r).to.include({ status: 'False', reason: 'ReconcilerErrors' });
    // The oldest counted second (114 s ago) leaves the 5m window 186 s from now.
    expect(r.nextCheckAt?.getTime()).to.equal(secondsAgo(114) + 1000 + 300_000);
    const two = { operator: logView(stream(burst(15, 'kaiwojob', 100)), stream(burst(15, 'kaiwojob', 100))) };
    const first = run(two, {}, new Date(r.nextCheckAt?.getTime() ?? 0));
    expect(first).to.include({ status: 'False' }); // 28 of 30 left: still 5.6/min
    expect(first.nextCheckAt?.getTime()).to.equal(secondsAgo(113) + 1000 + 300_000);
    // Once enough seconds left the window the component recovers without any new log line.
    expect(run(two, {}, new Date(secondsAgo(108) + 1000 + 300_000))).to.include({ status: 'True' });
  });

  it('is Unknown while streams connect, when pod logs are forbidden or no stream can be read, and without a Running pod; a failing replica is Info', () => {
    expect(run(undefined)).to.include({ status: 'Unknown', reason: 'NotObserved' });
    expect(run({ operator: { state: 'pending', streams: [] } })).to.include({ status: 'Unknown', reason: 'NotObserved' });
    const forbidden = run({
      operator: { state: 'failing', streams: [stream([], [], { state: 'failing', reason: 'LogsForbidden', error: 'HTTP 403' })] },
    });
    expect(forbidden).to.include({ status: 'Unknown', reason: 'LogsForbidden' });
    expect(forbidden.message).to.include('grant get on pods/log there (config/rbac/logs_role.yaml');
    expect(run({ operator: logView() })).to.include({ status: 'Unknown', reason: 'NoPodsToFollow' });
    const down = run({
      operator: {
        state: 'failing',
        streams: [
          stream([], [], {
            state: 'failing',
            reason: 'LogsUnavailable',
            error: 'HTTP 500: dial tcp 10.0.0.7:10250: connect: connection refused',
          }),
        ],
      },
    });
    expect(down).to.include({ status: 'Unknown', reason: 'LogsUnreadable' });
    expect(down.message).to.include('cannot read any log of Kaiwo operator (LogsUnavailable: HTTP 500: dial tcp');
    const dropped = run({
      operator: logView(stream([]), stream([], [], { pod: 'p2', state: 'failing', reason: 'ContainerNotRunning', error: 'HTTP 400' })),
    });
    expect(dropped.status).to.equal('True');
    expect(dropped.findings.map((f) => `${f.severity}:${f.reason}`)).to.deep.equal(['Info:LogStreamFailing']);
  });
});
