import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_FLAGS } from '../../src/cli/nodeflags.js';
import { freePort } from '../../src/localcluster/ports.js';
import { repoRoot } from '../../src/localcluster/paths.js';
import { kaiwoMonitor } from '../support/commands.js';
import { sharedCluster, skipWithoutBackend } from '../support/cluster.js';
import { type LogLine, OperatorProcess } from '../support/operator.js';

const cli = kaiwoMonitor;

describe('integration: kaiwo-monitor entry point', function () {
  this.timeout(60_000);
  before(skipWithoutBackend);

  it('connects with --kubeconfig, logs the server version, runs until SIGTERM and stops within 5s', async () => {
    const c = await sharedCluster();
    const op = await OperatorProcess.start(c.kubeconfigPath);
    let line: LogLine;
    try {
      line = await op.waitForLog((l) => l.msg === 'connected to Kubernetes API server');
      await op.waitForLog((l) => l.msg === 'serving');
    } catch (err) {
      await op.stop('SIGKILL');
      throw err;
    }
    // Started without the Node flags, the process replaced itself (same pid) with one that has them.
    const cmdline = readFileSync(`/proc/${String(op.child.pid)}/cmdline`, 'utf8').split('\0');
    const t0 = Date.now();
    const code = await op.stop('SIGTERM');
    const stopMs = Date.now() - t0;
    expect(line).to.include({ level: 'info', logger: 'kaiwo-monitor', serverVersion: c.serverVersion });
    expect(line.ts).to.be.a('string');
    expect(code).to.equal(0);
    expect(stopMs).to.be.below(5000);
    expect(cmdline, 'command line of the running operator').to.include.members([...NODE_FLAGS]);
  });

  it('exits 1 with a clear message when the API server is unreachable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kaiwo-monitor-cli-'));
    const port = await freePort(); // nothing listens there
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'x',
        clusters: [{ name: 'x', cluster: { server: `https://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'x', user: { token: 'not-a-real-token' } }],
        contexts: [{ name: 'x', context: { cluster: 'x', user: 'x' } }],
      }),
    );
    const r = await cli(['run', '--kubeconfig', kubeconfig]);
    expect(r.code).to.equal(1);
    const line = JSON.parse(r.stderr.trim().split('\n').pop()!) as { level: string; error: string };
    expect(line.level).to.equal('error');
    expect(line.error).to.include(`cannot connect to the Kubernetes API server at https://127.0.0.1:${port}`);
    expect(r.stderr).to.not.include('not-a-real-token');
  });

  it('rejects an unknown flag or a bad value with one line and exit code 2', async () => {
    for (const args of [['run', '--bogus'], ['run', '--log-level=loud'], ['launch']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).to.have.length(1);
    }
    expect((await cli(['run', '--bogus'])).stderr).to.include('--bogus');
  });

  it('prints help for every flag', async () => {
    const r = await cli(['run', '--help']);
    expect(r.code).to.equal(0);
    for (const flag of [
      '--metrics-bind-address',
      '--metrics-secure',
      '--health-probe-bind-address',
      '--leader-elect',
      '--kubeconfig',
      '--log-level',
      '--log-format',
    ]) {
      expect(r.stdout).to.include(flag);
    }
  });
});

describe('integration: kaiwo-monitor runs with the Node flags of the image however it is started', function () {
  this.timeout(60_000);

  /** `version -o json` of the CLI started as `node --import tsx <script>`, where script may be a symlink to main.ts. */
  function version(script: string, env: NodeJS.ProcessEnv = process.env): Promise<{ nodeFlags: string[]; help: string }> {
    const run = (args: string[]) =>
      new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['--import', 'tsx', script, ...args], { cwd: repoRoot, env }, (err, stdout, stderr) => {
          if (err) reject(new Error(`${script} ${args.join(' ')}: ${stderr}`));
          else resolve(stdout);
        });
      });
    return Promise.all([run(['version', '-o', 'json']), run(['--help'])]).then(([json, help]) => ({
      nodeFlags: (JSON.parse(json) as { nodeFlags: string[] }).nodeFlags,
      help,
    }));
  }

  it('version -o json reports them when node was started without them, as kaiwo-monitor and as the kubectl plugin', async () => {
    const r = await cli(['version', '-o', 'json']);
    expect(r.code).to.equal(0);
    expect((JSON.parse(r.stdout) as { nodeFlags: string[] }).nodeFlags).to.include.members([...NODE_FLAGS]);
    const dir = mkdtempSync(join(tmpdir(), 'kaiwo-monitor-plugin-'));
    try {
      const plugin = join(dir, 'kubectl-kaiwo_monitor');
      symlinkSync(join(repoRoot, 'src', 'cli', 'main.ts'), plugin);
      const p = await version(plugin);
      expect(p.nodeFlags).to.include.members([...NODE_FLAGS]);
      expect(p.help, 'still named as the plugin after running itself again').to.include('Use "kubectl kaiwo-monitor <command> --help"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps a value given in NODE_OPTIONS and adds nothing', async () => {
    const r = await version(join(repoRoot, 'src', 'cli', 'main.ts'), { ...process.env, NODE_OPTIONS: '--max-semi-space-size=8' });
    expect(r.nodeFlags).to.deep.equal(['--import', 'tsx']);
  });
});
