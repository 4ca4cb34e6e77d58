/**
 * make cluster-up / cluster-down / cluster-status: a local control plane with all CRDs, running in the
 * background until stopped. State lives in $KAIWO_MONITOR_CLUSTER_DIR or <cache>/cluster/ (see README).
 *
 *   tsx src/localcluster/cluster.ts up | down | status | serve
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalControlPlane } from './controlplane.js';
import { installCrds, kaiwoCrds, kueueCrds, ownCrds } from './crds.js';
import { cacheRoot, repoRoot } from './paths.js';
import { alive, readLiveState } from './pidfile.js';

interface State {
  pid: number;
  childPids: number[];
  kubeconfig: string;
  server: string;
  version: string;
}

const dir = process.env.KAIWO_MONITOR_CLUSTER_DIR ?? join(cacheRoot(), 'cluster');
const stateFile = join(dir, 'state.json');
const dataDir = join(dir, 'data');
const serveLog = join(dir, 'serve.log');
const out = (msg: string) => process.stdout.write(`${msg}\n`);
const err = (msg: string) => process.stderr.write(`${msg}\n`);

const readState = (): State | undefined => readLiveState(stateFile) as State | undefined;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function up(): Promise<number> {
  const running = readState();
  if (running) {
    err(`local control plane already running (pid ${running.pid}, ${running.version} at ${running.server})`);
    out(running.kubeconfig);
    return 0;
  }
  mkdirSync(dir, { recursive: true });
  rmSync(stateFile, { force: true });
  const logFd = openSync(serveLog, 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'localcluster', 'cluster.ts'), 'serve'], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    cwd: repoRoot,
  });
  child.unref();
  const deadline = Date.now() + 15 * 60_000; // includes a first build of the binaries
  while (Date.now() < deadline) {
    const s = readState();
    if (s) {
      err(`local control plane started (pid ${s.pid}, ${s.version} at ${s.server}); stop it with: make cluster-down`);
      err(`use it with: export KUBECONFIG=${s.kubeconfig}`);
      out(s.kubeconfig);
      return 0;
    }
    if (child.pid === undefined || !alive(child.pid)) {
      err(`local control plane failed to start; log ${serveLog}:\n${readFileSync(serveLog, 'utf8').split('\n').slice(-30).join('\n')}`);
      return 1;
    }
    await sleep(200);
  }
  err(`local control plane not ready after 15 minutes; see ${serveLog}`);
  return 1;
}

async function serve(): Promise<void> {
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const cp = new LocalControlPlane({
    dir: dataDir,
    log: (m) => {
      err(m);
    },
  });
  process.on('exit', () => {
    rmSync(stateFile, { force: true });
  });
  await cp.start();
  const sets = await Promise.all([ownCrds(), kueueCrds(), kaiwoCrds()]);
  await installCrds(
    cp.kubeConfig(),
    sets.flatMap((s) => s.crds),
  );
  for (const s of sets) err(`installed ${s.crds.length} CRDs: ${s.name} from ${s.source}`);
  const state: State = {
    pid: process.pid,
    childPids: cp.pids,
    kubeconfig: cp.kubeconfigPath,
    server: cp.server,
    version: cp.serverVersion,
  };
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
  // Runs until SIGTERM/SIGINT; LocalControlPlane's signal hook stops etcd and kube-apiserver, then exits.
  setInterval(() => undefined, 1 << 30);
}

async function down(): Promise<number> {
  let s: State | undefined;
  try {
    s = JSON.parse(readFileSync(stateFile, 'utf8')) as State;
  } catch {
    removeState();
    out('no local control plane is running');
    return 0;
  }
  try {
    const op = Number(readFileSync(join(dir, 'operator.pid'), 'utf8'));
    if (op && alive(op)) process.kill(op, 'SIGTERM'); // started by make demo SIM=1
  } catch {
    /* no operator */
  }
  if (alive(s.pid)) process.kill(s.pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (alive(s.pid) && Date.now() < deadline) await sleep(100);
  for (const pid of [s.pid, ...s.childPids]) {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  out(`local control plane stopped (pid ${s.pid}); ${removeState() ? 'removed' : 'emptied'} ${dir}`);
  return 0;
}

/**
 * Removes what `up` and `make demo SIM=1` wrote (etcd data, PKI, logs, state), then the directory itself when
 * nothing else is in it (KAIWO_MONITOR_CLUSTER_DIR may point at a directory the user owns).
 */
function removeState(): boolean {
  for (const f of [stateFile, dataDir, serveLog, join(dir, 'operator.log'), join(dir, 'operator.pid')])
    rmSync(f, { recursive: true, force: true });
  try {
    rmdirSync(dir);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT'; // ENOTEMPTY: the user's own files stay
  }
}

function status(): number {
  const s = readState();
  if (!s) {
    out('no local control plane is running');
    return 1;
  }
  out(`running: pid ${s.pid}, ${s.version} at ${s.server}, kubeconfig ${s.kubeconfig}`);
  return 0;
}

const cmd = process.argv[2];
switch (cmd) {
  case 'up':
    process.exitCode = await up();
    break;
  case 'down':
    process.exitCode = await down();
    break;
  case 'status':
    process.exitCode = status();
    break;
  case 'serve':
    await serve();
    break;
  default:
    err('usage: cluster.ts up|down|status');
    process.exitCode = 2;
}
