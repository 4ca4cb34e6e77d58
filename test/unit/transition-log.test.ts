import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import type { Condition, KaiwoMonitorStatus } from '../../src/api/types.js';
import { logTransitions } from '../../src/controller/reconciler.js';
import { createLogger } from '../../src/runtime/log.js';

const c = (type: string, status: Condition['status'], reason: string): Condition => ({
  type,
  status,
  reason,
  message: `${type} ${reason}`,
  lastTransitionTime: '2026-06-01T12:00:00Z',
  observedGeneration: 1,
});
const st = (...conditions: Condition[]): KaiwoMonitorStatus => ({ observedGeneration: 1, conditions });

function capture() {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  stream.on('data', (b: Buffer) =>
    lines.push(
      ...b
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    ),
  );
  const log = createLogger({ stream, level: 'info' }).child('reconciler', {
    controller: 'kaiwomonitor',
    monitor: 'prod',
    reconcileID: 'r-1',
  });
  return { log, lines };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('condition transition log', () => {
  it('writes one info line per transition with monitor, type, from → to, reason, reconcileID and controller', async () => {
    const { log, lines } = capture();
    const before = st(
      c('Ready', 'True', 'Reconciled'),
      c('Healthy', 'True', 'AllComponentsHealthy'),
      c('KueueHealthy', 'True', 'KueueHealthy'),
      c('GPUNodesHealthy', 'False', 'GPUNodesNotReady'),
    );
    const after = st(
      c('Ready', 'True', 'Reconciled'),
      c('Healthy', 'False', 'ComponentsUnhealthy'),
      c('KueueHealthy', 'False', 'ClusterQueueInactive'),
      c('GPUNodesHealthy', 'False', 'GPUsUnavailable'),
    );
    logTransitions(log, before, after);
    await tick();
    expect(lines.map((l) => [l.msg, l.level, l.type, l.from, l.to, l.reason])).to.deep.equal([
      ['condition changed', 'info', 'Healthy', 'True', 'False', 'ComponentsUnhealthy'],
      ['condition changed', 'info', 'KueueHealthy', 'True', 'False', 'ClusterQueueInactive'],
      ['condition changed', 'info', 'GPUNodesHealthy', 'False', 'False', 'GPUsUnavailable'],
    ]);
    expect(lines[1]).to.include({
      monitor: 'prod',
      reconcileID: 'r-1',
      controller: 'kaiwomonitor',
      logger: 'kaiwo-monitor.reconciler',
      conditionMessage: 'KueueHealthy ClusterQueueInactive',
    });
    expect(lines[2]).to.include({ previousReason: 'GPUNodesNotReady' });
    expect(lines[1]).to.not.have.property('previousReason');
  });

  it('logs a condition that appears with a verdict as none → status, and nothing when no condition changed', async () => {
    const { log, lines } = capture();
    logTransitions(log, undefined, st(c('Ready', 'Unknown', 'Initializing')));
    logTransitions(
      log,
      st(c('Ready', 'True', 'Reconciled')),
      st(c('Ready', 'True', 'Reconciled'), c('KueueHealthy', 'False', 'KueueNotInstalled')),
    );
    const same = st(c('Ready', 'True', 'Reconciled'));
    logTransitions(log, same, same);
    await tick();
    expect(lines.map((l) => [l.type, l.from, l.to])).to.deep.equal([['KueueHealthy', 'none', 'False']]);
  });
});
