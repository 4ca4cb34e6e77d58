import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../src/localcluster/paths.js';

/** Runs kubectl with `input` on stdin, resolving with stdout (rejects with stderr on failure). */
export function kubectl(kubeconfig: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('kubectl', args, { env: { ...process.env, KUBECONFIG: kubeconfig } });
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    p.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`kubectl ${args.join(' ')}: ${err}`));
    });
    p.stdin.end(input ?? '');
  });
}

/** Runs `kaiwo-monitor <args>` from source with the pinned Node; resolves with its exit code and output. */
export function kaiwoMonitor(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'src', 'cli', 'main.ts'), ...args],
      { cwd: repoRoot },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 99) : 0, stdout, stderr });
      },
    );
  });
}
