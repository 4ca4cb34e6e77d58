import { createServer, type IncomingMessage, request as httpRequest, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

export interface Answer {
  status: number;
  body: string;
  contentType?: string;
}

interface OpenWatch {
  path: string;
  res: ServerResponse;
  upstream: { destroy(): void };
}

const isWatch = (u: URL) => u.searchParams.get('watch') === '1' || u.searchParams.get('watch') === 'true';

/**
 * A loopback HTTP proxy in front of the real API server, for the few behaviours a healthy server does not show
 * on demand: it answers chosen requests itself, counts open watches, can make a watch miss events, and can expire
 * a watch the way the API server does (an ERROR event with 410 Gone). Clients talk plain HTTP to 127.0.0.1
 * without credentials; the proxy talks to the API server with the kubeconfig's.
 */
export class ApiProxy {
  /** Every request seen: method, path with query, and the status the client got. */
  readonly requests: { method: string; path: string; status: number }[] = [];
  /** Answers a request instead of the API server when it returns something. */
  answer: ((method: string, path: string) => Answer | undefined) | undefined;
  /** Watch events dropped while held. */
  dropped = 0;
  private readonly watches = new Set<OpenWatch>();
  private readonly held = new Set<string>();

  private readonly server: Server;
  private port = 0;

  private constructor(private readonly upstream: KubeConfig) {
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
  }

  static async start(upstream: KubeConfig): Promise<ApiProxy> {
    const proxy = new ApiProxy(upstream);
    await new Promise<void>((r) =>
      proxy.server.listen(0, '127.0.0.1', () => {
        r();
      }),
    );
    const a = proxy.server.address();
    proxy.port = typeof a === 'object' && a ? a.port : 0;
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** A kubeconfig that reaches the API server through this proxy (plain HTTP: client-node wants skipTLSVerify). */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'proxy', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'proxy' }],
      contexts: [{ name: 'proxy', cluster: 'proxy', user: 'proxy' }],
      currentContext: 'proxy',
    });
    return kc;
  }

  /** Watches open right now on `path` (before the query) whose query includes `query` (e.g. a label selector). */
  openWatches(path: string, query: Record<string, string> = {}): number {
    return [...this.watches].filter((w) => this.matches(w.path, path, query)).length;
  }

  /** Requests so far with this method on `path` whose query includes `query`; `watch` tells lists from watches. */
  count(method: string, path: string, opts: { watch?: boolean; query?: Record<string, string> } = {}): number {
    return this.requests.filter((r) => {
      if (r.method !== method || !this.matches(r.path, path, opts.query ?? {})) return false;
      return opts.watch === undefined || isWatch(new URL(r.path, this.url)) === opts.watch;
    }).length;
  }

  private matches(full: string, path: string, query: Record<string, string>): boolean {
    const u = new URL(full, this.url);
    return u.pathname === path && Object.entries(query).every(([k, v]) => u.searchParams.get(k) === v);
  }

  /** While held, events of open and new watches on `prefix` are dropped: the client misses them. */
  hold(prefix: string, on: boolean): void {
    if (on) this.held.add(prefix);
    else this.held.delete(prefix);
  }

  /** Ends every open watch on `prefix` as an expired one: an ERROR event with code 410, then end of stream. */
  expireWatches(prefix: string): number {
    const hit = [...this.watches].filter((w) => w.path.startsWith(prefix));
    for (const w of hit) {
      const status = {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'too old resource version',
        reason: 'Expired',
        code: 410,
      };
      w.res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      w.upstream.destroy();
      this.watches.delete(w);
    }
    return hit.length;
  }

  async stop(): Promise<void> {
    for (const w of this.watches) {
      w.upstream.destroy();
      w.res.destroy();
    }
    this.server.closeAllConnections();
    await new Promise<void>((r) =>
      this.server.close(() => {
        r();
      }),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    const own = this.answer?.(method, path);
    if (own) {
      this.requests.push({ method, path, status: own.status });
      res.writeHead(own.status, { 'Content-Type': own.contentType ?? 'application/json' }).end(own.body);
      req.resume();
      return;
    }
    const server = this.upstream.getCurrentCluster()?.server ?? '';
    const target = new URL(path, server);
    const headers = { ...req.headers };
    delete headers.host;
    delete headers.connection;
    const opts: RequestOptions = { method, headers };
    await this.upstream.applyToHTTPSOptions(opts);
    const send = target.protocol === 'http:' ? httpRequest : httpsRequest;
    const up = send(target, opts, (upRes) => {
      const status = upRes.statusCode ?? 502;
      this.requests.push({ method, path, status });
      res.writeHead(status, upRes.headers);
      // A connection the API server drops mid-response is dropped for the client too.
      upRes.on('close', () => {
        if (!upRes.complete) res.destroy();
      });
      if (!isWatch(target) || status !== 200) {
        upRes.pipe(res);
        return;
      }
      const w: OpenWatch = { path, res, upstream: up };
      this.watches.add(w);
      res.on('close', () => {
        this.watches.delete(w);
        up.destroy();
      });
      let buf = '';
      upRes.setEncoding('utf8');
      upRes.on('data', (chunk: string) => {
        buf += chunk;
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const line = buf.slice(0, nl + 1);
          buf = buf.slice(nl + 1);
          if (!this.watches.has(w)) continue;
          if ([...this.held].some((p) => path.startsWith(p))) this.dropped++;
          else res.write(line);
          nl = buf.indexOf('\n');
        }
      });
      upRes.on('end', () => {
        if (this.watches.delete(w)) res.end();
      });
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.destroy();
    });
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  }
}
