import { expect } from 'chai';
import { slimNode } from '../../src/checks/gpu-nodes.js';
import { CheckMemo } from '../../src/controller/evaluate.js';
import type { ComponentOutcome } from '../../src/controller/status.js';
import type { KubeObject } from '../../src/runtime/objects.js';
import { sameContent } from '../../src/runtime/same-content.js';

const node = (rv: string, beat: string, ready = 'True'): KubeObject => ({
  apiVersion: 'v1', kind: 'Node', metadata: { name: 'n', resourceVersion: rv, labels: { a: 'b' } },
  status: { images: [{ names: ['x'] }], conditions: [{ type: 'Ready', status: ready, lastHeartbeatTime: beat, lastTransitionTime: '2026-01-01T00:00:00Z' }], allocatable: { 'amd.com/gpu': '8' } },
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
      expect(sameContent({ metadata: { name: 'x' }, spec: { a: undefined } }, { metadata: { name: 'x' }, spec: { b: undefined } })).to.equal(false);
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
      expect(sameContent({ metadata: { name: 'x' }, spec: { a: [1, { b: 2 }] } }, { metadata: { name: 'x' }, spec: { a: [1, { b: 2 }] } }, 10)).to.equal(true);
    });
  });

  it('slimNode drops heartbeat times, so two heartbeats of a node project to the same content; a Ready change does not', () => {
    const a = slimNode(node('1', '2026-01-01T00:00:10Z'));
    expect(sameContent(a, slimNode(node('2', '2026-01-01T00:00:20Z')))).to.equal(true);
    expect(sameContent(a, slimNode(node('3', '2026-01-01T00:00:30Z', 'False')))).to.equal(false);
    expect((a.status as { images?: unknown }).images).to.equal(undefined);
    expect(slimNode({ metadata: { name: 'n' }, status: { conditions: ['junk', null] } }).status).to.deep.equal({ conditions: ['junk', null] });
  });

  describe('CheckMemo', () => {
    const outcome = (message: string, nextCheckAt?: number): ComponentOutcome => ({
      component: 'kueue', conditionType: 'KueueHealthy', label: 'Kueue', enabled: true,
      result: { status: 'True', reason: 'KueueHealthy', message, findings: [], ...(nextCheckAt !== undefined ? { nextCheckAt: new Date(nextCheckAt) } : {}) },
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
});
