import type { KubeConfig } from '@kubernetes/client-node';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { rawJson } from '../../runtime/rawrequest.js';
import type { ManagedProcess } from '../process.js';

interface Pod {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

/** One real process standing in for the container of one kwok pod. */
export interface Backend {
  pod: string;
  process: ManagedProcess;
  /** Loopback ports this process listens on, by name (e.g. metrics, webhook). */
  ports: Record<string, number>;
  startedAt: number;
}

export interface BackingOptions {
  namespace: string;
  labelSelector: string;
  /** Starts the process for a pod (after its pod became Ready in kwok). */
  spawn: (pod: string) => Promise<Omit<Backend, 'pod' | 'startedAt'>>;
  log?: (m: string) => void;
}

const ready = (p: Pod) =>
  p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/**
 * Plays kubelet for a Deployment whose pods kwok runs: while a pod is Ready, one real process runs for it (Kueue,
 * or the Kaiwo operator); when the pod is deleted it gets SIGTERM (graceful shutdown, as on a rolling update);
 * when its container crashes in kwok (not Ready), SIGKILL. `kill(pod)` SIGKILLs a process and keeps it down until
 * `revive(pod)`, like a container that died and has not been restarted yet.
 */
export class PodBackedProcesses {
  readonly backends = new Map<string, Backend>();
  private readonly down = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly kc: KubeConfig,
    private readonly opts: BackingOptions,
  ) {}

  start(): void {
    const tick = () => {
      this.busy = this.busy
        .then(() => this.sync())
        .catch((err: unknown) => {
          this.opts.log?.(`${this.opts.namespace}: sync failed: ${(err as Error).message}`);
        })
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, 250);
        });
    };
    tick();
  }

  private async sync(): Promise<void> {
    const sel = encodeURIComponent(this.opts.labelSelector);
    const pods = (
      await rawJson<{ items: Pod[] }>(this.kc, {
        method: 'GET',
        path: `/api/v1/namespaces/${this.opts.namespace}/pods?labelSelector=${sel}`,
      })
    ).items;
    const byName = new Map(pods.map((p) => [p.metadata.name, p]));
    for (const [name, b] of this.backends) {
      const p = byName.get(name);
      if (!p || p.metadata.deletionTimestamp) {
        this.opts.log?.(`${this.opts.namespace}/${name}: pod deleted, SIGTERM to its process`);
        this.backends.delete(name);
        await b.process.stop(10_000);
      } else if (!ready(p) || !b.process.running) {
        this.backends.delete(name);
        b.process.killNow();
      }
    }
    for (const p of pods) {
      const name = p.metadata.name;
      if (this.stopped || this.backends.has(name) || this.down.has(name) || p.metadata.deletionTimestamp || !ready(p)) continue;
      const spawned = await this.opts.spawn(name);
      spawned.process.start();
      this.backends.set(name, { ...spawned, pod: name, startedAt: Date.now() });
      this.opts.log?.(`${this.opts.namespace}/${name}: process started (pid ${spawned.process.pid ?? '?'})`);
    }
  }

  /** SIGKILLs the pod's process and keeps it down until revive(). */
  kill(pod: string): void {
    this.down.add(pod);
    const b = this.backends.get(pod);
    this.backends.delete(pod);
    b?.process.killNow();
  }

  revive(pod: string): void {
    this.down.delete(pod);
  }

  /** Waits until `n` processes run (optionally: only for pods other than `except`). */
  async waitFor(n: number, timeoutMs = 60_000, except: string[] = []): Promise<Backend[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const live = [...this.backends.values()].filter((b) => b.process.running && !except.includes(b.pod));
      if (live.length >= n) return live;
      if (Date.now() > deadline)
        throw new Error(`${this.opts.namespace}: ${live.length} of ${n} backing processes after ${timeoutMs / 1000}s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.busy;
    await Promise.all([...this.backends.values()].map((b) => b.process.stop(5000)));
    this.backends.clear();
  }
}

/**
 * A Service on loopback: a TCP listener on 127.0.0.1 that forwards each connection (TLS passes through) to one
 * live backend's port, round-robin; with no backend the connection is reset (what a scrape of a Service without
 * ready endpoints sees). Webhook configurations and the monitor's metrics URL point here.
 */
export class LoopbackService {
  private server: Server | undefined;
  private next = 0;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    readonly name: string,
    private readonly backing: PodBackedProcesses,
    private readonly portName: string,
  ) {}

  async start(port = 0): Promise<number> {
    const server = createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => undefined);
      const live = [...this.backing.backends.values()].filter((b) => b.process.running && b.ports[this.portName]);
      const target = live[this.next++ % Math.max(1, live.length)];
      const port = target?.ports[this.portName];
      if (!port) {
        client.resetAndDestroy();
        return;
      }
      const upstream = connect({ host: '127.0.0.1', port });
      this.sockets.add(upstream);
      upstream.on('close', () => this.sockets.delete(upstream));
      upstream.on('error', () => client.resetAndDestroy());
      client.on('error', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        resolve();
      });
    });
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    this.server = server;
    return this.port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => {
      if (!this.server) {
        resolve();
        return;
      }
      this.server.close(() => {
        resolve();
      });
    });
  }
}
