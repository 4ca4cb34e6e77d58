import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingNodeFlags, NODE_FLAGS, RELAUNCHED_ENV } from '../../src/cli/nodeflags.js';
import { repoRoot } from '../../src/localcluster/paths.js';

/** A script that relaunches itself like main.ts, then prints what it runs with; `wait` keeps it running until SIGTERM (exit 5). */
const script = `
import { missingNodeFlags, relaunch } from ${JSON.stringify(join(repoRoot, 'src', 'cli', 'nodeflags.ts'))};
if (process.env.NO_EXECVE) process.execve = undefined;
const missing = missingNodeFlags(process.execArgv, process.env);
if (missing.length) relaunch(missing);
else {
  if (process.argv[2] === 'wait') {
    process.on('SIGTERM', () => process.exit(5));
    setInterval(() => undefined, 1000);
  } else process.exitCode = 7;
  process.stdout.write(JSON.stringify({ pid: process.pid, execArgv: process.execArgv, args: process.argv.slice(2), marker: process.env.${RELAUNCHED_ENV} }) + '\\n');
}
`;

interface Seen {
  pid: number;
  execArgv: string[];
  args: string[];
  marker?: string;
}

/** Runs the script under `node --import tsx`; `onLine` sees its output line and the process. */
function start(
  args: string[],
  env: Record<string, string>,
  onLine?: (seen: Seen, pid: number | undefined) => void,
): Promise<{ code: number | null; seen: Seen; pid: number | undefined }> {
  const dir = mkdtempSync(join(tmpdir(), 'kaiwo-monitor-nodeflags-'));
  writeFileSync(join(dir, 'script.mts'), script);
  const env0 = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== RELAUNCHED_ENV && k !== 'NODE_OPTIONS'));
  const child = spawn(process.execPath, ['--import', 'tsx', join(dir, 'script.mts'), ...args], {
    cwd: repoRoot,
    env: { ...env0, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    if (out.endsWith('\n')) onLine?.(JSON.parse(out) as Seen, child.pid);
  });
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, seen: JSON.parse(out) as Seen, pid: child.pid });
    }),
  );
}

describe('kaiwo-monitor Node flags', () => {
  it("are the flags of the image's ENTRYPOINT", () => {
    const entry = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'))?.[1] ?? '[]') as string[];
    const flags = entry.slice(1).filter((a, i) => a.startsWith('--') && entry.slice(1, i + 1).every((b) => b.startsWith('--')));
    expect(flags).to.deep.equal(NODE_FLAGS);
    expect(entry[1 + flags.length]).to.equal('dist/cli/main.js');
  });

  it('are missing unless given in execArgv or NODE_OPTIONS, with any value; never after one relaunch', () => {
    expect(missingNodeFlags([], {})).to.deep.equal(['--max-semi-space-size=4']);
    expect(missingNodeFlags(['--import', 'tsx'], { NODE_OPTIONS: '--enable-source-maps' })).to.deep.equal(['--max-semi-space-size=4']);
    expect(missingNodeFlags(['--max-semi-space-size=4'], {})).to.deep.equal([]);
    expect(missingNodeFlags(['--max_semi_space_size=16'], {})).to.deep.equal([]);
    expect(missingNodeFlags([], { NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=8' })).to.deep.equal([]);
    expect(missingNodeFlags([], { [RELAUNCHED_ENV]: '1' })).to.deep.equal([]);
  });

  it('a process started without them replaces itself once (same pid) with its flags, arguments and exit code', async () => {
    const r = await start(['check', '-o', 'json'], {});
    expect(r.code).to.equal(7);
    expect(r.seen).to.deep.equal({ pid: r.pid, execArgv: ['--import', 'tsx', ...NODE_FLAGS], args: ['check', '-o', 'json'], marker: '1' });
  });

  it('without process.execve (Windows) runs a child: stdio inherited, SIGTERM forwarded, exit code passed on', async () => {
    const r = await start(['wait'], { NO_EXECVE: '1' }, (_seen, pid) => {
      if (pid) process.kill(pid, 'SIGTERM');
    });
    expect(r.code).to.equal(5);
    expect(r.seen.pid).to.not.equal(r.pid);
    expect(r.seen.execArgv).to.deep.equal(['--import', 'tsx', ...NODE_FLAGS]);
  });

  it("a user's own value is kept", async () => {
    const r = await start([], { NODE_OPTIONS: '--max-semi-space-size=8' });
    expect(r.seen).to.include({ pid: r.pid }).and.not.have.property('marker');
    expect(r.seen.execArgv).to.deep.equal(['--import', 'tsx']);
  });
});
