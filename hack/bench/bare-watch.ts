/**
 * The floor of make bench-scale: a bare Node process that only watches what kaiwo-monitor watches (node:https,
 * one JSON.parse per event, nothing kept) — no cache, no checks, no metrics.
 *   tsx hack/bench/bare-watch.ts <kubeconfig>             idle floor: watches until SIGTERM, then prints the number of events seen
 *   tsx hack/bench/bare-watch.ts <kubeconfig> --synced    start-up floor: exits once every collection has sent its initial events
 *                                                        (streaming lists), printing the milliseconds since its first request
 */
import { request, type RequestOptions } from 'node:https';
import { loadKubeConfig } from '../../src/runtime/kubeconfig.js';

const PATHS = [
  '/api/v1/nodes',
  '/api/v1/pods',
  '/api/v1/namespaces',
  '/apis/coordination.k8s.io/v1/leases',
  '/apis/apps/v1/deployments',
  '/apis/kueue.x-k8s.io/v1beta2/workloads',
  '/apis/kueue.x-k8s.io/v1beta2/clusterqueues',
  '/apis/kueue.x-k8s.io/v1beta2/localqueues',
  '/apis/kueue.x-k8s.io/v1beta2/resourceflavors',
  '/apis/kaiwo.silogen.ai/v1alpha1/kaiwojobs',
  '/apis/kaiwo.silogen.ai/v1alpha1/kaiwoservices',
  '/apis/kaiwo.silogen.ai/v1alpha1/kaiwoqueueconfigs',
  '/api/v1/events?fieldSelector=type%3DWarning%2CinvolvedObject.kind%3DKaiwoJob',
  '/api/v1/events?fieldSelector=type%3DWarning%2CinvolvedObject.kind%3DKaiwoService',
];
const untilSynced = process.argv.includes('--synced');
const kc = await loadKubeConfig(process.argv[2]);
const server = new URL(kc.getCurrentCluster()?.server ?? '');
let events = 0;
let pending = PATHS.length;
let firstRequest = NaN;
/** One watch; a refusal (e.g. 429 while the server builds a CRD's watch cache on first use) is retried as asked. */
function watch(opts: RequestOptions): void {
  request(opts, (res) => {
    if ((res.statusCode ?? 0) >= 300) {
      res.resume();
      setTimeout(
        () => {
          watch(opts);
        },
        1000 * (Number(res.headers['retry-after']) || 1),
      );
      return;
    }
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const ev = JSON.parse(buf.slice(0, i)) as { type?: string; object?: { metadata?: { annotations?: Record<string, string> } } };
        buf = buf.slice(i + 1);
        events++;
        if (
          untilSynced &&
          ev.type === 'BOOKMARK' &&
          ev.object?.metadata?.annotations?.['k8s.io/initial-events-end'] === 'true' &&
          --pending === 0
        ) {
          process.stdout.write(`${Math.round(performance.now() - firstRequest)}\n`);
          process.exit(0);
        }
      }
    });
  }).end();
}
for (const path of PATHS) {
  const opts: RequestOptions = {
    method: 'GET',
    hostname: server.hostname,
    port: server.port,
    path: `${path}${path.includes('?') ? '&' : '?'}watch=1&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan`,
    headers: { Accept: 'application/json' },
  };
  await kc.applyToHTTPSOptions(opts);
  if (Number.isNaN(firstRequest)) firstRequest = performance.now();
  watch(opts);
}
process.on('SIGTERM', () => {
  process.stdout.write(`${events}\n`);
  process.exit(0);
});
