import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import type { Condition } from '../../src/api/types.js';
import type { Cluster } from '../../src/localcluster/backend.js';
import { Monitors } from '../support/fakes/monitors.js';
import { repoRoot } from '../../src/localcluster/paths.js';
import { sharedCluster, skipWithoutBackend } from '../support/cluster.js';
import { OperatorProcess } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);

interface Stage {
  name: string;
  lines: string[];
}

/** The Dockerfile's stages, each with its instruction lines. */
function stages(dockerfile: string): Stage[] {
  return dockerfile
    .split(/^FROM /m)
    .slice(1)
    .map((s) => {
      const [from = '', ...lines] = s
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'));
      return { name: /\sAS\s+(\S+)/i.exec(from)?.[1] ?? '', lines };
    });
}

/** Every file under `dir` (relative paths). */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

/**
 * No container engine here, so this assembles the Dockerfile's runtime stage as the Dockerfile says — each COPY
 * of the last stage, the production dependencies from the deps stage's own `npm ci` command, the compiled
 * output — and runs its ENTRYPOINT and CMD from that layout.
 */
describe('integration: the image layout (the Dockerfile runtime stage) runs the operator', function () {
  this.timeout(300_000);
  before(skipWithoutBackend);
  let cluster: Cluster;
  let argv: string[] = [];
  const app = mkdtempSync(join(tmpdir(), 'kaiwo-monitor-image-'));
  const work = mkdtempSync(join(tmpdir(), 'kaiwo-monitor-image-build-'));

  before(async () => {
    cluster = await sharedCluster();
    const all = stages(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
    const runtime = all.at(-1);
    if (!runtime) throw new Error('Dockerfile has no stage');
    for (const line of runtime.lines.filter((l) => l.startsWith('COPY '))) {
      const words = line.split(/\s+/).slice(1);
      const from = /^--from=(\S+)$/.exec(words[0] ?? '')?.[1];
      const [to = '', ...sources] = words.slice(from ? 1 : 0).reverse();
      for (const src of sources.reverse()) {
        const dest = to.endsWith('/') || to === '.' ? join(app, to, posix.basename(src)) : join(app, to);
        if (!from) cpSync(join(repoRoot, src), dest, { recursive: true });
        else if (posix.basename(src) === 'node_modules') {
          const npm = all
            .find((s) => s.name === from)
            ?.lines.find((l) => l.startsWith('RUN npm ci'))
            ?.slice(4)
            .split(/\s+/);
          if (!npm) throw new Error(`stage ${from} has no RUN npm ci`);
          for (const f of ['package.json', 'package-lock.json']) cpSync(join(repoRoot, f), join(work, f));
          await run(npm[0] ?? 'npm', npm.slice(1), { cwd: work, maxBuffer: 16 * 1024 * 1024 });
          cpSync(join(work, 'node_modules'), dest, { recursive: true });
        } else if (posix.basename(src) === 'dist') {
          await run(join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', dest]);
        } else throw new Error(`no rule to assemble ${line}`);
      }
    }
    const json = (k: string) =>
      JSON.parse(/^\S+ (\[.*\])$/.exec(runtime.lines.find((l) => l.startsWith(`${k} `)) ?? '')?.[1] ?? '[]') as string[];
    argv = [...json('ENTRYPOINT').slice(1), ...json('CMD')];
  });

  after(() => {
    rmSync(app, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('holds the production dependencies every compiled import needs, and no dev tooling', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const imported = new Set<string>();
    for (const f of files(join(app, 'dist')).filter((x) => x.endsWith('.js'))) {
      const code = readFileSync(f, 'utf8');
      const statics = code.matchAll(/^\s*(?:import|export)\s[^;]*?\bfrom\s*['"]([^'"]+)['"]/gm);
      const dynamics = code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g);
      for (const m of [...statics, ...dynamics]) {
        const spec = m[1] ?? '';
        if (spec.startsWith('node:') || spec.startsWith('.')) continue;
        imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec));
      }
    }
    expect([...imported].sort(), 'packages the compiled code imports').to.include('@kubernetes/client-node');
    for (const dep of imported) {
      expect(Object.keys(pkg.dependencies), `${dep} is a production dependency`).to.include(dep);
      expect(existsSync(join(app, 'node_modules', dep, 'package.json')), `${dep} installed`).to.equal(true);
    }
    // Type-only packages may come with production dependencies (client-node needs @types/node); they hold no code.
    for (const dev of Object.keys(pkg.devDependencies).filter((d) => !d.startsWith('@types/'))) {
      expect(existsSync(join(app, 'node_modules', dev)), dev).to.equal(false);
    }
    expect(
      files(join(app, 'dist')).filter((f) => f.includes(join('dist', 'localcluster'))),
      'src/localcluster is not shipped',
    ).to.deep.equal([]);
  });

  it('runs the ENTRYPOINT and CMD from that layout and writes a status', async () => {
    const nodeFlags = argv.filter((a, i) => a.startsWith('--') && argv.slice(0, i).every((b) => b.startsWith('--')));
    expect(nodeFlags, 'Node flags of the ENTRYPOINT').to.deep.equal(['--max-semi-space-size=4']);
    expect(argv[nodeFlags.length], 'ENTRYPOINT script').to.be.a('string');
    const [entry = '', cmd, ...rest] = argv.slice(nodeFlags.length);
    expect([cmd, ...rest], 'CMD').to.deep.equal(['run']);
    const monitors = new Monitors(cluster.kubeConfig());
    await monitors.create('image-layout', { gpuNodes: { enabled: false } });
    const op = await OperatorProcess.start(cluster.kubeconfigPath, [], { entry: join(app, entry), nodeFlags });
    let ready: Condition;
    try {
      ready = await waitFor(
        'Ready=True',
        async () => {
          const c = await monitors.condition('image-layout', 'Ready');
          return c?.status === 'True' ? c : undefined;
        },
        60_000,
      );
    } finally {
      await op.stop();
      await monitors.delete('image-layout');
    }
    expect(ready.reason).to.equal('Reconciled');
    expect(op.exitCode, 'exit code after SIGTERM').to.equal(0);
    const { stdout } = await run('du', ['-sk', app]);
    process.stderr.write(`      image layout (node_modules + dist + crds): ${(Number(stdout.split('\t')[0]) / 1024).toFixed(1)} MiB\n`);
  });
});
