/**
 * What a new user does in the first hour, run for real: the README's `$(make -s cluster-up)` recipes literally,
 * `make demo SIM=1` next to a cluster the user started, `make cluster-down`; the npm tarball installed on a clean
 * prefix, the system Node refused in one line, `kubectl kaiwo-monitor` as a plugin (npm bin and krew layout);
 * `check -f` validated by the API server (dry-run create) or offline when the CRD is missing.
 */
import { expect } from 'chai';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { Cluster } from '../../src/localcluster/backend.js';
import { LocalControlPlane } from '../../src/localcluster/controlplane.js';
import { Monitors } from '../support/fakes/monitors.js';
import { repoRoot } from '../../src/localcluster/paths.js';
import { sharedCluster, skipWithoutBackend } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; never rejects (the exit code is part of the result). */
function sh(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<Result> {
  return new Promise((resolve) => {
    const p = execFile(
      cmd,
      args,
      { cwd: opts.cwd ?? repoRoot, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 600_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 99) : 0, stdout, stderr });
      },
    );
    p.stdin?.end(opts.input ?? '');
  });
}

/** Starts a long-running shell command in its own process group; `stop` ends the group and resolves with its output. */
function background(script: string, env: NodeJS.ProcessEnv): { out: () => string; stop: () => Promise<string> } {
  let out = '';
  const p: ChildProcess = spawn('bash', ['-c', script], { cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  p.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  p.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((r) =>
    p.once('exit', () => {
      r();
    }),
  );
  return {
    out: () => out,
    stop: async () => {
      if (p.pid !== undefined && p.exitCode === null) process.kill(-p.pid, 'SIGTERM');
      await exited;
      return out;
    },
  };
}

/** Shell lines from the README's ```sh blocks that contain `needle`, without trailing comments. */
function readmeRecipes(needle: string): string[] {
  const blocks = [...readFileSync(join(repoRoot, 'README.md'), 'utf8').matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  return blocks
    .flatMap((b) => b.split('\n'))
    .filter((l) => l.includes(needle))
    .map((l) => l.replace(/\s+#.*$/, '').trim());
}

const nodeDir = join(repoRoot, 'node_modules', 'node', 'bin');
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

describe('integration: first run — README recipes, npm tarball, kubectl plugin, check -f admission', function () {
  this.timeout(900_000);
  before(skipWithoutBackend);
  const work = mkdtempSync(join(tmpdir(), 'kaiwo-monitor-first-run-'));
  let cpBin: string;
  let basePath: string;

  before(async () => {
    cpBin = (await sh('bash', ['hack/controlplane/build.sh', '--bin-dir'])).stdout.trim();
    basePath = `${join(repoRoot, 'node_modules', '.bin')}:${cpBin}:${process.env.PATH ?? ''}`;
  });

  describe('make cluster-up / demo / cluster-down, as the README uses them', () => {
    const clusterDir = join(work, 'cluster');
    // A private control plane (not the user's); MAKEFLAGS keeps make from re-running `npm ci` under other tests.
    // A private npm cache too: npx links this checkout into <cache>/_npx/<hash of its path>, and an entry left
    // half-made by an interrupted earlier run (node_modules without package.json) makes every later npx fail.
    const env = () => ({
      ...process.env,
      PATH: basePath,
      KAIWO_MONITOR_CLUSTER_DIR: clusterDir,
      MAKEFLAGS: '-o node_modules/.package-lock.json',
      npm_config_cache: join(work, 'npm-cache'),
    });
    after(async () => {
      await sh('make', ['-s', 'cluster-down'], { env: env() });
    });

    it('`make -s cluster-up` prints only the kubeconfig path on stdout (progress on stderr), started or already running', async () => {
      const first = await sh('make', ['-s', 'cluster-up'], { env: env() });
      expect(first.code, first.stderr).to.equal(0);
      expect(first.stdout).to.match(/^\/\S+\n$/);
      expect(existsSync(first.stdout.trim())).to.equal(true);
      expect(first.stderr).to.include('local control plane started');
      const again = await sh('make', ['-s', 'cluster-up'], { env: env() });
      expect(again.stdout).to.equal(first.stdout);
      expect(again.stderr).to.include('already running');
    });

    it('every README recipe with $(make -s cluster-up) works as written', async () => {
      const recipes = readmeRecipes('$(make -s cluster-up)');
      expect(recipes.length, 'README recipes').to.be.at.least(2);
      expect((await sh('make', ['-s', 'build'], { env: env() })).code, 'make build').to.equal(0);
      for (const recipe of recipes) {
        if (/kaiwo-monitor run\b/.test(recipe)) {
          const op = background(recipe, env());
          try {
            await waitFor(
              () => `"${recipe}" to connect; output so far:\n${op.out().slice(-3000)}`,
              () => op.out().includes('connected to Kubernetes API server'),
              180_000,
            );
          } finally {
            await op.stop();
          }
          expect(op.out(), recipe).to.not.include('"level":"error"');
        } else {
          const r = await sh('bash', ['-c', recipe], { env: env() });
          expect(r.code, `${recipe}\n${r.stderr}`).to.equal(0);
          expect(r.stdout, recipe).to.match(/\bdefault\b/);
        }
      }
    });

    it('`make demo SIM=1` tells its story on a cluster the user started and leaves that cluster running', async () => {
      const demo = await sh('make', ['-s', 'demo', 'SIM=1'], { env: { ...env(), DEMO_ONCE: '1' } });
      expect(demo.code, demo.stdout.slice(-2000) + demo.stderr.slice(-2000)).to.equal(0);
      expect(demo.stdout).to.include('keeps running');
      const status = await sh('make', ['-s', 'cluster-status'], { env: env() });
      expect(status.code, status.stdout).to.equal(0);
      // README: Events of the cluster-scoped monitor are in namespace default.
      const kubeconfig = (await sh('make', ['-s', 'cluster-up'], { env: env() })).stdout.trim();
      const events = await sh('kubectl', ['events', '-n', 'default', '--for', 'kaiwomonitor/default'], {
        env: { ...env(), KUBECONFIG: kubeconfig },
      });
      expect(events.code, events.stderr).to.equal(0);
      expect(events.stdout).to.match(/KaiwoMonitor\/default/i);
      expect(events.stdout).to.include('ClusterQueueInactive');
    });

    it('`make cluster-down` stops it and removes its state directory', async () => {
      expect(readdirSync(clusterDir)).to.include('data');
      const down = await sh('make', ['-s', 'cluster-down'], { env: env() });
      expect(down.code, down.stderr).to.equal(0);
      expect(down.stdout).to.include('stopped');
      expect(existsSync(clusterDir)).to.equal(false);
    });
  });

  describe('the npm tarball on a clean prefix, and the kubectl plugin', () => {
    const prefix = join(work, 'prefix');
    let cluster: Cluster;
    let tgz: string;
    const pluginEnv = (bin: string, kubeconfig: string) => ({
      ...process.env,
      PATH: `${bin}:${nodeDir}:${cpBin}:/usr/bin:/bin`,
      KUBECONFIG: kubeconfig,
    });

    before(async () => {
      cluster = await sharedCluster();
      // Pack a copy of the working tree, so `prepare` builds dist/ there and not under other running tests.
      const src = join(work, 'src-copy');
      for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'src', 'crds'])
        cpSync(join(repoRoot, p), join(src, p), { recursive: true });
      symlinkSync(join(repoRoot, 'node_modules'), join(src, 'node_modules'));
      const pack = await sh('npm', ['pack', '--silent', '--pack-destination', work], { cwd: src, env: { ...process.env, PATH: basePath } });
      expect(pack.code, pack.stderr).to.equal(0);
      tgz = join(work, pack.stdout.trim().split('\n').pop() ?? '');
      const install = await sh('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', tgz], {
        env: { ...process.env, PATH: basePath },
      });
      expect(install.code, install.stderr).to.equal(0);
    });

    it('installs kaiwo-monitor and kubectl-kaiwo_monitor with compiled dist/ and the CRD', () => {
      expect(tgz).to.match(new RegExp(`kaiwo-monitor-${version.replace(/\./g, '\\.')}\\.tgz$`));
      expect(readdirSync(join(prefix, 'bin')).sort()).to.deep.equal(['kaiwo-monitor', 'kubectl-kaiwo_monitor']);
      const pkg = join(prefix, 'lib', 'node_modules', 'kaiwo-monitor');
      expect(existsSync(join(pkg, 'dist', 'cli', 'main.js'))).to.equal(true);
      expect(readdirSync(join(pkg, 'crds'))).to.have.length(1);
      expect(existsSync(join(pkg, 'src')), 'TypeScript sources are not shipped').to.equal(false);
    });

    it('--version works on every command', async () => {
      const env = pluginEnv(join(prefix, 'bin'), cluster.kubeconfigPath);
      for (const args of [['--version'], ['version'], ['run', '--version'], ['check', '--version']]) {
        const r = await sh(join(prefix, 'bin', 'kaiwo-monitor'), args, { env });
        expect([r.code, r.stdout], args.join(' ')).to.deep.equal([0, `kaiwo-monitor ${version}\n`]);
      }
    });

    it('refuses an old Node in one line that says what to run instead', async () => {
      // The system Node when it is older than 24 (Debian's), else Node 22 from the npm registry: never skipped.
      let oldNode = '/usr/bin/node';
      let old = await sh(oldNode, ['--version']);
      if (old.code !== 0 || Number(/^v(\d+)/.exec(old.stdout)?.[1] ?? 99) >= 24) {
        const dir = join(work, 'old-node');
        const got = await sh('npm', ['install', '--prefix', dir, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', 'node@22'], {
          env: { ...process.env, PATH: basePath },
        });
        expect(got.code, got.stderr).to.equal(0);
        oldNode = join(dir, 'node_modules', 'node', 'bin', 'node');
        old = await sh(oldNode, ['--version']);
      }
      expect(Number(/^v(\d+)/.exec(old.stdout)?.[1] ?? 99), `${oldNode} ${old.stdout}`).to.be.below(24);
      const script = join(prefix, 'bin', 'kaiwo-monitor');
      for (const args of [['check'], ['run'], ['--version']]) {
        const r = await sh(oldNode, [script, ...args], { env: { ...process.env, PATH: `${dirname(oldNode)}:/usr/bin:/bin` } });
        expect(r.code, args.join(' ')).to.equal(2);
        expect(r.stdout).to.equal('');
        expect(r.stderr).to.equal(
          `kaiwo-monitor needs Node.js >= 24, but ${oldNode} is ${old.stdout.trim()}; put Node.js 24 first on PATH, or run: npx -y node@24 ${script} <command> ...\n`,
        );
      }
    });

    it('`kubectl kaiwo-monitor` finds the plugin on PATH and checks the cluster from KUBECONFIG', async () => {
      const env = pluginEnv(join(prefix, 'bin'), cluster.kubeconfigPath);
      const list = await sh('kubectl', ['plugin', 'list'], { env });
      expect(list.stdout).to.include(join(prefix, 'bin', 'kubectl-kaiwo_monitor'));
      expect((await sh('kubectl', ['kaiwo-monitor', '--version'], { env })).stdout).to.equal(`kubectl kaiwo-monitor ${version}\n`);
      expect((await sh('kubectl', ['kaiwo-monitor', 'check', '--help'], { env })).stdout).to.include(
        'kubectl kaiwo-monitor check [name] [flags]',
      );
      const file = join(work, 'plugin-monitor.yaml');
      writeFileSync(
        file,
        stringify({
          apiVersion: 'monitoring.kaiwo.silogen.ai/v1alpha1',
          kind: 'KaiwoMonitor',
          metadata: { name: 'from-plugin' },
          spec: { kueue: { enabled: false } },
        }),
      );
      const r = await sh('kubectl', ['kaiwo-monitor', 'check', '-f', file, '-o', 'yaml', '--timeout=20s'], { env });
      expect(r.code, r.stderr).to.be.oneOf([0, 1, 2]);
      const obj = parse(r.stdout) as {
        apiVersion: string;
        kind: string;
        metadata: { name: string };
        spec: { interval: string };
        status: { conditions: { type: string }[] };
      };
      expect([obj.apiVersion, obj.kind, obj.metadata.name, obj.spec.interval]).to.deep.equal([
        'monitoring.kaiwo.silogen.ai/v1alpha1',
        'KaiwoMonitor',
        'from-plugin',
        '30s',
      ]);
      expect(obj.status.conditions.map((c) => c.type)).to.include.members(['Ready', 'Healthy', 'KaiwoOperatorHealthy']);
      expect(r.stderr, 'no progress lines without -v when stderr is not a terminal').to.not.include('kaiwo-monitor check:');
      // The output is a KaiwoMonitor the API server accepts as it is.
      const applied = await sh('kubectl', ['apply', '--dry-run=server', '-f', '-'], { env, input: r.stdout });
      expect(applied.stdout, applied.stderr).to.include('kaiwomonitor.monitoring.kaiwo.silogen.ai/from-plugin created (server dry run)');
      const verbose = await sh('kubectl', ['kaiwo-monitor', 'check', '-f', file, '-v', '--timeout=20s'], { env });
      expect(verbose.stderr).to.include('kaiwo-monitor check: evaluating');
    });

    it('installs from the krew manifest the way krew does (sha256, files, bin)', async () => {
      const out = join(work, 'krew-out');
      const built = await sh('bash', ['hack/krew.sh', tgz, out], { env: { ...process.env, PATH: basePath } });
      expect(built.code, built.stderr).to.equal(0);
      const manifest = parse(readFileSync(built.stdout.trim().split('\n').pop() ?? '', 'utf8')) as {
        apiVersion: string;
        kind: string;
        metadata: { name: string };
        spec: { version: string; platforms: { uri: string; sha256: string; bin: string; files: { from: string; to: string }[] }[] };
      };
      expect([manifest.apiVersion, manifest.kind, manifest.metadata.name, manifest.spec.version]).to.deep.equal([
        'krew.googlecontainertools.github.com/v1alpha2',
        'Plugin',
        'kaiwo-monitor',
        `v${version}`,
      ]);
      const platform = manifest.spec.platforms[0];
      if (!platform) throw new Error('no platform in the krew manifest');
      const archive = join(out, platform.uri.split('/').pop() ?? '');
      expect(createHash('sha256').update(readFileSync(archive)).digest('hex')).to.equal(platform.sha256);
      // krew: extract, copy `files` into the install dir, link `bin` as kubectl-<name with _ for ->.
      const extracted = join(work, 'krew-extract');
      const store = join(work, 'krew-store');
      const krewBin = join(work, 'krew-bin');
      for (const d of [extracted, store, krewBin]) mkdirSync(d, { recursive: true });
      expect((await sh('tar', ['-xzf', archive, '-C', extracted])).code).to.equal(0);
      for (const f of platform.files) {
        const from = join(extracted, dirname(f.from));
        for (const entry of readdirSync(from))
          cpSync(join(from, entry), join(store, f.to, entry), { recursive: true, verbatimSymlinks: true });
      }
      symlinkSync(join(store, platform.bin), join(krewBin, 'kubectl-kaiwo_monitor'));
      const env = pluginEnv(krewBin, cluster.kubeconfigPath);
      const r = await sh('kubectl', ['kaiwo-monitor', '--version'], { env });
      expect([r.code, r.stdout], r.stderr).to.deep.equal([0, `kubectl kaiwo-monitor ${version}\n`]);
    });
  });

  describe('check -f validates like admission', () => {
    const spec = (s: object, name = 'validated') => {
      const f = join(work, `${name}.yaml`);
      writeFileSync(
        f,
        stringify({ apiVersion: 'monitoring.kaiwo.silogen.ai/v1alpha1', kind: 'KaiwoMonitor', metadata: { name }, spec: s }),
      );
      return f;
    };
    const check = (kubeconfig: string, args: string[]) =>
      sh(process.execPath, [
        '--import',
        'tsx',
        join(repoRoot, 'src/cli/main.ts'),
        'check',
        `--kubeconfig=${kubeconfig}`,
        '--timeout=15s',
        ...args,
      ]);

    it('with the CRD installed, the API server rejects `interval: 5x` and CEL violations (server-side dry-run create), exit 2', async () => {
      const c = await sharedCluster();
      const bad = await check(c.kubeconfigPath, ['-f', spec({ interval: '5x' })]);
      expect(bad.code).to.equal(2);
      expect(bad.stdout).to.equal('');
      expect(bad.stderr).to.match(/rejected by the API server \(server-side dry-run create\): .*spec\.interval: Invalid value: "5x"/);
      const cel = await check(c.kubeconfigPath, ['-f', spec({ interval: '2h' })]);
      expect(cel.stderr, 'a CEL rule').to.match(
        /rejected by the API server.*spec\.interval: Invalid value: "2h": must be between 1s and 1h/,
      );
      const unknown = await check(c.kubeconfigPath, ['-f', spec({ colour: 'blue' })]);
      expect(unknown.stderr).to.match(/rejected by the API server.*unknown field "spec\.colour"/);
      // A name that exists already is no reason to refuse a file.
      const monitors = new Monitors(c.kubeConfig());
      await monitors.create('first-run-taken', {});
      try {
        const taken = await check(c.kubeconfigPath, ['-f', spec({ kueue: { enabled: false } }, 'first-run-taken'), '-o', 'json']);
        expect(taken.stderr).to.not.include('rejected');
        expect((JSON.parse(taken.stdout) as { metadata: { name: string } }).metadata.name).to.equal('first-run-taken');
      } finally {
        await monitors.delete('first-run-taken');
      }
    });

    it('without the CRD, it validates offline against the same schema and says CEL rules were not checked', async () => {
      const cp = new LocalControlPlane({ log: () => undefined });
      await cp.start();
      try {
        const bad = await check(cp.kubeconfigPath, ['-f', spec({ interval: '5x' })]);
        expect(bad.code).to.equal(2);
        expect(bad.stderr).to.match(/invalid \(checked offline against the KaiwoMonitor schema\): spec\.interval: Invalid value: "5x"/);
        const ok = await check(cp.kubeconfigPath, ['-f', spec({ interval: '2h' }), '-o', 'json']);
        expect(ok.stderr).to.match(
          /warning: the KaiwoMonitor CRD is not installed; validated .* offline against the schema; its \d+ CEL rules \(cross-field checks\) were not checked/,
        );
        expect((JSON.parse(ok.stdout) as { spec: { interval: string } }).spec.interval).to.equal('2h');
      } finally {
        await cp.stop();
      }
    });
  });
});
