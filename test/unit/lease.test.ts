import { expect } from 'chai';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { LEASE_SKEW_TOLERANCE_MS, leaseFindings, NextCheck } from '../../src/checks/util.js';
import { Backoff } from '../../src/runtime/backoff.js';
import { Informer, type InformerState } from '../../src/runtime/informer.js';
import { createLogger } from '../../src/runtime/log.js';
import type { KubeObject } from '../../src/runtime/objects.js';
import { observationOf, recordObservation } from '../../src/runtime/observed.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const at = (offsetMs: number) => NOW.getTime() + offsetMs;
const iso = (offsetMs: number) => new Date(at(offsetMs)).toISOString();
const lease = (renewOffsetMs: number, rv = '1'): KubeObject => ({
  metadata: { name: 'l', namespace: 'ns', resourceVersion: rv },
  spec: { holderIdentity: 'holder-1', leaseDurationSeconds: 15, renewTime: iso(renewOffsetMs) },
});
const GRACE = 5000;
const LIMIT = 15_000 + GRACE;
const judge = (l: KubeObject, now = NOW) => {
  const next = new NextCheck(now);
  const findings = leaseFindings(l, 'Kueue', 'l', 'ns', GRACE, now, next);
  return { reasons: findings.map((f) => `${f.severity}/${f.reason}`), next: next.at, findings };
};

describe('Lease freshness without trusting remote clocks (client-go leader-election semantics)', () => {
  it('a renewTime in the past within the limit is healthy and re-checked exactly when it would expire', () => {
    const r = judge(lease(-3000));
    expect(r.reasons).to.deep.equal([]);
    expect(r.next).to.equal(at(-3000) + LIMIT + 1);
  });

  it('a renewTime older than the limit is expired when no later change was seen', () => {
    expect(judge(lease(-LIMIT - 1)).reasons).to.deep.equal(['Critical/LeaderLeaseExpired']);
    const l = lease(-LIMIT - 1);
    recordObservation(l, { firstSeen: at(-60_000) }); // seen, but never seen to change
    expect(judge(l).reasons).to.deep.equal(['Critical/LeaderLeaseExpired']);
  });

  it('a renewTime in the future is clock skew: a Warning, and the Lease is judged by when it was seen to change', () => {
    const l = lease(3_600_000);
    recordObservation(l, { firstSeen: at(-1000) });
    const fresh = judge(l);
    expect(fresh.reasons).to.deep.equal(['Warning/LeaseClockSkew']);
    expect(fresh.findings[0]?.message).to.include('60m in the future');
    expect(fresh.next).to.equal(at(-1000) + LIMIT + 1);
    // The holder died right after writing: nothing changes any more. It IS expired after leaseDuration + grace.
    const later = judge(l, new Date(at(-1000) + LIMIT + 1));
    expect(later.reasons).to.deep.equal(['Critical/LeaderLeaseExpired', 'Warning/LeaseClockSkew']);
    expect(later.findings[0]?.message).to.include('last change seen');
  });

  it('a skewed holder that keeps renewing stays healthy (its changes are seen)', () => {
    const l = lease(3_600_000, '7');
    recordObservation(l, { firstSeen: at(-600_000), changedAt: at(-2000) });
    expect(judge(l).reasons).to.deep.equal(['Warning/LeaseClockSkew']);
  });

  it('a holder whose clock lags is judged by the observed change, not its old-looking renewTime', () => {
    const l = lease(-120_000, '9');
    recordObservation(l, { firstSeen: at(-600_000), changedAt: at(-1000) });
    const r = judge(l);
    expect(r.reasons).to.deep.equal([]);
    expect(r.next).to.equal(at(-1000) + LIMIT + 1);
  });

  it('tolerates a renewTime slightly in the future (small skew, no warning)', () => {
    expect(judge(lease(LEASE_SKEW_TOLERANCE_MS - 1)).reasons).to.deep.equal([]);
    expect(judge(lease(LEASE_SKEW_TOLERANCE_MS + 1000)).reasons).to.deep.equal(['Warning/LeaseClockSkew']);
  });

  it('judges a skewed Lease without any observation from the evaluation time (never expired at once)', () => {
    expect(judge(lease(3_600_000)).reasons).to.deep.equal(['Warning/LeaseClockSkew']);
  });
});

/** A scripted API server for one Lease collection on 127.0.0.1. */
class FakeApi {
  rv = 1;
  lists = 0;
  watches = 0;
  streamingRejected = 0;
  /** What each watch request does, in order; later requests hang (kept open, no events). */
  watchScript: ((res: ServerResponse) => void)[] = [];
  private readonly server: Server;
  private readonly open = new Set<ServerResponse>();

