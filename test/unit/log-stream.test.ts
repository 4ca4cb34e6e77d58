import { expect } from 'chai';
import { logUrl, reasonOf, ReplaySkip } from '../../src/controller/logs-stream.js';
import { splitTimestamp } from '../../src/sources/zaplog.js';

const ts = (raw: string) => {
  const t = splitTimestamp(`${raw} x`);
  if (!t) throw new Error(`not a timestamp: ${raw}`);
  return t;
};
const target = { namespace: 'kaiwo-system', pod: 'op-0', uid: 'u1', container: 'manager' };

describe('log stream: reconnect de-duplication (ReplaySkip)', () => {
  it("reads every line before the first reconnect, and resumes from the last line's time", () => {
    const r = new ReplaySkip();
    expect(r.reconnect()).to.equal(undefined);
    expect([ts('2026-06-01T12:00:00.5Z'), ts('2026-06-01T12:00:01.25Z')].map((t) => r.isNew(t))).to.deep.equal([true, true]);
    expect(r.reconnect()).to.equal(Date.parse('2026-06-01T12:00:01.250Z'));
  });

  it('after a reconnect skips the lines before the last one and the last one itself, then reads on', () => {
    const r = new ReplaySkip();
    r.reconnect();
    r.isNew(ts('2026-06-01T12:00:01.1Z'));
    r.isNew(ts('2026-06-01T12:00:01.2Z'));
    r.reconnect();
    const again = ['2026-06-01T12:00:01.1Z', '2026-06-01T12:00:01.2Z', '2026-06-01T12:00:01.3Z', '2026-06-01T12:00:01.2Z'];
    expect(again.map((t) => r.isNew(ts(t)))).to.deep.equal([false, false, true, true]);
  });

  it('skips exactly as many lines at the last timestamp as were read (a batch shares one)', () => {
    const r = new ReplaySkip();
    r.reconnect();
    const batch = '2026-06-01T12:00:02.5Z';
    for (let i = 0; i < 3; i++) r.isNew(ts(batch));
    r.reconnect();
    expect([batch, batch, batch, batch].map((t) => r.isNew(ts(t)))).to.deep.equal([false, false, false, true]);
  });
});

describe('log stream: requests and failures', () => {
  it('asks back the window first, from a whole second after that', () => {
    expect(logUrl(target, true, 300_000, undefined)).to.equal(
      '/api/v1/namespaces/kaiwo-system/pods/op-0/log?container=manager&timestamps=true&follow=true&sinceSeconds=300',
    );
    expect(logUrl(target, false, 1500, undefined)).to.match(/follow=false&sinceSeconds=2$/);
    expect(logUrl(target, true, 300_000, Date.parse('2026-06-01T12:00:01.250Z'))).to.match(/&sinceTime=2026-06-01T12%3A00%3A01Z$/);
    expect(logUrl({ ...target, namespace: 'a/b', pod: 'p q' }, true, 1000, undefined)).to.contain('/namespaces/a%2Fb/pods/p%20q/log?');
  });

  it('names why a request failed', () => {
    expect([401, 403].map((s) => reasonOf(s, ''))).to.deep.equal(['LogsForbidden', 'LogsForbidden']);
    expect(reasonOf(404, '')).to.equal('PodNotFound');
    expect(reasonOf(400, 'container "manager" in pod "op-0" is waiting to start: ContainerCreating')).to.equal('ContainerNotRunning');
    expect(reasonOf(400, 'bad')).to.equal('LogsBadRequest');
    expect(reasonOf(500, '')).to.equal('LogsUnavailable');
  });
});
