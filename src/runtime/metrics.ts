import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The operator's Prometheus metrics. Names follow controller-runtime where the concept is the same, so
 * existing dashboards and alerts for Go operators apply.
 */
export class RuntimeMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly workqueueDepth: Gauge<'name' | 'controller'>;
  readonly workqueueAdds: Counter<'name' | 'controller'>;
  readonly workqueueRetries: Counter<'name' | 'controller'>;
  readonly leaderStatus: Gauge<'name'>;
  readonly informerSynced: Gauge<'resource'>;
  readonly statusPatches: Counter<'monitor'>;
  readonly events: Counter<'reason' | 'outcome'>;
  readonly unexpectedErrors: Counter<'source'>;
  readonly authReviews: Counter<'kind' | 'result'>;
  readonly metricsResponses: Counter<'code'>;

  constructor(defaults = true) {
    const registers = [this.registry];
    // Process and Node.js metrics, event-loop delay included (nodejs_eventloop_lag_seconds, _p99_, _max_, ...).
    // Event-loop delay sampled every 100 ms, not prom-client's 10 ms: an idle operator otherwise wakes 100 times a second.
    if (defaults) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      registers,
      buckets: [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5,
        4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
      ],
    });
    this.workqueueDepth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: ['name', 'controller'],
      registers,
    });
    this.workqueueAdds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name', 'controller'],
      registers,
    });
    this.workqueueRetries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name', 'controller'],
      registers,
    });
    this.leaderStatus = new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master',
      labelNames: ['name'],
      registers,
    });
    this.informerSynced = new Gauge({
      name: 'kaiwo_monitor_informer_synced',
      help: '1 when the watch cache of a resource is synced (or the resource is known to be absent)',
      labelNames: ['resource'],
      registers,
    });
    this.statusPatches = new Counter({
      name: 'kaiwo_monitor_status_patches_total',
      help: 'Status PATCH requests that changed a KaiwoMonitor',
      labelNames: ['monitor'],
      registers,
    });
    this.unexpectedErrors = new Counter({
      name: 'kaiwo_monitor_unexpected_errors_total',
      labelNames: ['source'],
      registers,
      help: 'Errors that escaped their handler (uncaughtException, unhandledRejection, an HTTP handler that threw): bugs; the process logs them and keeps running',
    });
    this.authReviews = new Counter({
      name: 'kaiwo_monitor_metrics_auth_reviews_total',
      labelNames: ['kind', 'result'],
      registers,
      help: 'TokenReviews and SubjectAccessReviews sent to the API server for /metrics requests (answers are cached), by result',
    });
    // Present (at 0) from the start, so alerts and tests see them before the first increment.
    for (const source of ['uncaughtException', 'unhandledRejection', 'handler']) this.unexpectedErrors.inc({ source }, 0);
    for (const result of ['authenticated', 'unauthenticated', 'error']) this.authReviews.inc({ kind: 'tokenreview', result }, 0);
    for (const result of ['allowed', 'denied', 'error']) this.authReviews.inc({ kind: 'subjectaccessreview', result }, 0);
    this.metricsResponses = new Counter({
      name: 'kaiwo_monitor_metrics_responses_total',
      help: 'Answers on /metrics by HTTP status code (429: authentication rate-limited)',
      labelNames: ['code'],
      registers,
    });
    this.events = new Counter({
      name: 'kaiwo_monitor_events_total',
      help: 'Kubernetes Events by outcome (created, series, deduplicated, dropped by the rate limiter, failed)',
      labelNames: ['reason', 'outcome'],
      registers,
    });
  }
}
