/**
 * The floor of make bench-scale's idle CPU: a bare Node process that only watches what kaiwo-monitor watches
 * (node:https, one JSON.parse per event, nothing kept) — no cache, no checks, no metrics. Whatever a Node watcher
 * pays per watch event on this machine, this pays too.
 *   tsx hack/bench/bare-watch.ts <kubeconfig>   (SIGTERM prints the number of events seen)
 */
import { request, type RequestOptions } from 'node:https';
import { loadKubeConfig } from '../../src/runtime/kubeconfig.js';

const PATHS = [
  '/api/v1/nodes', '/api/v1/pods', '/api/v1/namespaces', '/apis/coordination.k8s.io/v1/leases', '/apis/apps/v1/deployments',
  '/apis/kueue.x-k8s.io/v1beta2/workloads', '/apis/kueue.x-k8s.io/v1beta2/clusterqueues', '/apis/kueue.x-k8s.io/v1beta2/localqueues',
  '/apis/kueue.x-k8s.io/v1beta2/resourceflavors', '/apis/kaiwo.silogen.ai/v1alpha1/kaiwojobs',
];
const kc = await loadKubeConfig(process.argv[2]);
const server = new URL(kc.getCurrentCluster()?.server ?? '');
let events = 0;
for (const path of PATHS) {
  const opts: RequestOptions = { method: 'GET', hostname: server.hostname, port: server.port, path: `${path}?watch=1&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan`, headers: { Accept: 'application/json' } };
  await kc.applyToHTTPSOptions(opts);
  request(opts, (res) => {
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        JSON.parse(buf.slice(0, i));
        buf = buf.slice(i + 1);
        events++;
      }
    });
  }).end();
}
process.on('SIGTERM', () => {
  process.stdout.write(`${events}\n`);
  process.exit(0);
});
