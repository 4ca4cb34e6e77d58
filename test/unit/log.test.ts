import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/runtime/log.js';

function capture(format: 'json' | 'console', level: 'info' | 'debug' = 'info') {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
  return { log: createLogger({ format, level, stream }), lines };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('structured logs', () => {
  it('writes JSON lines with ts, level, logger, msg and fields', async () => {
    const { log, lines } = capture('json');
    log.child('controller', { controller: 'kaiwomonitor' }).info('reconciled', { monitor: 'default' });
    await tick();
    expect(lines).to.have.length(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).to.include({
      level: 'info',
      logger: 'kaiwo-monitor.controller',
      msg: 'reconciled',
      controller: 'kaiwomonitor',
      monitor: 'default',
    });
    expect(Date.parse(line.ts as string)).to.be.a('number').and.not.NaN;
  });

  it('logs an error as its message only', async () => {
    const { log, lines } = capture('json');
    log.error('failed', { error: new Error('boom') });
    await tick();
    expect(JSON.parse(lines[0]!)).to.include({ error: 'boom' });
  });

  it('filters by level and has a console format', async () => {
    const { log, lines } = capture('console');
    log.debug('hidden');
    log.warn('shown', { n: 1 });
    await tick();
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/WARN\s+kaiwo-monitor: shown \{"n":1\}$/);
  });
});
