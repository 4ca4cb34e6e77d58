import type { KubeConfig } from '@kubernetes/client-node';
import type { Condition, KaiwoMonitor } from '../../../src/api/types.js';
import type { SimulatedStack } from './simulate.js';
import { watchOnce } from '../../../src/runtime/watch.js';

/** One fault class: how to inject it, when the fault "happened", and what the monitor must show. */
export interface FaultScenario {
  name: string;
  condition: string;
  /** Reason the component condition takes; also the Event's reason. */
  reason: string;
  finding: string;
  /** Injects the fault; resolves with the time detection is measured from (the write, or a threshold crossing). */
  inject: (sim: SimulatedStack) => Promise<number>;
  heal: (sim: SimulatedStack) => Promise<void>;
}

export const scenarios: FaultScenario[] = [
  {
    name: 'Kaiwo Deployment loses its available replica',
    condition: 'KaiwoOperatorHealthy',
    reason: 'DeploymentUnavailable',
    finding: 'DeploymentUnavailable',
    inject: async (sim) => {
      await sim.setDeploymentAvailable('kaiwo-system', 'kaiwo-controller-manager', 0);
      return Date.now();
    },
    heal: async (sim) => {
      await sim.setDeploymentAvailable('kaiwo-system', 'kaiwo-controller-manager', 1);
    },
  },
  {
    name: 'Kaiwo leader Lease goes stale',
    condition: 'KaiwoOperatorHealthy',
    reason: 'LeaderLeaseExpired',
    finding: 'LeaderLeaseExpired',
    inject: async (sim) => {
      const last = await sim.stopRenewing('kaiwo-system', '83fc2279.silogen.ai');
      // Stale once leaseDurationSeconds + the monitor's leaseGracePeriod (1s in these tests) have passed.
      return last.getTime() + sim.leaseDurationSeconds * 1000 + 1000;
    },
    heal: async (sim) => {
      sim.renew('kaiwo-system', '83fc2279.silogen.ai');
      await Promise.resolve();
    },
  },
  {
    name: 'Kaiwo metrics show rising reconcile errors',
    condition: 'KaiwoOperatorHealthy',
    reason: 'ReconcileErrors',
    finding: 'ReconcileErrors',
    inject: async (sim) => {
      sim.addReconcileErrors(25);
      return Promise.resolve(Date.now());
    },
    heal: async () => {
      await Promise.resolve();
    }, // the counter stops rising: the burst leaves the 10 s rate window
  },
  {
    name: 'ClusterQueue becomes inactive',
    condition: 'KueueHealthy',
    reason: 'ClusterQueueInactive',
    finding: 'ClusterQueueInactive',
    inject: async (sim) => {
      await sim.setClusterQueueActive(false);
      return Date.now();
    },
    heal: async (sim) => {
      await sim.setClusterQueueActive(true);
    },
  },
  {
    name: 'a Workload pends past its threshold',
    condition: 'KueueHealthy',
    reason: 'WorkloadPendingTooLong',
    finding: 'WorkloadPendingTooLong',
    inject: async (sim) => {
      const created = await sim.pendingWorkload('stuck');
      return created.getTime() + 3000; // the tests' maxPendingAge
    },
    heal: async (sim) => {
      await sim.deleteWorkload('stuck');
    },
  },
  {
    name: 'a GPU node goes NotReady',
    condition: 'GPUNodesHealthy',
    reason: 'GPUNodesNotReady',
    finding: 'NodeNotReady',
    inject: async (sim) => {
      await sim.setNode('mi300x-0', { ready: false });
      return Date.now();
    },
    heal: async (sim) => {
      await sim.setNode('mi300x-0', { ready: true });
    },
  },
  {
    name: "a GPU node's allocatable drops below capacity",
    condition: 'GPUNodesHealthy',
    reason: 'GPUsUnavailable',
    finding: 'GPUsLost',
    inject: async (sim) => {
      await sim.setNode('mi300x-1', { ready: true, allocatable: 2 });
      return Date.now();
    },
    heal: async (sim) => {
      await sim.setNode('mi300x-1', { ready: true });
    },
  },
  {
    name: 'a KaiwoJob goes FAILED',
    condition: 'WorkloadsHealthy',
    reason: 'WorkloadsFailing',
    finding: 'WorkloadFailed',
    inject: async (sim) => {
      await sim.setKaiwoJobStatus('train-llama', 'FAILED');
      return Date.now();
    },
    heal: async (sim) => {
      await sim.setKaiwoJobStatus('train-llama', 'RUNNING');
    },
  },
];

/** The monitor spec the scenarios assume: scoped to the simulation, short thresholds, metrics scraped every 1 s. */
export const scenarioSpec = (sim: SimulatedStack, metrics: { url: string; secretRef: { namespace: string; name: string; key: string } }) =>
  sim.monitorSpec({
    operator: {
      leaseGracePeriod: '1s',
      // A 10 s rate window: the 25-error burst reads 150/min at once and leaves the window 10 s after it stopped.
      metrics: {
        enabled: true,
        url: metrics.url,
        interval: '1s',
        timeout: '900ms',
        rateWindow: '10s',
        tls: { insecureSkipVerify: true },
        bearerToken: { source: 'Secret', secretRef: metrics.secretRef },
      },
    },
    kueue: { maxPendingAge: '3s' },
  });

/** Records every status the monitor goes through, with the local time it was seen. */
export class MonitorRecorder {
  readonly seen: { at: number; conditions: Condition[]; monitor: KaiwoMonitor }[] = [];
  private readonly ctl = new AbortController();
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly kc: KubeConfig,
    private readonly name: string,
  ) {}

  start(): void {
    const path = `/apis/monitoring.kaiwo.silogen.ai/v1alpha1/kaiwomonitors?watch=1&fieldSelector=metadata.name=${this.name}`;
    const loop = async () => {
      while (!this.ctl.signal.aborted) {
        await watchOnce(
          this.kc,
          path,
          (ev) => {
            const m = ev.object as unknown as KaiwoMonitor;
            this.seen.push({ at: Date.now(), conditions: m.status?.conditions ?? [], monitor: m });
          },
          { idleMs: 600_000, signal: this.ctl.signal },
        ).catch(() => new Promise((r) => setTimeout(r, 200)));
      }
    };
    this.done = loop();
  }

  /**
   * First time after `since` the condition had `status` (and, when given, satisfied `also`: a monitor
   * passes through intermediate states while the cluster settles); waits up to timeoutMs.
   */
  async when(
    type: string,
    status: string,
    since: number,
    timeoutMs = 30_000,
    also?: (c: Condition, m: KaiwoMonitor) => boolean,
  ): Promise<{ at: number; condition: Condition; monitor: KaiwoMonitor }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const s of this.seen) {
        if (s.at < since) continue;
        const c = s.conditions.find((x) => x.type === type);
        if (c?.status === status && (!also || also(c, s.monitor))) return { at: s.at, condition: c, monitor: s.monitor };
      }
      if (Date.now() > deadline) {
        const last = this.seen.at(-1)?.conditions.find((x) => x.type === type);
        throw new Error(
          `${type} did not become ${status}${also ? ' (as expected)' : ''} within ${timeoutMs}ms; last seen: ${last ? `${last.status}/${last.reason}: ${last.message}` : 'none'}`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async stop(): Promise<void> {
    this.ctl.abort();
    await this.done;
  }
}
