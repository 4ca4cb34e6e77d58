import { Manager } from '../controller/manager.js';
import { API_LIMIT_DEFAULTS } from '../runtime/api-limit.js';
import { loadKubeConfig } from '../runtime/kubeconfig.js';
import type { Counter } from 'prom-client';
import { createLogger, type Logger, type LogLevel } from '../runtime/log.js';
import { serverInfo } from './connect.js';
import { durationMs } from '../api/duration.js';
import type { FlagDef } from './flags.js';

/** Flags of every command that talks to the cluster. */
export const commonFlags: FlagDef[] = [
  { name: 'kubeconfig', type: 'string', default: '', help: 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)' },
  { name: 'log-level', type: 'enum', values: ['error', 'warn', 'info', 'debug'], default: 'info', help: 'log level' },
  { name: 'log-format', type: 'enum', values: ['json', 'console'], default: 'json', help: 'JSON lines, or human-readable console lines' },
];

/** Flags of `run` only. */
export const runFlags: FlagDef[] = [
  { name: 'metrics-bind-address', type: 'string', default: '0', help: 'address of the metrics endpoint, e.g. :8443; 0 disables it' },
  {
    name: 'metrics-secure',
    type: 'bool',
    default: 'true',
    help: 'serve metrics over HTTPS with TokenReview/SubjectAccessReview authorization',
  },
  {
    name: 'metrics-cert-path',
    type: 'string',
    default: '',
    help: 'directory with the metrics serving certificate (default: self-signed at start)',
  },
  { name: 'metrics-cert-name', type: 'string', default: 'tls.crt', help: 'certificate file name in --metrics-cert-path' },
  { name: 'metrics-cert-key', type: 'string', default: 'tls.key', help: 'key file name in --metrics-cert-path' },
  { name: 'health-probe-bind-address', type: 'string', default: ':8081', help: 'address of /healthz and /readyz; 0 disables them' },
  { name: 'leader-elect', type: 'bool', default: 'false', help: 'elect a leader on a Lease so only one replica reconciles' },
  { name: 'leader-election-namespace', type: 'string', default: '', help: 'namespace of the leader Lease (default: the pod namespace)' },
  { name: 'leader-election-id', type: 'string', default: 'kaiwo-monitor.monitoring.kaiwo.silogen.ai', help: 'name of the leader Lease' },
  {
    name: 'leader-elect-lease-duration',
    type: 'duration',
    default: '15s',
    help: 'how long a standby waits before taking an unrenewed lease',
  },
  { name: 'leader-elect-renew-deadline', type: 'duration', default: '10s', help: 'how long the leader retries renewing before giving up' },
  { name: 'leader-elect-retry-period', type: 'duration', default: '2s', help: 'interval between lease attempts' },
  { name: 'max-concurrent-reconciles', type: 'int', default: '2', help: 'KaiwoMonitors reconciled in parallel' },
  {
    name: 'status-heartbeat',
    type: 'duration',
    default: '10m',
    help: 'refresh status.lastCheckTime at least this often even when nothing changes',
  },
  {
    name: 'kube-api-qps',
    type: 'int',
    default: String(API_LIMIT_DEFAULTS.qps),
    help: 'API server requests per second (client-side limit; watches count once per start; 0 turns it off)',
  },
  {
    name: 'kube-api-burst',
    type: 'int',
    default: String(API_LIMIT_DEFAULTS.burst),
    help: 'API server requests allowed at once above --kube-api-qps',
  },
];

/**
 * Process-level handlers for errors that escaped every handler: each is logged and counted
 * (kaiwo_monitor_unexpected_errors_total) and the process keeps running. For unhandledRejection that is plainly
 * right. For uncaughtException it is a choice: Node's default is to exit, but every input we handle is hostile
 * and one odd request or answer must not take the monitor down; the operator's own state lives in the API server
 * and its caches relist, so a bug in one callback is better reported (alert on the counter) than turned into a
 * crash loop. Errors before the metrics exist are counted once they do.
 */
