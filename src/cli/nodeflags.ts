/**
 * The Node flags every kaiwo-monitor process runs with, however it is started (the image, npx, the kubectl
 * plugin, the npm package's bin): a process started without them runs itself again, once, with them.
 * Imports only node: modules, so the entry point can use it before loading anything else.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/**
 * The Node flags of the CLI; the image's ENTRYPOINT passes the same ones (test/unit/cli-nodeflags.test.ts compares).
 * A young generation of at most 2 × 4 MiB instead of the 2 × 32 MiB V8 grows it to while the caches fill
 * (README "Scale"); started without it, `run` and `check` were measured holding 297 MiB instead of 156 MiB.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

/** Set in the environment of the process run again, so it never runs itself again. */
export const RELAUNCHED_ENV = 'KAIWO_MONITOR_RELAUNCHED';

/** `--max_semi_space_size=8` → `max-semi-space-size` (V8 takes `_` and `-` alike). */
const flagName = (arg: string): string => (arg.replace(/^--?/, '').split('=')[0] ?? '').replaceAll('_', '-');

/**
 * The NODE_FLAGS this process lacks: those whose name is neither in `execArgv` nor in NODE_OPTIONS (with any
 * value: one given by the user wins). None once RELAUNCHED_ENV is set, so the process runs itself again at most once.
 */
export function missingNodeFlags(execArgv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  if (env[RELAUNCHED_ENV]) return [];
  const given = new Set([...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].filter((a) => a.startsWith('-')).map(flagName));
  return NODE_FLAGS.filter((f) => !given.has(flagName(f)));
}

/**
 * Runs this script again with the same node, its flags plus `flags`, the same arguments and RELAUNCHED_ENV set.
 * Where process.execve exists (not on Windows) the process replaces itself: same pid, stdio and signals, and
 * this call does not return. Elsewhere a child with inherited stdio runs it: SIGINT, SIGTERM and SIGHUP are
 * forwarded to it and its exit code becomes this process's.
 */
export function relaunch(flags: readonly string[]): void {
  const args = [...process.execArgv, ...flags, ...process.argv.slice(1)];
  const env = { ...process.env, [RELAUNCHED_ENV]: '1' };
  // Node defines execve everywhere but it throws where the platform has none (Windows): then, or on any failure, a child.
  if (process.execve && process.platform !== 'win32') {
    try {
      process.execve(process.execPath, [process.execPath, ...args], env);
    } catch {
      /* fall through to a child process */
    }
  }
  const child = spawn(process.execPath, args, { stdio: 'inherit', env });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(sig, () => {
      child.kill(sig);
    });
  child.on('error', (err) => {
    process.stderr.write(`kaiwo-monitor: cannot start ${process.execPath}: ${err.message}\n`);
    process.exitCode = 2;
  });
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? 128 + (signal ? constants.signals[signal] : 0);
  });
}
