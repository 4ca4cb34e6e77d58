import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { KubeConfig } from '../runtime/kubeconfig.js';
import { GROUP, PLURAL, VERSION } from '../api/schema.js';
import { VersionDiscovery } from '../runtime/discovery.js';
import { EventRecorder } from '../runtime/events.js';
import { Informer } from '../runtime/informer.js';
import { LeaderElector } from '../runtime/leader.js';
import type { Logger } from '../runtime/log.js';
import { RuntimeMetrics } from '../runtime/metrics.js';
import { startMetricsServer, startProbeServer } from '../runtime/serving.js';
import { WorkQueue } from '../runtime/workqueue.js';
import { MonitorMetrics } from './metrics.js';
import { LogManager } from './logs.js';
import { Reconciler } from './reconciler.js';
import { ScrapeManager } from './scrapes.js';
import { SourceManager } from './sources.js';

export const CONTROLLER = 'kaiwomonitor';

export interface ManagerOptions {
  kc: KubeConfig;
  log: Logger;
  metricsBindAddress: string;
  metricsSecure: boolean;
  metricsCertPath?: string;
  metricsCertName?: string;
  metricsCertKey?: string;
  healthProbeBindAddress: string;
  leaderElect: boolean;
  leaderElectionNamespace?: string;
  leaderElectionId: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  maxConcurrentReconciles: number;
  statusHeartbeatMs: number;
  /** How long a new leader waits for its caches before starting workers anyway (default 2 min). */
  cacheSyncTimeoutMs?: number;
  /** Called when leadership is lost: the process should exit (controller-runtime does). */
  onLostLeadership: () => void;
}

