import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../src/dev/paths.js';
import { freePort } from '../../src/dev/ports.js';
import { sharedCluster } from '../support/cluster.js';

const run = promisify(execFile);
const entry = join(repoRoot, 'src', 'cli', 'main.ts');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: repoRoot });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('integration: kaiwo-monitor entry point', function () {
  this.timeout(60_000);

  it('connects with --kubeconfig and logs one JSON line with the server version', async () => {
    const c = await sharedCluster();
    const r = await cli(['run', '--kubeconfig', c.kubeconfigPath]);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).to.have.length(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).to.include({ level: 'info', logger: 'kaiwo-monitor', msg: 'connected to Kubernetes API server', serverVersion: c.serverVersion });
    expect(line.ts).to.be.a('string');
  });

  it('exits 1 with a clear message when the API server is unreachable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kaiwo-monitor-cli-'));
    const port = await freePort(); // nothing listens there
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'x',
      clusters: [{ name: 'x', cluster: { server: `https://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'x', user: { token: 'not-a-real-token' } }],
      contexts: [{ name: 'x', context: { cluster: 'x', user: 'x' } }],
    }));
    const r = await cli(['run', '--kubeconfig', kubeconfig]);
    expect(r.code).to.equal(1);
    const line = JSON.parse(r.stderr.trim().split('\n').pop()!) as { level: string; error: string };
    expect(line.level).to.equal('error');
    expect(line.error).to.include(`cannot connect to the Kubernetes API server at https://127.0.0.1:${port}`);
    expect(r.stderr).to.not.include('not-a-real-token');
  });

  it('rejects an unknown flag with one line and exit code 2', async () => {
    const r = await cli(['run', '--bogus']);
    expect(r.code).to.equal(2);
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    expect(r.stderr).to.include('--bogus');
  });
});
