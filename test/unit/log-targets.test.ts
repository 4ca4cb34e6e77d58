import { expect } from 'chai';
import type { BoundCheck, LogSpec, SourceView } from '../../src/checks/types.js';
import { logSpecId, wantedLogs } from '../../src/controller/logs-targets.js';

const spec = (over: Partial<LogSpec> = {}): LogSpec => ({
  pods: { apiVersion: 'v1', plural: 'pods', kind: 'Pod', namespace: 'kaiwo-system', labelSelector: 'app=op' },
  container: 'manager',
  windowMs: 300_000,
  maxBytesPerSecond: 65536,
  maxPods: 5,
  ...over,
});
const pod = (name: string) => ({
  metadata: { name, namespace: 'kaiwo-system', uid: `uid-${name}` },
  spec: { nodeName: 'n', containers: [{ name: 'manager' }] },
  status: { phase: 'Running' },
});

describe('log targets', () => {
  it('logSpecId: equal specs share an id; any field that changes what is read changes it', () => {
    expect(logSpecId(spec())).to.equal(logSpecId(spec()));
    for (const over of [
      { container: 'proxy' },
      { windowMs: 60_000 },
      { maxBytesPerSecond: 1024 },
      { maxPods: 1 },
      { pods: { ...spec().pods, labelSelector: 'app=other' } },
    ]) {
      expect(logSpecId(spec(over))).to.not.equal(logSpecId(spec()));
    }
  });

  it("wantedLogs: each bound check's log specs with the containers of the pods its source lists now", () => {
    const pods: SourceView = { state: 'synced', objects: [pod('op-1'), pod('op-0')] };
    const check = { logs: { operator: spec() } } as unknown as BoundCheck;
    const wanted = wantedLogs([check], () => pods);
    expect(wanted).to.have.length(1);
    expect(wanted[0]?.targets).to.deep.equal([
      { namespace: 'kaiwo-system', pod: 'op-0', uid: 'uid-op-0', container: 'manager' },
      { namespace: 'kaiwo-system', pod: 'op-1', uid: 'uid-op-1', container: 'manager' },
    ]);
  });
});