function catchUnexpected(log: Logger): { count: (c: Counter<'source'>) => void } {
  let counter: Counter<'source'> | undefined;
  const early: string[] = [];
  const report = (source: 'uncaughtException' | 'unhandledRejection', err: unknown) => {
    log.error(source === 'uncaughtException' ? 'uncaught exception; continuing' : 'unhandled promise rejection; continuing', {
      error: err,
    });
    if (counter) counter.inc({ source });
    else early.push(source);
  };
  process.on('uncaughtException', (err) => {
    report('uncaughtException', err);
  });
  process.on('unhandledRejection', (reason) => {
    report('unhandledRejection', reason);
  });
  return {
    count: (c) => {
      counter = c;
      for (const source of early.splice(0)) c.inc({ source });
    },
  };
}

/** `kaiwo-monitor run`: the operator. Resolves with the process exit code. */
export async function runOperator(values: Record<string, string>): Promise<number> {
  const log = createLogger({ level: values['log-level'] as LogLevel, format: values['log-format'] === 'console' ? 'console' : 'json' });
  const unexpected = catchUnexpected(log);
  // Catch SIGTERM/SIGINT from the very start, so a signal during start-up still shuts down gracefully.
  let signalled: string | undefined;
  let onSignal: ((signal: string) => void) | undefined;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      signalled ??= sig;
      onSignal?.(sig);
    });
  }
  let kc;
  try {
    const qps = Number(values['kube-api-qps'] ?? API_LIMIT_DEFAULTS.qps);
    kc = await loadKubeConfig(values.kubeconfig === '' ? undefined : values.kubeconfig, process.env, {
      qps,
      burst: Math.max(1, Number(values['kube-api-burst'] ?? API_LIMIT_DEFAULTS.burst)),
    });
    const info = await serverInfo(kc);
    log.info('connected to Kubernetes API server', { server: info.server, serverVersion: info.gitVersion });
  } catch (err) {
    log.error('startup failed', { error: err });
    return 1;
  }
  const manager = new Manager({
    kc,
    log,
    metricsBindAddress: values['metrics-bind-address'] ?? '0',
    metricsSecure: values['metrics-secure'] === 'true',
    ...(values['metrics-cert-path'] ? { metricsCertPath: values['metrics-cert-path'] } : {}),
    metricsCertName: values['metrics-cert-name'] ?? 'tls.crt',
    metricsCertKey: values['metrics-cert-key'] ?? 'tls.key',
    healthProbeBindAddress: values['health-probe-bind-address'] ?? ':8081',
    leaderElect: values['leader-elect'] === 'true',
    ...(values['leader-election-namespace'] ? { leaderElectionNamespace: values['leader-election-namespace'] } : {}),
    leaderElectionId: values['leader-election-id'] ?? 'kaiwo-monitor',
    leaseDurationMs: durationMs(values['leader-elect-lease-duration'] ?? '15s'),
    renewDeadlineMs: durationMs(values['leader-elect-renew-deadline'] ?? '10s'),
    retryPeriodMs: durationMs(values['leader-elect-retry-period'] ?? '2s'),
    maxConcurrentReconciles: Math.max(1, Number(values['max-concurrent-reconciles'])),
    statusHeartbeatMs: durationMs(values['status-heartbeat'] ?? '10m'),
    onLostLeadership: () => {
      log.error('leadership lost; exiting so a fresh process can rejoin the election');
      process.exit(1);
    },
  });
  unexpected.count(manager.metrics.unexpectedErrors);
  try {
    await manager.start();
  } catch (err) {
    log.error('startup failed', { error: err });
    await manager.stop().catch(() => undefined);
    return 1;
  }
  return new Promise((resolveRun) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info('shutting down', { signal });
      const hard = setTimeout(() => {
        log.warn('graceful shutdown took longer than 5s; exiting');
        resolveRun(0);
      }, 5000);
      hard.unref();
      void manager.stop().then(
        () => {
          clearTimeout(hard);
          log.info('stopped');
          resolveRun(0);
        },
        (err: unknown) => {
          log.error('shutdown failed', { error: err });
          resolveRun(1);
        },
      );
    };
    onSignal = shutdown;
    if (signalled) shutdown(signalled);
  });
}
