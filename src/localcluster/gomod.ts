import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const dirs = new Map<string, Promise<string>>();

/**
 * Directory of `module@version` in the Go module cache, downloading it through the module proxy if needed
 * (`go mod download`). Read-only: files are read from there, never copied into the repo.
 */
export function goModuleDir(module: string, version: string): Promise<string> {
  const key = `${module}@${version}`;
  let dir = dirs.get(key);
  if (!dir) {
    dir = (async () => {
      try {
        const { stdout } = await run('go', ['mod', 'download', '-json', key], {
          env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' },
          cwd: '/',
          maxBuffer: 16 * 1024 * 1024,
        });
        const info = JSON.parse(stdout) as { Dir?: string; Error?: string };
        if (!info.Dir) throw new Error(info.Error ?? 'no Dir in go mod download output');
        return info.Dir;
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; message: string };
        let reason = e.stderr?.trim() ? e.stderr.trim() : e.message;
        try {
          reason = (JSON.parse(e.stdout ?? '') as { Error?: string }).Error ?? reason;
        } catch {
          /* not JSON */
        }
        throw new Error(`go mod download ${key} failed: ${reason}`, { cause: err });
      }
    })();
    dirs.set(key, dir);
  }
  return dir;
}