  constructor() {
    this.server = createServer((req, res) => {
      this.handle(req, res);
    });
  }

  async start(): Promise<KubeConfig> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const a = this.server.address();
    const port = typeof a === 'object' && a ? a.port : 0;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'c', cluster: 'fake', user: 'u' }],
      currentContext: 'c',
    });
    return kc;
  }

  async stop(): Promise<void> {
    for (const r of this.open) r.destroy();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  leaseObject(): KubeObject {
    // Each resourceVersion is a renewal (a later renewTime): an update with the same content is no change.
    return {
      metadata: { name: 'l', namespace: 'ns', resourceVersion: String(this.rv) },
      spec: { holderIdentity: 'h', renewTime: iso(this.rv * 2000) },
    };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.searchParams.get('sendInitialEvents') === 'true') {
      // A server without streaming lists (before 1.27, or 1.33 with WatchList off): the informer pages instead.
      this.streamingRejected++;
      res
        .writeHead(422, { 'Content-Type': 'application/json' })
        .end(
          '{"kind":"Status","code":422,"message":"sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"}',
        );
      return;
    }
    if (url.searchParams.get('watch') !== '1') {
      this.lists++;
      res
        .writeHead(200, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ metadata: { resourceVersion: String(this.rv) }, items: [this.leaseObject()] }));
      return;
    }
    const step = this.watchScript[this.watches++];
    this.open.add(res);
    res.on('close', () => this.open.delete(res));
    if (step) step(res);
    else res.writeHead(200, { 'Content-Type': 'application/json' }).flushHeaders();
  }
}

async function until(what: string, pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('informer: observed change times and readiness after failures', () => {
  const log = createLogger({ level: 'error', format: 'json' });
  let api: FakeApi;
  let informer: Informer | undefined;

  beforeEach(() => {
    api = new FakeApi();
  });
  afterEach(async () => {
    await informer?.stop();
    informer = undefined;
    await api.stop();
  });

  it('records the first sighting, then the local time of each observed change; an unchanged relist keeps it', async () => {
    const kc = await api.start();
    let stream: ServerResponse | undefined;
    api.watchScript = [
      (res) => {
        stream = res;
        res.writeHead(200, { 'Content-Type': 'application/json' }).flushHeaders();
      },
    ];
    const before = Date.now();
    informer = new Informer(kc, { path: '/apis/coordination.k8s.io/v1/namespaces/ns/leases', log, backoff: new Backoff(10, 50) });
    informer.start();
    await until('first list and watch', () => informer?.get('ns/l') !== undefined && stream !== undefined);
    const first = observationOf(informer.get('ns/l') ?? {});
    expect(first?.firstSeen).to.be.at.least(before);
    expect(first?.changedAt).to.equal(undefined);

    api.rv = 2;
    const sent = Date.now();
    stream?.write(`${JSON.stringify({ type: 'MODIFIED', object: api.leaseObject() })}\n`);
    await until('the change', () => informer?.get('ns/l')?.metadata.resourceVersion === '2');
    const changed = observationOf(informer.get('ns/l') ?? {});
    expect(changed?.firstSeen).to.equal(first?.firstSeen);
    expect(changed?.changedAt).to.be.at.least(sent);

    const watched = informer.get('ns/l');
    stream?.end(`${JSON.stringify({ type: 'ERROR', object: { code: 410, message: 'too old' } })}\n`);
    await until('relist after 410', () => informer?.get('ns/l') !== watched);
    const relisted = informer.get('ns/l');
    expect(api.lists).to.equal(2);
    expect(api.streamingRejected, 'asked for a streaming list once, then paged for good').to.equal(1);
    expect(informer.listMode).to.equal('pages');
    expect(observationOf(relisted ?? {})).to.deep.equal(changed); // same resourceVersion: not a change
  });

  it('is synced again as soon as a list succeeds after a failed watch, with no watch event needed', async () => {
    const kc = await api.start();
    api.watchScript = [
      (res) => {
        res.writeHead(500).end('{"message":"apiserver restarting"}');
      },
    ];
    const states: InformerState[] = [];
    informer = new Informer(kc, { path: '/apis/coordination.k8s.io/v1/namespaces/ns/leases', log, backoff: new Backoff(10, 50) });
    informer.onState((s) => states.push(s));
    informer.start();
    await until('failing, then synced again', () => states.join(',') === 'synced,failing,synced');
    expect(informer.synced).to.equal(true);
    expect(api.lists).to.equal(2);
  });
});
