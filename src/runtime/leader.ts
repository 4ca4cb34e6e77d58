import type { KubeConfig } from './kubeconfig.js';
import { sleep } from './backoff.js';
import { microTime } from '../api/time.js';
import type { Logger } from './log.js';
import { HttpStatusError } from './http.js';
import { rawJson } from './rawrequest.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  /** controller-runtime defaults: 15 s / 10 s / 2 s. */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
  onStartedLeading: () => void;
  /** Called once when leadership is lost (not on release); controller-runtime exits the process here. */
  onStoppedLeading: () => void;
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

/**
 * Lease-based leader election with client-go's semantics: a lease held by someone else counts as expired only
 * after `leaseDuration` has passed on *our* clock since we last saw it change (no trust in remote clocks);
 * writes are compare-and-swap on resourceVersion; the leader renews every `retryPeriod` and gives up when it
 * could not renew for `renewDeadline`; release() empties the holder so a standby takes over at once.
 */
export class LeaderElector {
  leading = false;
  private observedSpec = '';
  private observedAt = 0;
  private lease: Lease | undefined;
  private readonly controller = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;

  constructor(
    private readonly kc: KubeConfig,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.opts.namespace}/leases`;
  }

  start(): void {
    this.loop ??= this.run();
  }

  private async run(): Promise<void> {
    const signal = this.controller.signal;
    const stopped = (): boolean => signal.aborted;
    // Acquire.
    while (!signal.aborted && !this.leading) {
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        this.opts.log.info('acquired leader lease', { lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity });
        this.opts.onStartedLeading();
        break;
      }
      await sleep(this.retryPeriodMs, signal);
    }
    // Renew.
    let lastRenew = Date.now();
    while (!signal.aborted && this.leading) {
      await sleep(this.retryPeriodMs, signal);
      if (stopped()) break;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = Date.now();
        continue;
      }
      if (Date.now() - lastRenew >= this.renewDeadlineMs) {
        this.leading = false;
        this.opts.log.error('lost leader lease: could not renew within the renew deadline', {
          lease: `${this.opts.namespace}/${this.opts.name}`,
        });
        this.opts.onStoppedLeading();
      }
    }
  }

  /** One attempt; true when we hold the lease afterwards. Errors count as "not now". */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const wanted = (spec: Lease['spec'], isNew: boolean): Lease['spec'] => ({
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: isNew ? microTime(now) : (spec?.acquireTime ?? microTime(now)),
      renewTime: microTime(now),
      leaseTransitions: (spec?.leaseTransitions ?? 0) + (isNew && spec?.holderIdentity ? 1 : 0),
    });
    try {
      let lease: Lease;
      try {
        lease = await rawJson<Lease>(this.kc, {
          method: 'GET',
          path: `${this.path}/${this.opts.name}`,
          timeoutMs: this.retryPeriodMs * 2,
          unlimited: true,
        });
      } catch (err) {
        if (!(err instanceof HttpStatusError) || err.status !== 404) throw err;
        this.lease = await rawJson<Lease>(this.kc, {
          unlimited: true,
          method: 'POST',
          path: this.path,
          timeoutMs: this.retryPeriodMs * 2,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.opts.name, namespace: this.opts.namespace },
            spec: wanted(undefined, true),
          },
        });
        this.observe(this.lease);
        return true;
      }
      this.observe(lease);
      const holder = lease.spec?.holderIdentity ?? '';
      const mine = holder === this.opts.identity;
      const expired = Date.now() > this.observedAt + (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
      if (holder && !mine && !expired) return false;
      const body = { ...lease, spec: wanted(lease.spec, !mine) };
      this.lease = await rawJson<Lease>(this.kc, {
        unlimited: true,
        method: 'PUT',
        path: `${this.path}/${this.opts.name}`,
        body,
        timeoutMs: this.retryPeriodMs * 2,
      });
      this.observe(this.lease);
      return true;
    } catch (err) {
      if (!(err instanceof HttpStatusError && err.status === 409)) {
        this.opts.log.debug('leader election attempt failed', { error: err });
      }
      return false;
    }
  }

  private observe(lease: Lease): void {
    const spec = JSON.stringify(lease.spec ?? {});
    if (spec !== this.observedSpec) {
      this.observedSpec = spec;
      this.observedAt = Date.now();
    }
  }

  /** Stops electing; if leading, hands the lease back (empty holder, 1 s duration) so a standby takes over. */
  async release(): Promise<void> {
    this.controller.abort();
    await this.loop;
    if (!this.leading || !this.lease) return;
    this.leading = false;
    try {
      const now = microTime(new Date());
      await rawJson(this.kc, {
        unlimited: true,
        method: 'PUT',
        path: `${this.path}/${this.opts.name}`,
        timeoutMs: 3000,
        body: {
          ...this.lease,
          spec: { ...this.lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
        },
      });
      this.opts.log.info('released leader lease', { lease: `${this.opts.namespace}/${this.opts.name}` });
    } catch (err) {
      this.opts.log.warn('could not release leader lease', { error: err });
    }
  }
}
