import { appendFile, open, writeFile } from 'node:fs/promises';

/**
 * Mirrors a process's plain log file into the CRI log format kwok serves `kubectl logs` from
 * (`<RFC3339Nano> stdout F <line>` per line), by polling it for new bytes: the Kueue and Kaiwo processes write
 * plain lines, kubelet would have written CRI lines.
 */
export class CriLogMirror {
  private offset = 0;
  private partial = '';
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly source: string,
    readonly target: string,
  ) {}

  async start(): Promise<void> {
    await writeFile(this.target, '');
    await writeFile(this.source, '', { flag: 'a' });
    this.timer = setInterval(() => void this.pump(), 500);
    this.timer.unref();
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const fh = await open(this.source, 'r');
      try {
        const { size } = await fh.stat();
        if (size < this.offset) this.offset = 0;
        if (size === this.offset) return;
        const buf = Buffer.alloc(Math.min(size - this.offset, 1 << 20));
        const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
        this.offset += bytesRead;
        const text = this.partial + buf.subarray(0, bytesRead).toString('utf8');
        const lines = text.split('\n');
        this.partial = lines.pop() ?? '';
        const now = new Date().toISOString().replace('Z', '000000Z');
        if (lines.length) await appendFile(this.target, lines.map((l) => `${now} stdout F ${l}\n`).join(''));
      } finally {
        await fh.close();
      }
    } catch {
      // the source is rotated or gone: try again next time
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
