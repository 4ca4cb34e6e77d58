import { readFileSync } from 'node:fs';

/** Whether a process with this pid exists (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The JSON state a background process wrote to `file`, if that file is readable and its process still runs. */
export function readLiveState(file: string): { pid: number } | undefined {
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as { pid: number };
    return alive(s.pid) ? s : undefined;
  } catch {
    return undefined;
  }
}
