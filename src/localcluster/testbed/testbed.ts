import type { KubeConfig } from '@kubernetes/client-node';
import { type Cluster, startCluster } from '../backend.js';
import type { ManagedProcess } from '../process.js';
import { isoSeconds } from '../../api/time.js';
import { rawJson } from '../../runtime/rawrequest.js';
import { toolBinDir } from '../binaries.js';
import { CriLogMirror } from './crilog.js';
import { Kaiwo, KAIWO_NAMESPACE } from './kaiwo.js';
import { controllerManager, scheduler } from './kube.js';
import { Kueue, KUEUE_NAMESPACE } from './kueue.js';
import { kwokController } from './kwok.js';
import { FakeNodes } from './nodes.js';
import { FAULT_ANNOTATION, type PodFault } from './stages.js';
import { pinned } from '../versions.js';

export interface TestBedOptions {
  /** Kueue release to run (default KUEUE_LEGACY_VERSION, v0.12.3: the line both Kaiwo releases are built against). */
  kueueVersion?: string;
  /** Kaiwo release to run (default KAIWO_VERSION, v0.1.9; KAIWO_NEXT_VERSION is the newest release candidate). */
  kaiwoVersion?: string;
  log?: (m: string) => void;
  /** Restart interval of the CrashLoopBackOff kwok stage. */
  crashLoopEveryMs?: number;
  /** Fields merged into Kueue's Configuration (e.g. `waitForPodsReady`). */
  kueueConfig?: Record<string, unknown>;
}

const MERGE = 'application/merge-patch+json';

const live = new Set<TestBed>();
let hooked = false;
/** Every process of a live test bed is killed when this process exits, however it exits. */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const tb of live) tb.killNow();
  });
}

/**
 * The full test bed on 127.0.0.1: etcd + kube-apiserver (the local control plane) with kube-controller-manager,
 * kube-scheduler, kwok running GPU nodes and the pods bound to them, the real Kueue manager and the real Kaiwo
 * operator (each from its own install layout, one process per Ready pod); the KaiwoMonitor CRD and the real Kueue
 * and Kaiwo CRDs installed. Start-up time is in `startupMs` (and `phases`).
 */
export class TestBed {
  private parts: { cluster?: Cluster; kc?: KubeConfig; nodes?: FakeNodes; kueue?: Kueue; kaiwo?: Kaiwo } = {};
  readonly kueueVersion: string;
  readonly kaiwoVersion: string;
  readonly phases: [string, number][] = [];
  startupMs = 0;
  private readonly procs: ManagedProcess[] = [];
  private readonly mirrors: CriLogMirror[] = [];
  private readonly log: (m: string) => void;

  constructor(private readonly opts: TestBedOptions = {}) {
    this.kueueVersion = opts.kueueVersion ?? pinned('KUEUE_LEGACY_VERSION');
    this.kaiwoVersion = opts.kaiwoVersion ?? pinned('KAIWO_VERSION');
    this.log = opts.log ?? (() => undefined);
  }

  private need<K extends keyof TestBed['parts']>(k: K): NonNullable<TestBed['parts'][K]> {
    const v = this.parts[k];
    if (!v) throw new Error('test bed not started');
    return v;
  }

  get cluster(): Cluster {
    return this.need('cluster');
  }
  get kc(): KubeConfig {
    return this.need('kc');
  }
  get nodes(): FakeNodes {
    return this.need('nodes');
  }
  get kueue(): Kueue {
    return this.need('kueue');
  }
  get kaiwo(): Kaiwo {
    return this.need('kaiwo');
  }

  get kubeconfigPath(): string {
    return this.cluster.kubeconfigPath;
  }

  private async phase<T>(name: string, f: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    const out = await f();
    this.phases.push([name, Date.now() - t0]);
    return out;
  }

