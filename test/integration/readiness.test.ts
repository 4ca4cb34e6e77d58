import { expect } from 'chai';
import { get } from 'node:http';
import { localControlPlane, sharedCluster, skipWithoutBackend } from '../support/cluster.js';
import { OperatorProcess } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

function readyz(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/readyz', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => {
      resolve(0);
    });
  });
}

describe('integration: readiness tells the truth across a kube-apiserver restart', function () {
  this.timeout(120_000);
  before(skipWithoutBackend);
  let op: OperatorProcess;

  before(async () => {
    const cluster = await sharedCluster();
    op = await OperatorProcess.start(cluster.kubeconfigPath);
    await op.waitForLog((l) => l.msg === 'serving');
    await waitFor('/readyz ok', async () => (await readyz(op.probePort)) === 200);
  });

  after(async () => {
    await op.stop();
  });

  it('is not ready while the API server is down and ready again right after its caches relist, without waiting for a watch event', async function () {
    const local = await localControlPlane(this);
    await local.stopApiServer();
    await waitFor('/readyz not ready during the outage', async () => (await readyz(op.probePort)) === 503, 30_000);
    await local.startApiServer();
    const upAt = Date.now();
    // Nothing changes in the cluster: only a successful relist can make the operator ready again. The informer
    // backoff is at most 30 s; a watch resumed without relisting would stay not ready for its 5-10 min timeout.
    await waitFor('/readyz ok again', async () => (await readyz(op.probePort)) === 200, 45_000, 200);
    process.stderr.write(`      /readyz ok ${((Date.now() - upAt) / 1000).toFixed(1)}s after the API server was back\n`);
    expect(
      op.lines.map((l) => l.msg),
      'operator log messages',
    ).to.include('list/watch failed; retrying with backoff');
    expect(op.exitCode).to.equal(null);
  });
});
