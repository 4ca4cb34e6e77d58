import { expect } from 'chai';
import { slimNode } from '../../src/checks/gpu-nodes.js';
import { quietRenewal } from '../../src/checks/util.js';
import { recordObservation } from '../../src/runtime/observed.js';
import { CheckMemo } from '../../src/controller/evaluate.js';
import type { ComponentOutcome } from '../../src/controller/status.js';
import type { KubeObject } from '../../src/runtime/objects.js';
import { sameContent } from '../../src/runtime/same-content.js';
import { intern, internObject } from '../../src/runtime/intern.js';

const node = (rv: string, beat: string, ready = 'True'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'n', resourceVersion: rv, labels: { a: 'b' } },
  status: {
    images: [{ names: ['x'] }],
    conditions: [{ type: 'Ready', status: ready, lastHeartbeatTime: beat, lastTransitionTime: '2026-01-01T00:00:00Z' }],
    allocatable: { 'amd.com/gpu': '8' },
  },
});

describe('incremental evaluation: no-op updates and reused check outcomes', () => {
  describe('sameContent', () => {
    it('ignores only metadata.resourceVersion, and apiVersion/kind (list items have none, watch events do)', () => {
      const a = node('1', 't1');
      expect(sameContent(a, { ...a, metadata: { ...a.metadata, resourceVersion: '2' } })).to.equal(true);
      const { apiVersion: _v, kind: _k, ...listItem } = a;
      expect(sameContent(a, listItem)).to.equal(true);
      expect(sameContent(a, { ...a, metadata: { ...a.metadata, labels: { a: 'c' } } })).to.equal(false);
      expect(sameContent(a, { ...a, metadata: { ...a.metadata, generation: 2 } })).to.equal(false);
      expect(sameContent(a, node('2', 't2'))).to.equal(false);
      expect(sameContent({ metadata: { name: 'x' }, spec: [1, 2] }, { metadata: { name: 'x' }, spec: { 0: 1, 1: 2 } })).to.equal(false);
      expect(
        sameContent({ metadata: { name: 'x' }, spec: { a: undefined } }, { metadata: { name: 'x' }, spec: { b: undefined } }),
      ).to.equal(false);
      expect(sameContent({ metadata: { name: 'x' }, spec: null }, { metadata: { name: 'x' }, spec: {} })).to.equal(false);
    });

    it('survives a hostile 200,000-deep object and answers "different" past its budget', () => {
      const deep = () => {
        let o: Record<string, unknown> = {};
        const root = o;
        for (let i = 0; i < 200_000; i++) o = o.x = {};
        return root;
      };
      expect(sameContent({ metadata: { name: 'x' }, spec: deep() }, { metadata: { name: 'x' }, spec: deep() })).to.equal(false);
      expect(
        sameContent({ metadata: { name: 'x' }, spec: { a: [1, { b: 2 }] } }, { metadata: { name: 'x' }, spec: { a: [1, { b: 2 }] } }, 10),
      ).to.equal(true);
    });
  });

  it('slimNode drops heartbeat times, so two heartbeats of a node project to the same content; a Ready change does not', () => {
    const a = slimNode(node('1', '2026-01-01T00:00:10Z'));
    expect(sameContent(a, slimNode(node('2', '2026-01-01T00:00:20Z')))).to.equal(true);
    expect(sameContent(a, slimNode(node('3', '2026-01-01T00:00:30Z', 'False')))).to.equal(false);
    expect((a.status as { images?: unknown }).images).to.equal(undefined);
    expect(slimNode({ metadata: { name: 'n' }, status: { conditions: ['junk', null] } }).status).to.deep.equal({
      conditions: ['junk', null],
    });
  });

  describe('CheckMemo', () => {
    const outcome = (message: string, nextCheckAt?: number): ComponentOutcome => ({
      component: 'kueue',
      conditionType: 'KueueHealthy',
      label: 'Kueue',
      enabled: true,
      result: {
        status: 'True',
        reason: 'KueueHealthy',
        message,
        findings: [],
        ...(nextCheckAt !== undefined ? { nextCheckAt: new Date(nextCheckAt) } : {}),
      },
    });
    const viewA = { state: 'synced', objects: [] };
    const viewB = { state: 'synced', objects: [] };

    it('reuses an outcome while every input is the same object, and not once one input changed', () => {
      const memo = new CheckMemo(30_000);
      memo.reset('uid/1', 30_000);
      memo.set('kueue', [viewA, viewB], 1000, outcome('first'));
      expect(memo.get('kueue', [viewA, viewB], 2000)?.result?.message).to.equal('first');
      expect(memo.get('kueue', [viewA, { ...viewB }], 2000), 'an equal but new view is a change').to.equal(undefined);
      expect(memo.get('kueue', [viewA], 2000)).to.equal(undefined);
      expect(memo.get('operator', [viewA, viewB], 2000)).to.equal(undefined);
    });

    it('expires at nextCheckAt (time-based rules) or after the interval, whichever is first', () => {
      const memo = new CheckMemo(30_000);
      memo.set('kueue', [viewA], 1000, outcome('timed', 5000));
      expect(memo.get('kueue', [viewA], 4999)).not.to.equal(undefined);
      expect(memo.get('kueue', [viewA], 5000)).to.equal(undefined);
      expect(memo.nextExpiry()).to.equal(5000);
      memo.set('kueue', [viewA], 1000, outcome('untimed'));
      expect(memo.get('kueue', [viewA], 30_999)).not.to.equal(undefined);
      expect(memo.get('kueue', [viewA], 31_000)).to.equal(undefined);
    });

    it('forgets everything when the spec changes (a new generation) or the interval does', () => {
      const memo = new CheckMemo(30_000);
      memo.reset('uid/1', 30_000);
      memo.set('kueue', [viewA], 1000, outcome('gen1'));
      memo.reset('uid/1', 30_000);
      expect(memo.get('kueue', [viewA], 1001)).not.to.equal(undefined);
      memo.reset('uid/2', 30_000);
      expect(memo.get('kueue', [viewA], 1001)).to.equal(undefined);
      memo.set('kueue', [viewA], 1000, outcome('gen2'));
      memo.reset('uid/2', 10_000);
      expect(memo.get('kueue', [viewA], 1001)).to.equal(undefined);
    });
  });

  describe('quietRenewal (a fresh Lease renewed wakes no monitor)', () => {
    const NOW = Date.parse('2026-06-01T12:00:00Z');
    const lease = (renewOffsetMs: number, spec: Record<string, unknown> = {}): KubeObject => ({
      metadata: { name: 'l', namespace: 'ns' },
      spec: {
        holderIdentity: 'pod-a',
        leaseDurationSeconds: 15,
        leaseTransitions: 3,
        acquireTime: '2026-06-01T11:00:00.000000Z',
        renewTime: new Date(NOW + renewOffsetMs).toISOString(),
        ...spec,
      },
    });

    it('is quiet for the same holder renewing a Lease renewed within its duration', () => {
      expect(quietRenewal(lease(-2000), lease(0), NOW)).to.equal(true);
      expect(quietRenewal(lease(-14_000), lease(0), NOW)).to.equal(true);
    });

    it('is a change when the Lease was stale, changes holder or transitions, is released, or a clock is skewed', () => {
      expect(quietRenewal(lease(-16_000), lease(0), NOW), 'renewed after it expired: a recovery').to.equal(false);
      expect(quietRenewal(lease(-2000), lease(0, { holderIdentity: 'pod-b' }), NOW)).to.equal(false);
      expect(quietRenewal(lease(-2000), lease(0, { leaseTransitions: 4 }), NOW)).to.equal(false);
      expect(quietRenewal(lease(-2000), lease(0, { holderIdentity: undefined, leaseDurationSeconds: 1 }), NOW), 'released').to.equal(false);
      expect(quietRenewal(lease(-2000, { holderIdentity: undefined }), lease(0), NOW), 'taken after a release').to.equal(false);
      expect(quietRenewal(lease(-2000), lease(60_000), NOW), 'renewTime in the future').to.equal(false);
      expect(quietRenewal(lease(0), lease(-2000), NOW), 'renewTime going back').to.equal(false);
      expect(quietRenewal(lease(-2000), lease(0, { renewTime: 'garbage' }), NOW)).to.equal(false);
    });

    it("counts a change this process saw recently as fresh even when the holder's renewTime is old (skewed clock)", () => {
      const old = lease(-600_000);
      expect(quietRenewal(old, lease(-598_000), NOW)).to.equal(false);
      recordObservation(old, { firstSeen: NOW - 900_000, changedAt: NOW - 1000 });
      expect(quietRenewal(old, lease(-598_000), NOW)).to.equal(true);
    });
  });

  describe('interning (compact caches)', () => {
    it('keeps every value as it was, in place, and copes with odd shapes and hostile depth', () => {
      const o: KubeObject = {
        metadata: { name: 'n', namespace: 'ns', uid: 'u', labels: { a: 'b' } },
        status: { conditions: [{ type: 'Ready', status: 'True' }, 'x', 3, null], s: 'y' },
      };
      const copy = structuredClone(o);
      expect(internObject(o)).to.equal(o);
      expect(o).to.deep.equal(copy);
      let deep: Record<string, unknown> = {};
      const root = deep;
      for (let i = 0; i < 100_000; i++) deep = deep.x = { v: 'z' };
      expect(() => internObject({ metadata: { name: 'd' }, spec: root })).not.to.throw();
    });

    it('returns long strings as they are and survives more distinct strings than its table holds', () => {
      const long = 'x'.repeat(1000);
      expect(intern(long)).to.equal(long);
      let same = 0;
      for (let i = 0; i < 200_000; i++) if (intern(`s${i}`) === `s${i}`) same++;
      expect(same).to.equal(200_000);
    });
  });
});