  async start(): Promise<void> {
    const t0 = Date.now();
    hookExit();
    live.add(this);
    const legacy = this.kueueVersion === pinned('KUEUE_LEGACY_VERSION');
    try {
      const next = this.kaiwoVersion === pinned('KAIWO_NEXT_VERSION');
      const [kube, kwok, kueueBin, kaiwoBin] = await this.phase('binaries', () =>
        Promise.all([
          toolBinDir('kube', this.log),
          toolBinDir('kwok', this.log),
          toolBinDir(legacy ? 'kueue-legacy' : 'kueue', this.log),
          toolBinDir(next ? 'kaiwo-next' : 'kaiwo', this.log),
        ]),
      );
      const cluster = await this.phase('control plane + CRDs', () =>
        startCluster({
          backend: 'local',
          kueueVersion: this.kueueVersion,
          kaiwoVersion: this.kaiwoVersion,
          log: this.log,
          // kubectl logs: the API server reaches kwok's kubelet endpoint at the node's InternalIP (127.0.0.1), never by name.
          apiServerFlags: ['--kubelet-preferred-address-types=InternalIP'],
        }),
      );
      this.parts.cluster = cluster;
      const cp = cluster.local;
      if (!cp) throw new Error('the test bed needs the local control plane');
      const kc = cluster.kubeConfig();
      this.parts.kc = kc;
      this.parts.nodes = new FakeNodes(kc);
      const kueue = new Kueue(cp, kc, {
        version: this.kueueVersion,
        bin: kueueBin,
        log: this.log,
        ...(this.opts.kueueConfig ? { config: this.opts.kueueConfig } : {}),
      });
      this.parts.kueue = kueue;
      this.parts.kaiwo = new Kaiwo(cp, kc, { version: this.kaiwoVersion, bin: kaiwoBin, log: this.log });
      const logs = {
        [KUEUE_NAMESPACE]: new CriLogMirror(kueue.logFile, `${kueue.logFile}.cri`),
        [KAIWO_NAMESPACE]: new CriLogMirror(this.kaiwo.logFile, `${this.kaiwo.logFile}.cri`),
      };
      for (const m of Object.values(logs)) {
        await m.start();
        this.mirrors.push(m);
      }
      await this.phase('controller-manager, scheduler, kwok, nodes', async () => {
        const procs = [
          await controllerManager(cp, kube),
          await scheduler(cp, kube),
          await kwokController(cp, kwok, {
            ...(this.opts.crashLoopEveryMs ? { crashLoopEveryMs: this.opts.crashLoopEveryMs } : {}),
            logs: Object.fromEntries(Object.entries(logs).map(([ns, m]) => [ns, m.target])),
          }),
        ];
        for (const p of procs) {
          p.start();
          this.procs.push(p);
        }
        await this.nodes.create();
        await this.nodes.waitReady();
      });
      await this.phase(`Kueue ${this.kueueVersion}`, async () => {
        await this.kueue.install();
        await this.kueue.waitLeader();
      });
      await this.phase(`Kaiwo ${this.kaiwoVersion}`, async () => {
        await this.kaiwo.install();
        await this.kaiwo.backing.waitFor(1, 90_000);
        await this.kaiwo.waitLeader();
        await this.waitAvailable(KAIWO_NAMESPACE, 'kaiwo-controller-manager');
        await this.waitAvailable(KUEUE_NAMESPACE, 'kueue-controller-manager');
      });
      this.startupMs = Date.now() - t0;
      this.log(
        `test bed ready in ${(this.startupMs / 1000).toFixed(1)}s (${this.phases.map(([n, ms]) => `${n} ${(ms / 1000).toFixed(1)}s`).join(', ')})`,
      );
    } catch (err) {
      const tails = await Promise.all(this.procs.map(async (p) => `--- ${p.name} (exit ${String(p.exitCode)}):\n${await p.tail(15)}`));
      await this.stop();
      throw new Error(`test bed failed to start: ${(err as Error).message}\n${tails.join('\n')}`, { cause: err });
    }
  }

