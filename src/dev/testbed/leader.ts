import type { KubeConfig } from '@kubernetes/client-node';
import { microTime } from '../../api/time.js';
import { rawJson, RawRequestError } from '../../runtime/rawrequest.js';

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
interface Lease { metadata: { resourceVersion?: string }; spec?: LeaseSpec }

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

/**
 * client-go's Lease lock as controller-runtime uses it (15 s lease, 10 s renew deadline, 2 s retry): a candidate
 * takes the Lease only after it saw the same record unchanged for leaseDuration (local observed time, not the
 * holder's renewTime); the leader renews every retry period and gives up after renewDeadline without a successful
 * renewal. ReleaseOnCancel is off: stopping never hands the Lease back, the next leader waits it out.
 */
export class LeaderElector {
  private observed: string | undefined;
  private observedAt = 0;
  private lastRenew = 0;
  private timer: NodeJS.Timeout | undefined;
  leading = false;

  constructor(private readonly kc: KubeConfig, private readonly o: LeaderElectionOptions) {}

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases/${this.o.name}`;
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const duration = this.o.leaseDurationMs ?? 15_000;
    const now = new Date();
    let lease: Lease | undefined;
    try {
      lease = await rawJson<Lease>(this.kc, { method: 'GET', path: this.path });
    } catch (err) {
      if (!(err instanceof RawRequestError) || err.status !== 404) return false;
    }
    const spec: LeaseSpec = { holderIdentity: this.o.identity, leaseDurationSeconds: duration / 1000, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 };
    if (!lease) {
      await rawJson(this.kc, { method: 'POST', path: this.path.replace(/\/[^/]+$/, ''), body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.o.name, namespace: this.o.namespace }, spec } });
      return true;
    }
    const rec = lease.spec ?? {};
    const key = JSON.stringify([rec.holderIdentity, rec.renewTime, rec.acquireTime, rec.leaseTransitions]);
    if (key !== this.observed) {
      this.observed = key;
      this.observedAt = now.getTime();
    }
    const held = rec.holderIdentity && rec.holderIdentity !== this.o.identity;
    if (held && this.observedAt + (rec.leaseDurationSeconds ?? 15) * 1000 > now.getTime()) return false;
    if (rec.holderIdentity === this.o.identity) {
      spec.acquireTime = rec.acquireTime;
      spec.leaseTransitions = rec.leaseTransitions ?? 0;
    } else {
      spec.leaseTransitions = (rec.leaseTransitions ?? 0) + 1;
    }
    await rawJson(this.kc, {
      method: 'PUT', path: this.path,
      body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.o.name, namespace: this.o.namespace, resourceVersion: lease.metadata.resourceVersion }, spec },
    });
    this.observed = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.acquireTime, spec.leaseTransitions]);
    this.observedAt = now.getTime();
    return true;
  }

  /** Runs until leadership is lost (then `onLost`, as controller-runtime exits) or stop(). */
  run(onLeading: () => void, onLost: () => void, onError: (err: Error) => void = () => undefined): void {
    const retry = this.o.retryPeriodMs ?? 2000;
    const deadline = this.o.renewDeadlineMs ?? 10_000;
    const tick = async () => {
      const ok = await this.tryAcquireOrRenew().catch((err: unknown) => {
        onError(err as Error);
        return false;
      });
      if (ok) {
        this.lastRenew = Date.now();
        if (!this.leading) {
          this.leading = true;
          onLeading();
        }
      } else if (this.leading && Date.now() - this.lastRenew > deadline) {
        this.leading = false;
        onLost();
        return;
      }
      this.timer = setTimeout(() => void tick(), retry);
    };
    void tick();
  }

  /** Stops renewing without releasing the Lease (LeaderElectionReleaseOnCancel is false in Kaiwo). */
  stop(): void {
    clearTimeout(this.timer);
  }
}
