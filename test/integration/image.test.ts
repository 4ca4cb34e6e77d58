import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Cluster } from '../../src/dev/backend.js';
import { repoRoot } from '../../src/dev/paths.js';
import { sharedCluster, skipWithoutBackend } from '../support/cluster.js';
import { Monitors } from '../../src/dev/monitors.js';
import { OperatorProcess } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);

/**
 * No container engine here, so this builds what the Dockerfile's runtime stage contains — production
 * dependencies (`npm ci --omit=dev`) plus compiled output and CRDs, nothing else — and runs the operator from it.
 */
describe('integration: the image layout (production dependencies + compiled output) runs the operator', function () {
  this.timeout(300_000);
  before(skipWithoutBackend);
  let cluster: Cluster;
  const app = mkdtempSync(join(tmpdir(), 'kaiwo-monitor-image-'));

  before(async () => {
    cluster = await sharedCluster();
    for (const f of ['package.json', 'package-lock.json']) cpSync(join(repoRoot, f), join(app, f));
    cpSync(join(repoRoot, 'crds'), join(app, 'crds'), { recursive: true });
    await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: app, maxBuffer: 16 * 1024 * 1024 });
    await run(join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', join(app, 'dist')]);
  });

  after(() => {
    rmSync(app, { recursive: true, force: true });
  });

  it('matches the Dockerfile and holds no dev tooling', async () => {
    const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
    expect(dockerfile).to.include('npm ci --omit=dev');
    expect(dockerfile).to.match(/ENTRYPOINT \["\/nodejs\/bin\/node", "dist\/cli\/main\.js"\]/);
    for (const dev of ['typescript', 'mocha', 'tsx', 'c8', 'eslint', 'node', 'testcontainers']) {
      expect(existsSync(join(app, 'node_modules', dev)), dev).to.equal(false);
    }
    expect(existsSync(join(app, 'node_modules', '@kubernetes', 'client-node'))).to.equal(true);
    const { stdout } = await run('du', ['-sk', app]);
    process.stderr.write(`      image layout (node_modules + dist + crds): ${(Number(stdout.split('\t')[0]) / 1024).toFixed(1)} MiB\n`);
  });

  it('runs `kaiwo-monitor run` from that layout and writes a status', async () => {
    const monitors = new Monitors(cluster.kubeConfig());
    await monitors.create('image-layout', { gpuNodes: { enabled: false } });
    const op = await OperatorProcess.start(cluster.kubeconfigPath, [], { entry: join(app, 'dist', 'cli', 'main.js') });
    try {
      const ready = await waitFor('Ready=True', async () => {
        const c = (await monitors.get('image-layout')).status?.conditions?.find((x) => x.type === 'Ready');
        return c?.status === 'True' ? c : undefined;
      }, 60_000);
      expect(ready.reason).to.equal('Reconciled');
    } finally {
      expect(await op.stop()).to.equal(0);
      await monitors.delete('image-layout');
    }
  });
});