  /** Until the Deployment reports Available=True (the real deployment controller, pods Ready in kwok). */
  async waitAvailable(namespace: string, name: string, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const d = await rawJson<{ status?: { conditions?: { type: string; status: string }[] } }>(this.kc, {
        method: 'GET',
        path: `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`,
      }).catch(() => undefined);
      if (d?.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True')) return;
      if (Date.now() > deadline) throw new Error(`Deployment ${namespace}/${name} not Available after ${timeoutMs / 1000}s`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Puts a pod into a kwok fault stage (or back out of it with `undefined`). */
  async setPodFault(namespace: string, pod: string, fault: PodFault | undefined): Promise<void> {
    await rawJson(this.kc, {
      method: 'PATCH',
      path: `/api/v1/namespaces/${namespace}/pods/${pod}`,
      body: { metadata: { annotations: { [FAULT_ANNOTATION]: fault ?? null } } },
      contentType: MERGE,
    });
  }

  /**
   * The pod's containers exit with `exitCode`, as kubelet reports it for a restartPolicy Never pod: phase Failed,
   * each container terminated with reason Error. (kwok's own stages only ever complete a Job's pod successfully.)
   */
  async failPod(namespace: string, pod: string, exitCode = 1): Promise<void> {
    const path = `/api/v1/namespaces/${namespace}/pods/${pod}`;
    interface Pod {
      spec: { containers: { name: string; image: string }[] };
      status?: { conditions?: { type: string }[]; containerStatuses?: { name: string; state?: { running?: { startedAt?: string } } }[] };
    }
    const p = await rawJson<Pod>(this.kc, { method: 'GET', path });
    const now = isoSeconds(new Date());
    const containerStatuses = p.spec.containers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: '',
      ready: false,
      started: false,
      restartCount: 0,
      state: {
        terminated: {
          exitCode,
          reason: 'Error',
          startedAt: p.status?.containerStatuses?.find((s) => s.name === c.name)?.state?.running?.startedAt ?? now,
          finishedAt: now,
        },
      },
    }));
    await rawJson(this.kc, {
      method: 'PATCH',
      path: `${path}/status`,
      contentType: MERGE,
      body: {
        status: {
          phase: 'Failed',
          containerStatuses,
          conditions: (p.status?.conditions ?? []).map((c) =>
            ['Ready', 'ContainersReady'].includes(c.type)
              ? { type: c.type, status: 'False', reason: 'PodFailed', lastTransitionTime: now }
              : c,
          ),
        },
      },
    });
  }

  /** Names of the Deployment's current pods (not being deleted), oldest first. */
  async pods(namespace: string, labelSelector: string): Promise<string[]> {
    const list = await rawJson<{ items: { metadata: { name: string; creationTimestamp: string; deletionTimestamp?: string } }[] }>(
      this.kc,
      {
        method: 'GET',
        path: `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(labelSelector)}`,
      },
    );
    return list.items
      .filter((p) => !p.metadata.deletionTimestamp)
      .sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp))
      .map((p) => p.metadata.name);
  }

  /** kubectl rollout restart. */
  async rolloutRestart(namespace: string, name: string): Promise<void> {
    await rawJson(this.kc, {
      method: 'PATCH',
      path: `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`,
      body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } },
      contentType: MERGE,
    });
  }

  /** Synchronous last resort for 'exit' handlers (the control plane has its own). */
  killNow(): void {
    const { kaiwo, kueue } = this.parts;
    for (const b of [...(kaiwo?.backing.backends.values() ?? []), ...(kueue?.backing.backends.values() ?? [])]) b.process.killNow();
    for (const p of this.procs) p.killNow();
  }

  async stop(): Promise<void> {
    live.delete(this);
    await this.parts.kaiwo?.stop().catch(() => undefined);
    await this.parts.kueue?.stop().catch(() => undefined);
    for (const p of this.procs.reverse()) await p.stop(3000);
    for (const m of this.mirrors) m.stop();
    await this.parts.cluster?.stop();
    this.parts = {};
  }
}
