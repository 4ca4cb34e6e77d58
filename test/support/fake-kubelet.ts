import { createServer, type Server } from 'node:https';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { rawJson } from '../../src/runtime/rawrequest.js';
import { selfSignedCert } from '../../src/runtime/selfsigned.js';

/**
 * The kubelet's container-log endpoint, on 127.0.0.1 only, for a Node whose address and kubelet port point here:
 * the real kube-apiserver proxies `pods/log` to `https://<node address>:<kubelet port>/containerLogs/<ns>/<pod>/<c>`
 * (it does not verify the kubelet's certificate unless --kubelet-certificate-authority is set). Serves the lines
 * appended so far with `sinceSeconds`/`sinceTime` and `timestamps` like the kubelet, and with `follow` keeps the
 * response open and writes new lines as they are appended.
 */
export class FakeKubelet {
  readonly requests: URL[] = [];
  private readonly logs = new Map<string, { ms: number; ts: string; text: string }[]>();
  private readonly followers = new Set<{ key: string; res: ServerResponse; timestamps: boolean }>();
  private seq = 0;

  private constructor(private readonly server: Server) {}

  static async start(): Promise<FakeKubelet> {
    const { cert, key } = await selfSignedCert(['127.0.0.1']);
    const holder: { k?: FakeKubelet } = {};
    const server = createServer({ cert, key }, (req, res) => {
      holder.k?.serve(new URL(req.url ?? '/', 'https://127.0.0.1'), res);
    });
    await new Promise<void>((r) =>
      server.listen(0, '127.0.0.1', () => {
        r();
      }),
    );
    holder.k = new FakeKubelet(server);
    return holder.k;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Registers a Ready Node whose kubelet is this server. */
  async registerNode(kc: KubeConfig, name: string): Promise<void> {
    await rawJson(kc, {
      method: 'POST',
      path: '/api/v1/nodes',
      body: { metadata: { name, labels: { 'kaiwo-monitor.dev/fake-kubelet': 'true' } } },
    });
    await rawJson(kc, {
      method: 'PATCH',
      path: `/api/v1/nodes/${name}/status`,
      contentType: 'application/merge-patch+json',
      body: {
        status: {
          // Only the loopback address: with a Hostname address the API server would resolve the node name in DNS.
          addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
          daemonEndpoints: { kubeletEndpoint: { Port: this.port } },
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              message: 'fake kubelet',
              lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
            },
          ],
        },
      },
    });
  }

  /** Appends a line to a container's log (timestamped now, nanosecond-distinct) and sends it to followers. */
  append(namespace: string, pod: string, container: string, text: string): void {
    const key = `${namespace}/${pod}/${container}`;
    const ms = Date.now();
    const ts = new Date(ms).toISOString().replace(/\.(\d{3})Z$/, `.$1${String(this.seq++ % 1_000_000).padStart(6, '0')}Z`);
    const entry = { ms, ts, text };
    const list = this.logs.get(key) ?? [];
    list.push(entry);
    this.logs.set(key, list);
    for (const f of this.followers) if (f.key === key) f.res.write(this.format(entry, f.timestamps));
  }

  /** Drops every open follow connection (like a kubelet restart or a network blip). */
  dropConnections(): void {
    for (const f of this.followers) f.res.destroy();
    this.followers.clear();
  }

  get following(): number {
    return this.followers.size;
  }

  async close(): Promise<void> {
    this.dropConnections();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private format(e: { ts: string; text: string }, timestamps: boolean): string {
    return `${timestamps ? `${e.ts} ` : ''}${e.text}\n`;
  }

  private serve(url: URL, res: ServerResponse): void {
    this.requests.push(url);
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (!m) {
      res.writeHead(404).end('not found');
      return;
    }
    const key = `${m[1] ?? ''}/${m[2] ?? ''}/${m[3] ?? ''}`;
    const q = url.searchParams;
    const timestamps = q.get('timestamps') === 'true';
    const sinceTime = q.get('sinceTime');
    const sinceSeconds = q.get('sinceSeconds');
    // The kubelet compares at the precision it was given: sinceTime is whole seconds on the wire.
    const from = sinceTime ? Date.parse(sinceTime) : sinceSeconds ? Date.now() - Number(sinceSeconds) * 1000 : -Infinity;
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    for (const e of this.logs.get(key) ?? []) if (e.ms >= from) res.write(this.format(e, timestamps));
    if (q.get('follow') !== 'true') {
      res.end();
      return;
    }
    const f = { key, res, timestamps };
    this.followers.add(f);
    res.on('close', () => {
      this.followers.delete(f);
    });
  }
}
