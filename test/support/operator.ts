import { type ChildProcess, spawn } from 'node:child_process';
import { get } from 'node:http';
import { repoRoot } from '../../src/localcluster/paths.js';
import { freePort } from '../../src/localcluster/ports.js';
import { join } from 'node:path';
import { parsePrometheusText, sumOf } from '../../src/sources/promtext.js';

export interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

/** An operator process (`kaiwo-monitor run`) started from source with the pinned Node, for integration tests. */
export class OperatorProcess {
  readonly lines: LogLine[] = [];
  readonly raw: string[] = [];
  exitCode: number | null = null;
  private readonly exited: Promise<number | null>;
  private readonly waiters: { pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly probePort: number,
    readonly metricsPort: number | undefined,
  ) {
    let buf = '';
    child.stderr?.on('data', (c: Buffer) => {
      buf += c.toString();
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.raw.push(text);
        try {
          const line = JSON.parse(text) as LogLine;
          this.lines.push(line);
          for (const w of [...this.waiters]) {
            if (w.pred(line)) {
              this.waiters.splice(this.waiters.indexOf(w), 1);
              w.resolve(line);
            }
          }
        } catch {
          /* not a JSON log line */
        }
        nl = buf.indexOf('\n');
      }
    });
    this.exited = new Promise((r) =>
      child.once('exit', (code) => {
        this.exitCode = code;
        r(code);
      }),
    );
  }

  /**
   * `entry` runs a compiled main.js instead of the TypeScript source; `nodeFlags` go to node before it.
   * `metrics: 'plain'` serves /metrics over
   * plain HTTP without authorization, for tests that read the operator's own counters with metric().
   */
  static async start(
    kubeconfig: string,
    extra: string[] = [],
    opts: { metrics?: boolean | 'plain'; entry?: string; nodeFlags?: string[] } = {},
  ): Promise<OperatorProcess> {
    const probePort = await freePort();
    const metricsPort = opts.metrics ? await freePort() : undefined;
    const args = [
      ...(opts.nodeFlags ?? []),
      ...(opts.entry ? [opts.entry] : ['--import', 'tsx', join(repoRoot, 'src', 'cli', 'main.ts')]),
      'run',
      `--kubeconfig=${kubeconfig}`,
      `--health-probe-bind-address=127.0.0.1:${probePort}`,
      `--metrics-bind-address=${metricsPort ? `127.0.0.1:${metricsPort}` : '0'}`,
      '--log-level=debug',
      ...(opts.metrics === 'plain' ? ['--metrics-secure=false'] : []),
      ...extra,
    ];
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
    return new OperatorProcess(child, probePort, metricsPort);
  }

  /** Resolves with the first (past or future) log line matching `pred`. */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    const past = this.lines.find(pred);
    if (past) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no matching log line within ${timeoutMs}ms; last lines:\n${this.raw.slice(-15).join('\n')}`));
      }, timeoutMs);
      this.waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  /** Sum of the operator's metric `name` over series whose labels include `labels` (needs `metrics: 'plain'`). */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    if (!this.metricsPort) throw new Error('operator started without plain metrics');
    const url = `http://127.0.0.1:${this.metricsPort}/metrics`;
    const text = await new Promise<string>((resolve, reject) => {
      const req = get(url, { timeout: 5000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          if (res.statusCode === 200) resolve(body);
          else reject(new Error(`GET ${url}: HTTP ${res.statusCode ?? 0}`));
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
      req.on('error', reject);
    });
    return sumOf(parsePrometheusText(text).samples, name, labels);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<number | null> {
    if (this.exitCode === null) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  wait(): Promise<number | null> {
    return this.exited;
  }
}
