import { expect } from 'chai';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { LogSpec } from '../../src/checks/types.js';
import { LogManager, logTargets, OPEN_AFTER_MS } from '../../src/controller/logs.js';
import { fetchLines } from '../../src/runtime/http.js';
import { createLogger } from '../../src/runtime/log.js';
import { waitFor } from '../support/wait.js';

/** A stand-in API server for pods/log: each request is handed to the next handler (the last one repeats). */
class FakeApi {
  readonly requests: URL[] = [];
  handlers: ((req: IncomingMessage, res: ServerResponse) => void)[] = [];
  open = 0;
  private constructor(private readonly server: Server) {}

  static async start(): Promise<FakeApi> {
    const holder: { api?: FakeApi } = {};
    const server = createServer((req, res) => {
      const a = holder.api;
      if (!a) return;
      a.requests.push(new URL(req.url ?? '/', 'http://x'));
      a.open++;
      res.on('close', () => {
        a.open--;
      });
      const h = a.handlers[Math.min(a.requests.length - 1, a.handlers.length - 1)];
      if (h) h(req, res);
      else res.writeHead(500).end();
    });
    await new Promise<void>((r) =>
      server.listen(0, '127.0.0.1', () => {
        r();
      }),
    );
    holder.api = new FakeApi(server);
    return holder.api;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: `http://127.0.0.1:${this.port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'c', cluster: 'fake', user: 'u' }],
      currentContext: 'c',
    });
    return kc;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

const iso = (ms: number, nanos = '') => new Date(ms).toISOString().replace(/\.\d{3}Z$/, nanos ? `.${nanos}Z` : 'Z');
const reconcileError = (controller: string, name: string) =>
  JSON.stringify({
    level: 'error',
    msg: 'Reconciler error',
    controller,
    controllerKind: 'KaiwoJob',
    namespace: 'ml',
    name,
    error: 'token=abcdefgh1234 expired',
  });
const info = JSON.stringify({ level: 'info', msg: 'Starting workers' });

const spec = (over: Partial<LogSpec> = {}): LogSpec => ({
  pods: { apiVersion: 'v1', plural: 'pods', kind: 'Pod', namespace: 'kaiwo-system', labelSelector: 'app=op' },
  container: 'manager',
  windowMs: 300_000,
  maxBytesPerSecond: 65536,
  maxPods: 5,
  ...over,
});
const target = { namespace: 'kaiwo-system', pod: 'op-0', uid: 'u1', container: 'manager' };
const quiet = () => createLogger({ level: 'error' });

describe('container log streams (LogManager over pods/log)', () => {
  let api: FakeApi;
  let logs: LogManager | undefined;
  beforeEach(async () => {
    api = await FakeApi.start();
  });
  afterEach(async () => {
    logs?.stop();
    await api.close();
  });

  it('reads back the window, counts error lines per second and Reconciler errors by controller, keeps the last lines redacted', async () => {
    const now = Date.now();
    api.handlers = [
      (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write(`${iso(now - 600_000)} ${reconcileError('kaiwojob', 'old')}\n`); // outside the window
        res.write(
          `${iso(now - 60_000)} ${reconcileError('kaiwojob', 'a')}\n${iso(now - 60_000, '5')} ${reconcileError('kaiwojob', 'b')}\n`,
        );
        res.write(
          `${iso(now - 30_000)} ${info}\n${iso(now - 20_000)} {"level":"error","msg":"failed to list","error":"Bearer abcdefghijklmnop"}\n`,
        );
        res.write('\tgoroutine stack trace line\n'); // stays open: follow
      },
    ];
    const notified: string[] = [];
    logs = new LogManager(api.kubeConfig(), quiet(), (m) => {
      notified.push(...m);
    });
    logs.use('mon', [{ spec: spec(), targets: [target] }]);
    const view = await waitFor(
      'three error lines counted',
      () => {
        const v = logs?.view(spec());
        return v && v.streams[0]?.last.length === 3 ? v : undefined;
      },
      5000,
      20,
    );
    expect(view.state).to.equal('ok');
    const s = view.streams[0];
    expect(s?.buckets.map((b) => [b.errors, b.reconcileErrors])).to.deep.equal([
      [2, { kaiwojob: 2 }],
      [1, {}],
    ]);
    expect(s?.last.map((l) => l.message)).to.deep.equal([
      'Reconciler error: token=[REDACTED] expired',
      'Reconciler error: token=[REDACTED] expired',
      'failed to list: Bearer [REDACTED]',
    ]);
    expect(s?.last[1]?.object).to.deep.equal({ kind: 'KaiwoJob', namespace: 'ml', name: 'b' });
    const q = api.requests[0];
    expect(q?.pathname).to.equal('/api/v1/namespaces/kaiwo-system/pods/op-0/log');
    expect(Object.fromEntries(q?.searchParams ?? [])).to.deep.equal({
      container: 'manager',
      timestamps: 'true',
      follow: 'true',
      sinceSeconds: '300',
    });
    await waitFor('the monitor re-evaluated after the error lines', () => notified.includes('mon'), 3000, 20);
  });

  it('reconnects after a drop from its last line (sinceTime) and does not count lines twice', async () => {
    const now = Date.now();
    const first = `${iso(now - 5000, '100')} ${reconcileError('kaiwojob', 'a')}`;
    api.handlers = [
      (_req, res) => {
        res.writeHead(200);
        res.end(`${first}\n`);
      }, // the stream drops
      (_req, res) => {
        res.writeHead(200);
        // The API server answers sinceTime at second precision: the last line comes again, then a new one.
        res.write(`${first}\n${iso(now - 4000)} ${reconcileError('kaiwojob', 'c')}\n`);
      },
    ];
    logs = new LogManager(api.kubeConfig(), quiet(), () => undefined);
    logs.use('mon', [{ spec: spec(), targets: [target] }]);
    await waitFor('two requests', () => api.requests.length >= 2, 5000, 20);
    const s = await waitFor(
      'the new line',
      () => logs?.view(spec()).streams[0]?.last.find((l) => l.object?.name === 'c') && logs.view(spec()).streams[0],
      5000,
      20,
    );
    expect(s.buckets.reduce((a, b) => a + b.errors, 0)).to.equal(2);
    expect(api.requests[1]?.searchParams.get('sinceTime')).to.equal(iso(Math.floor((now - 5000) / 1000) * 1000));
    expect(api.requests[1]?.searchParams.has('sinceSeconds')).to.equal(false);
  });

  it('counts lines that share one timestamp (a batch), and skips exactly those again after a reconnect', async () => {
    const ts = iso(Date.now() - 3000, '500000000');
    const batch = [0, 1, 2].map((i) => `${ts} ${reconcileError('kaiwojob', `b${i}`)}`).join('\n');
    api.handlers = [
      (_req, res) => {
        res.writeHead(200);
        res.end(`${batch}\n`);
      },
      (_req, res) => {
        res.writeHead(200);
        res.write(`${batch}\n${ts} ${reconcileError('kaiwojob', 'b3')}\n`);
      },
    ];
    logs = new LogManager(api.kubeConfig(), quiet(), () => undefined);
    logs.use('mon', [{ spec: spec(), targets: [target] }]);
    const s = await waitFor(
      'the fourth line',
      () => logs?.view(spec()).streams[0]?.last.find((l) => l.object?.name === 'b3') && logs.view(spec()).streams[0],
      5000,
      20,
    );
    expect(s.buckets.reduce((a, b) => a + b.errors, 0)).to.equal(4);
    expect(s.last.map((l) => l.object?.name)).to.deep.equal(['b0', 'b1', 'b2', 'b3']);
  });

  it('reports a forbidden log as failing (LogsForbidden) and stops the stream when no monitor wants it', async () => {
    api.handlers = [
      (_req, res) => {
        res
          .writeHead(403, { 'Content-Type': 'application/json' })
          .end('{"message":"pods \\"op-0\\" is forbidden: cannot get resource \\"pods/log\\""}');
      },
    ];
    logs = new LogManager(api.kubeConfig(), quiet(), () => undefined);
    logs.use('mon', [{ spec: spec(), targets: [target] }]);
    const v = await waitFor(
      'failing',
      () => {
        const x = logs?.view(spec());
        return x?.state === 'failing' ? x : undefined;
      },
      5000,
      20,
    );
    expect(v.streams[0]).to.include({ reason: 'LogsForbidden' });
    expect(v.streams[0]?.error).to.include('cannot get resource');
    api.handlers = [
      (_req, res) => {
        res.writeHead(200);
        res.write(`${iso(Date.now())} ${info}\n`);
      },
    ];
    logs.use('mon', [{ spec: spec(), targets: [{ ...target, pod: 'op-1', uid: 'u2' }] }]);
    await waitFor('the new pod streaming', () => api.open === 1 && logs?.view(spec()).state === 'ok', 5000, 20);
    logs.release('mon');
    await waitFor('the stream closed', () => api.open === 0, 5000, 20);
    expect(logs.view(spec()).state).to.equal('pending');
  });

  it('shares one stream between the monitors naming it, and stops it when the last one lets go', async () => {
    api.handlers = [
      (_req, res) => {
        res.writeHead(200);
        res.write(`${iso(Date.now())} ${info}\n`);
      },
    ];
    logs = new LogManager(api.kubeConfig(), quiet(), () => undefined);
    logs.use('a', [{ spec: spec(), targets: [target] }]);
    logs.use('b', [{ spec: spec(), targets: [target] }]);
    await waitFor('one stream open', () => api.open === 1 && logs?.view(spec()).state === 'ok', 5000, 20);
    logs.release('a');
    expect(logs.view(spec()).streams).to.have.length(1);
    logs.use('b', []);
    await waitFor('the stream closed', () => api.open === 0, 5000, 20);
    expect(api.requests).to.have.length(1);
  });

  it('retries a forbidden log and follows it once access is granted', async () => {
    const forbidden = (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(403).end('{"message":"forbidden"}');
    };
    api.handlers = [
      forbidden,
      forbidden,
      (_req, res) => {
        res.writeHead(200);
        res.write(`${iso(Date.now())} ${reconcileError('kaiwojob', 'x')}\n`);
      },
    ];
    logs = new LogManager(api.kubeConfig(), quiet(), () => undefined);
    logs.use('mon', [{ spec: spec(), targets: [target] }]);
    await waitFor('failing', () => logs?.view(spec()).state === 'failing', 5000, 20);
    const v = await waitFor(
      'streaming after the grant',
      () => {
        const x = logs?.view(spec());
        return x?.state === 'ok' && x.streams[0]?.buckets.length ? x : undefined;
      },
      10_000,
      20,
    );
    expect(v.streams[0]?.reason).to.equal(undefined);
    expect(api.requests).to.have.length(3);
  });

  it('counts a follow request on a quiet container as open although no header came yet (the kubelet sends them with the first line)', async () => {
    api.handlers = [() => undefined]; // never answers, like a kubelet with nothing to send
    logs = new LogManager(api.kubeConfig(), quiet(), () => undefined);
    logs.use('mon', [{ spec: spec(), targets: [target] }]);
    expect(logs.view(spec()).state).to.equal('pending');
    await waitFor('open', () => logs?.view(spec()).state === 'ok', OPEN_AFTER_MS + 3000, 50);
    expect(api.requests).to.have.length(1);
  });

  it('one-shot mode reads each log once (follow=false)', async () => {
    api.handlers = [
      (_req, res) => {
        res.writeHead(200);
        res.end(`${iso(Date.now() - 1000)} ${reconcileError('kaiwoservice', 's')}\n`);
      },
    ];
    logs = new LogManager(api.kubeConfig(), quiet(), () => undefined, { follow: false });
    logs.use('once', [{ spec: spec(), targets: [target] }]);
    await waitFor('read', () => logs?.allDone && logs.view(spec()).streams[0]?.buckets.length === 1, 5000, 20);
    expect(api.requests).to.have.length(1);
    expect(api.requests[0]?.searchParams.get('follow')).to.equal('false');
  });

  it('follows the named container of Running pods on a node, at most maxPods', () => {
    const pod = (name: string, phase: string, nodeName?: string) => ({
      metadata: { name, namespace: 'kaiwo-system', uid: name },
      spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'manager' }, { name: 'proxy' }] },
      status: { phase },
    });
    const pods = {
      state: 'synced' as const,
      objects: [
        pod('b', 'Running', 'n'),
        pod('a', 'Running', 'n'),
        pod('c', 'Pending', 'n'),
        pod('d', 'Running'),
        pod('e', 'Running', 'n'),
      ],
    };
    expect(logTargets(spec({ maxPods: 2 }), pods).map((t) => `${t.pod}/${t.container}`)).to.deep.equal(['a/manager', 'b/manager']);
    expect(logTargets(spec({ container: undefined, maxPods: 1 }), pods).map((t) => `${t.pod}/${t.container}`)).to.deep.equal([
      'a/manager',
      'a/proxy',
    ]);
  });

  it('the transport reads at most about maxBytesPerSecond (the response is paused, not buffered)', async () => {
    const chunk = `${'x'.repeat(1023)}\n`;
    api.handlers = [
      (_req, res) => {
        res.writeHead(200);
        res.end(chunk.repeat(256));
      },
    ]; // 256 KiB at once
    let lines = 0;
    const t0 = Date.now();
    await fetchLines(
      { kubeconfig: api.kubeConfig(), url: '/x', maxBytes: Infinity, maxBytesPerSecond: 16 * 1024, timeoutMs: 20_000 },
      () => {
        lines++;
      },
      { maxLineChars: 4096, longLines: 'fail' },
    );
    expect(lines).to.equal(256);
    // Socket reads come in chunks of up to 64 KiB: at 16 KiB/s each is followed by a pause until the next second, so
    // 256 KiB take at least three pauses; without the cap it takes milliseconds.
    expect(Date.now() - t0).to.be.at.least(2500);
  });
});