function inClusterNamespace(): string | undefined {
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Wires informers → work queue → reconciler, plus leader election, probes and metrics. Every replica keeps its
 * caches warm and serves probes and metrics; only the leader runs reconcile workers and writes.
 */
export class Manager {
  readonly metrics = new RuntimeMetrics();
  readonly monitorMetrics = new MonitorMetrics(this.metrics.registry);
  readonly identity = `${hostname()}_${randomUUID()}`;
  metricsPort: number | undefined;
  probePort: number | undefined;
  private readonly monitors: Informer;
  private readonly sources: SourceManager;
  private readonly scrapes: ScrapeManager;
  private readonly logs: LogManager;
  private readonly queue: WorkQueue;
  private readonly reconciler: Reconciler;
  private elector: LeaderElector | undefined;
  private servers: { close: () => Promise<void> }[] = [];
  private leading = false;
  /** prepare() calls in flight (sources being started for a monitor). */
  private readonly preparing = new Set<Promise<void>>();
  private stopping = false;

  constructor(private readonly opts: ManagerOptions) {
    const { kc, log } = opts;
    const m = this.metrics;
    this.monitors = new Informer(kc, {
      path: `/apis/${GROUP}/${VERSION}/${PLURAL}`,
      log: log.child('informer', { resource: PLURAL }),
      absentRetryMs: 10_000,
    });
    const changed = (names: ReadonlySet<string>) => {
      for (const n of names) {
        this.reconciler.sourceChanged(n);
        this.queue.add(n);
      }
    };
    this.sources = new SourceManager(kc, log, changed, {}, (resource, synced) => {
      m.informerSynced.set({ resource }, synced ? 1 : 0);
    });
    this.scrapes = new ScrapeManager(kc, log.child('scrape'), changed);
    this.logs = new LogManager(kc, log.child('logs'), changed);
    const recorder = new EventRecorder(kc, {
      controller: 'kaiwo-monitor',
      instance: this.identity.slice(0, 128),
      log: log.child('events'),
      onOutcome: (outcome, reason) => {
        m.events.inc({ reason, outcome });
      },
    });
    this.reconciler = new Reconciler({
      kc,
      monitors: this.monitors,
      sources: this.sources,
      scrapes: this.scrapes,
      logs: this.logs,
      discovery: new VersionDiscovery(kc),
      recorder,
      metrics: m,
      monitorMetrics: this.monitorMetrics,
      log,
      heartbeatMs: opts.statusHeartbeatMs,
    });
    const labels = { name: CONTROLLER, controller: CONTROLLER };
    this.queue = new WorkQueue((key) => this.reconciler.reconcile(key), {
      concurrency: opts.maxConcurrentReconciles,
      hooks: {
        onDepth: (d) => {
          m.workqueueDepth.set(labels, d);
        },
        onAdd: () => {
          m.workqueueAdds.inc(labels);
        },
        onRetry: () => {
          m.workqueueRetries.inc(labels);
        },
        onResult: (key, result, secs, error) => {
          m.reconcileTime.observe({ controller: CONTROLLER }, secs);
          m.reconcileTotal.inc({ controller: CONTROLLER, result });
          if (result === 'error') {
            m.reconcileErrors.inc({ controller: CONTROLLER });
            log.error('reconcile failed; will retry with backoff', {
              monitor: key,
              controller: CONTROLLER,
              error: error instanceof Error ? error.message : String(error),
            });
          }
        },
      },
    });
    // Every replica keeps the sources of every monitor warm (like controller-runtime's informers), so a new leader
    // evaluates from synced caches at once instead of flapping its conditions through Unknown.
    this.monitors.on((_type, obj) => {
      const name = obj.metadata.name;
      this.queue.add(name);
      const p = this.reconciler.prepare(name).catch((err: unknown) => {
        log.warn('cannot start sources', { monitor: name, error: err });
      });
      this.preparing.add(p);
      void p.finally(() => this.preparing.delete(p));
    });
  }

  /**
   * controller-runtime's WaitForCacheSync: resolves when the KaiwoMonitor cache has listed, the sources of every
   * monitor are started and listed, and every metrics endpoint has answered once; or after `timeoutMs` (a source that
   * cannot list then reads as not observed, and the reconciler keeps what it knew).
   */
  async waitForCacheSync(timeoutMs = this.opts.cacheSyncTimeoutMs ?? 120_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.monitors.synced) await Promise.all([...this.preparing]);
      if (this.monitors.synced && this.preparing.size === 0 && this.sources.allSynced && this.scrapes.allAnswered) return true;
      if (Date.now() > deadline || this.stopping) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Ready once the KaiwoMonitor cache (and every source cache in use) has listed. */
  ready(): { ok: boolean; reason?: string } {
    if (!this.monitors.synced) return { ok: false, reason: 'KaiwoMonitor cache not synced' };
    if (!this.sources.allSynced) return { ok: false, reason: 'source caches not synced' };
    return { ok: true };
  }

  get isLeader(): boolean {
    return this.leading;
  }

  async start(): Promise<void> {
    const { log } = this.opts;
    this.monitors.start();
    const m = this.metrics;
    const unexpected = (err: unknown) => {
      m.unexpectedErrors.inc({ source: 'handler' });
      log.error('HTTP handler failed', { error: err });
    };
    const probes = await startProbeServer(this.opts.healthProbeBindAddress, () => this.ready(), unexpected);
    if (probes) {
      this.probePort = probes.port;
      this.servers.push(probes);
    }
    const metrics = await startMetricsServer({
      bindAddress: this.opts.metricsBindAddress,
      secure: this.opts.metricsSecure,
      registry: this.metrics.registry,
      kc: this.opts.kc,
      log,
      onReview: (kind, result) => {
        m.authReviews.inc({ kind, result });
      },
      onResponse: (code) => {
        m.metricsResponses.inc({ code: String(code) });
      },
      onUnexpected: () => {
        m.unexpectedErrors.inc({ source: 'handler' });
      },
      ...(this.opts.metricsCertPath ? { certPath: this.opts.metricsCertPath } : {}),
      ...(this.opts.metricsCertName ? { certName: this.opts.metricsCertName } : {}),
      ...(this.opts.metricsCertKey ? { keyName: this.opts.metricsCertKey } : {}),
    });
    if (metrics) {
      this.metricsPort = metrics.port;
      this.servers.push(metrics);
    }
    log.info('serving', {
      metricsPort: this.metricsPort ?? 'off',
      metricsSecure: this.opts.metricsSecure,
      probePort: this.probePort ?? 'off',
      identity: this.identity,
    });

    const startLeading = async () => {
      this.leading = true;
      this.metrics.leaderStatus.set({ name: this.opts.leaderElectionId }, 1);
      const started = performance.now();
      const synced = await this.waitForCacheSync();
      if (this.stopping || !this.isLeader) return; // stopped or lost the lease while waiting
      log.info(synced ? 'caches synced; starting workers' : 'caches not synced in time; starting workers anyway', {
        waitedMs: Math.round(performance.now() - started),
      });
      for (const obj of this.monitors.list()) this.queue.add(obj.metadata.name);
      this.queue.start();
    };
    if (!this.opts.leaderElect) {
      void startLeading();
      return;
    }
    const namespace = this.opts.leaderElectionNamespace ?? inClusterNamespace();
    if (!namespace) throw new Error('--leader-elect needs --leader-election-namespace when not running in a cluster');
    this.metrics.leaderStatus.set({ name: this.opts.leaderElectionId }, 0);
    this.elector = new LeaderElector(this.opts.kc, {
      namespace,
      name: this.opts.leaderElectionId,
      identity: this.identity,
      log: log.child('leader'),
      leaseDurationMs: this.opts.leaseDurationMs,
      renewDeadlineMs: this.opts.renewDeadlineMs,
      retryPeriodMs: this.opts.retryPeriodMs,
      onStartedLeading: () => {
        void startLeading();
      },
      onStoppedLeading: () => {
        this.leading = false;
        this.metrics.leaderStatus.set({ name: this.opts.leaderElectionId }, 0);
        if (!this.stopping) this.opts.onLostLeadership();
      },
    });
    this.elector.start();
  }

  /** Graceful stop: finish in-flight reconciles, hand back the lease, stop watches, close servers. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.queue.shutdown();
    await this.elector?.release();
    await this.monitors.stop();
    await this.sources.stop();
    this.scrapes.stop();
    this.logs.stop();
    await Promise.all(this.servers.map((s) => s.close()));
  }
}
