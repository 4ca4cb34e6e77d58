/**
 * make cluster-up FULL=1 / cluster-down / cluster-status for the full test bed: runs a TestBed in the background
 * until stopped. State (pid, kubeconfig path) lives in <cache>/testbed-cluster/ (or KAIWO_MONITOR_TESTBED_DIR).
 *
 *   tsx src/localcluster/testbed/cli.ts up [kueue-version] | down | status | serve
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot, repoRoot } from '../paths.js';
import { TestBed } from './testbed.js';
import { pinned } from '../versions.js';
import { alive, readLiveState } from '../pidfile.js';

interface State {
  pid: number;
  kubeconfig: string;
  kueue: string;
  kaiwo?: string;
  startupMs: number;
}

const dir = process.env.KAIWO_MONITOR_TESTBED_DIR ?? join(cacheRoot(), 'testbed-cluster');
const stateFile = join(dir, 'state.json');
const serveLog = join(dir, 'serve.log');
const out = (m: string) => process.stdout.write(`${m}\n`);
const err = (m: string) => process.stderr.write(`${m}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const readState = (): State | undefined => readLiveState(stateFile) as State | undefined;

async function up(kueue: string | undefined): Promise<number> {
  const running = readState();
  if (running) {
    err(`test bed already running (pid ${running.pid}, Kueue ${running.kueue})`);
    out(running.kubeconfig);
    return 0;
  }
  mkdirSync(dir, { recursive: true });
  rmSync(stateFile, { force: true });
  const fd = openSync(serveLog, 'w');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'src', 'localcluster', 'testbed', 'cli.ts'), 'serve', ...(kueue ? [kueue] : [])],
    {
      detached: true,
      stdio: ['ignore', fd, fd],
      cwd: repoRoot,
    },
  );
  child.unref();
  const deadline = Date.now() + 60 * 60_000; // includes first builds of every part
  while (Date.now() < deadline) {
    const s = readState();
    if (s) {
      err(
        `test bed started in ${(s.startupMs / 1000).toFixed(0)}s (pid ${s.pid}, Kueue ${s.kueue}, Kaiwo ${s.kaiwo ?? '?'}); stop it with: make cluster-down`,
      );
      err(`use it with: export KUBECONFIG=${s.kubeconfig}`);
      out(s.kubeconfig);
      return 0;
    }
    if (child.pid === undefined || !alive(child.pid)) {
      err(`test bed failed to start; log ${serveLog}:\n${readFileSync(serveLog, 'utf8').split('\n').slice(-30).join('\n')}`);
      return 1;
    }
    await sleep(500);
  }
  err(`test bed not ready after an hour; see ${serveLog}`);
  return 1;
}

async function serve(kueue: string | undefined): Promise<void> {
  // KAIWO=next runs the newest Kaiwo release candidate (KAIWO_NEXT_VERSION), KAIWO=<version> that release.
  const kaiwo = process.env.KAIWO === 'next' ? pinned('KAIWO_NEXT_VERSION') : process.env.KAIWO;
  const tb = new TestBed({
    ...(kueue ? { kueueVersion: kueue } : {}),
    ...(kaiwo ? { kaiwoVersion: kaiwo } : {}),
    log: (m) => {
      err(m);
    },
  });
  process.on('exit', () => {
    rmSync(stateFile, { force: true });
  });
  await tb.start();
  const kubeconfig = join(dir, 'kubeconfig');
  copyFileSync(tb.kubeconfigPath, kubeconfig);
  const state: State = { pid: process.pid, kubeconfig, kueue: tb.kueueVersion, kaiwo: tb.kaiwoVersion, startupMs: tb.startupMs };
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
  const stop = () => void tb.stop().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  setInterval(() => undefined, 1 << 30);
}

async function down(): Promise<number> {
  const s = readState();
  if (!s) {
    out('no test bed is running');
    return 0;
  }
  process.kill(s.pid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (alive(s.pid) && Date.now() < deadline) await sleep(200);
  if (alive(s.pid)) process.kill(s.pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  out(`test bed stopped (pid ${s.pid}); removed ${dir}`);
  return 0;
}

const [cmd, arg] = [process.argv[2], process.argv[3]];
switch (cmd) {
  case 'up':
    process.exitCode = await up(arg);
    break;
  case 'down':
    process.exitCode = await down();
    break;
  case 'status': {
    const s = readState();
    out(s ? `running: pid ${s.pid}, Kueue ${s.kueue}, Kaiwo ${s.kaiwo ?? '?'}, kubeconfig ${s.kubeconfig}` : 'no test bed is running');
    process.exitCode = s ? 0 : 1;
    break;
  }
  case 'serve':
    await serve(arg);
    break;
  default:
    err('usage: cli.ts up [kueue-version] | down | status');
    process.exitCode = 2;
}
