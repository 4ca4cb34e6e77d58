import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import type { ScrapeSpec } from '../../src/checks/types.js';
import { ScrapeManager } from '../../src/controller/scrapes.js';
import { memoryLogger } from '../support/log.js';
import { waitFor } from '../support/wait.js';

/** Metrics endpoints shared between monitors: one loop per endpoint, kept while any monitor uses it. */
describe('ScrapeManager reference counting (loopback endpoints)', () => {
  let server: Server;
  let base = '';
  const hits = new Map<string, number>();
  before(async () => {
    server = createServer((req, res) => {
      hits.set(req.url ?? '', (hits.get(req.url ?? '') ?? 0) + 1);
      res.end('up 1\n');
    });
    await new Promise<void>((r) =>
      server.listen(0, '127.0.0.1', () => {
        r();
      }),
    );
    const a = server.address();
    base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const spec = (path: string): ScrapeSpec => ({
    url: `${base}${path}`,
    intervalMs: 20,
    timeoutMs: 1000,
    maxBytes: 10_000,
    tls: { insecureSkipVerify: false },
    bearerToken: { source: 'None' },
    keep: [],
    historySize: 2,
  });
  const count = (path: string) => hits.get(path) ?? 0;

  it('scrapes an endpoint two monitors name in one loop, keeps it for the last user, and stops it after both let go', async () => {
    const notified: string[] = [];
    const m = new ScrapeManager(new KubeConfig(), memoryLogger(), (users) => notified.push([...users].sort().join('+')));
    try {
      m.use('a', [spec('/shared')]);
      m.use('b', [spec('/shared')]);
      m.use('control', [spec('/control')]);
      // One loop: every scrape of the shared endpoint re-evaluates both monitors together.
      await waitFor('3 scrapes of the shared endpoint', () => notified.filter((n) => n === 'a+b').length >= 3, 5000, 5);
      expect(
        notified.filter((n) => n !== 'control' && n !== 'a+b'),
        'notifications of a second loop',
      ).to.deep.equal([]);
      expect(m.view(spec('/shared'))).to.include({ state: 'ok' });

      m.release('a');
      const afterA = notified.length;
      await waitFor('scrapes for b alone', () => notified.slice(afterA).filter((n) => n === 'b').length >= 2, 5000, 5);
      expect(notified.slice(afterA).filter((n) => n.includes('a+'))).to.deep.equal([]);

      m.release('b');
      const stoppedAt = { hits: count('/shared'), notified: notified.length };
      // Measured: the control endpoint, on the same interval, is scraped 5 more times meanwhile.
      await waitFor('5 more control scrapes', () => notified.slice(stoppedAt.notified).filter((n) => n === 'control').length >= 5, 5000, 5);
      expect(
        notified.slice(stoppedAt.notified).filter((n) => n !== 'control'),
        'notifications after the last release',
      ).to.deep.equal([]);
      expect(count('/shared') - stoppedAt.hits, 'requests after the last release (one may have been in flight)').to.be.at.most(1);
      expect(m.view(spec('/shared'))).to.deep.equal({ state: 'pending', history: [] });
    } finally {
      m.stop();
    }
  });

  it('moves a monitor to a new endpoint set: the dropped endpoint stops, the kept one continues', async () => {
    const notified: string[] = [];
    const m = new ScrapeManager(new KubeConfig(), memoryLogger(), (users) => notified.push([...users].join('+')));
    try {
      m.use('a', [spec('/one'), spec('/two')]);
      await waitFor('both endpoints scraped', () => count('/one') >= 1 && count('/two') >= 1, 5000, 5);
      m.use('a', [spec('/two')]);
      const dropped = count('/one');
      const after = count('/two');
      await waitFor('5 more scrapes of the kept endpoint', () => count('/two') >= after + 5, 5000, 5);
      expect(count('/one') - dropped).to.be.at.most(1);
      expect(m.view(spec('/one')).state).to.equal('pending');
      expect(m.view(spec('/two')).state).to.equal('ok');
    } finally {
      m.stop();
    }
  });
});
