/**
 * The Kaiwo operator's stand-in on the test bed (Kaiwo's module is not served, so its binary cannot be built
 * here). Behaviour only, as kaiwo.md documents Kaiwo v0.1.9 with controller-runtime v0.21:
 *  - leader election on Lease kaiwo-system/83fc2279.silogen.ai, 15/10/2 s, never released on shutdown;
 *  - controller-runtime metrics over HTTPS on 127.0.0.1 behind TokenReview/SubjectAccessReview (a standby
 *    exposes only leader_election_master_status);
 *  - KaiwoQueueConfig/KaiwoJob reconciles as kaiwo-reconcile.ts describes, only while leading.
 * Run by the test bed for each Ready kwok pod of Deployment kaiwo-controller-manager:
 *   node --import tsx src/dev/testbed/kaiwo-operator.ts --kubeconfig=F --identity=POD_UUID
 *     --metrics-bind-address=127.0.0.1:P --metrics-cert-path=DIR --kueue-version=v1beta1|v1beta2
 */
import { KubeConfig } from '@kubernetes/client-node';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { createLogger } from '../../runtime/log.js';
import { startMetricsServer } from '../../runtime/serving.js';
import { KAIWO_LEASE } from './kaiwo.js';
import { KaiwoReconciler } from './kaiwo-reconcile.js';
import { LeaderElector } from './leader.js';

const CONTROLLERS = ['kaiwojob', 'kaiwoservice', 'kaiwoqueueconfig'];

function flag(name: string, fallback?: string): string {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  const v = hit ? hit.slice(name.length + 3) : fallback;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}

async function main(): Promise<void> {
  const log = createLogger({ level: 'info', name: 'kaiwo-standin' });
  const kc = new KubeConfig();
  kc.loadFromFile(flag('kubeconfig'));
  const registry = new Registry();
  const registers = [registry];
  const leader = new Gauge({ name: 'leader_election_master_status', help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.', labelNames: ['name'], registers });
  leader.set({ name: KAIWO_LEASE }, 0);
  const lr: Registry[] = [];
  const total = new Counter({ name: 'controller_runtime_reconcile_total', help: 'Total number of reconciliations per controller', labelNames: ['controller', 'result'], registers: lr });
  const errors = new Counter({ name: 'controller_runtime_reconcile_errors_total', help: 'Total number of reconciliation errors per controller', labelNames: ['controller'], registers: lr });
  const panics = new Counter({ name: 'controller_runtime_reconcile_panics_total', help: 'Total number of reconciliation panics per controller', labelNames: ['controller'], registers: lr });
  const time = new Histogram({ name: 'controller_runtime_reconcile_time_seconds', help: 'Length of time per reconciliation per controller', labelNames: ['controller'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60], registers: lr });
  const depth = new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name', 'controller'], registers: lr });
  for (const c of CONTROLLERS) {
    total.inc({ controller: c, result: 'success' }, 0);
    total.inc({ controller: c, result: 'error' }, 0);
    errors.inc({ controller: c }, 0);
    panics.inc({ controller: c }, 0);
    depth.set({ name: c, controller: c }, 0);
  }
  const server = await startMetricsServer({
    bindAddress: flag('metrics-bind-address'), secure: true, certPath: flag('metrics-cert-path'), registry, kc, log,
  });
  const reconciler = new KaiwoReconciler(kc, flag('kueue-version', 'v1beta1'), (controller, ok, seconds) => {
    total.inc({ controller, result: ok ? 'success' : 'error' });
    if (!ok) errors.inc({ controller });
    time.observe({ controller }, seconds);
  });
  const elector = new LeaderElector(kc, { namespace: flag('lease-namespace', 'kaiwo-system'), name: KAIWO_LEASE, identity: flag('identity') });
  let loop: NodeJS.Timeout | undefined;
  elector.run(() => {
    log.info('successfully acquired lease', { lease: `kaiwo-system/${KAIWO_LEASE}` });
    leader.set({ name: KAIWO_LEASE }, 1);
    // A leader's /metrics carries the controller families too (they register with the manager's controllers).
    for (const m of [total, errors, panics, time, depth]) registry.registerMetric(m);
    const tick = () => {
      void reconciler.reconcileAll().catch((err: unknown) => {
        log.error('reconcile failed', { error: (err as Error).message });
      }).finally(() => {
        loop = setTimeout(tick, 1000);
      });
    };
    tick();
  }, () => {
    log.error('leader election lost');
    process.exit(1);
  }, (err) => {
    log.warn('error retrieving or updating the leader lease', { error: err.message });
  });
  log.info('attempting to acquire leader lease', { lease: `kaiwo-system/${KAIWO_LEASE}` });
  const shutdown = () => {
    // controller-runtime cancels the manager's context; the Lease is not released (ReleaseOnCancel off).
    elector.stop();
    clearTimeout(loop);
    setTimeout(() => process.exit(0), 2000).unref(); // keep-alive scrapes would hold close() open
    void server?.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

void main().catch((err: unknown) => {
  process.stderr.write(`kaiwo stand-in failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
