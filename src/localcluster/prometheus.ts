import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { ManagedProcess } from './process.js';
import { toolBinary } from './binaries.js';

function ready(url: string): Promise<boolean> {
  return new Promise((r) => {
    const req = get(`${url}/-/ready`, { timeout: 1000 }, (res) => {
      res.resume();
      r(res.statusCode === 200);
    });
    req.on('error', () => {
      r(false);
    });
    req.on('timeout', () => req.destroy());
  });
}

/** A real Prometheus server on 127.0.0.1 scraping the given loopback targets every `scrapeInterval`. */
export class LocalPrometheus {
  private constructor(
    readonly url: string,
    private readonly proc: ManagedProcess,
    private readonly dir: string,
  ) {}

  static async start(targets: string[], scrapeInterval = '1s'): Promise<LocalPrometheus> {
    const bin = await toolBinary('prometheus');
    const dir = mkdtempSync(join(tmpdir(), 'kaiwo-monitor-prom-'));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        `  scrape_interval: ${scrapeInterval}`,
        `  evaluation_interval: ${scrapeInterval}`,
        'scrape_configs:',
        '  - job_name: gpu',
        '    static_configs:',
        `      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    const proc = new ManagedProcess(
      'prometheus',
      bin,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      join(dir, 'prometheus.log'),
    );
    proc.start();
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    while (!(await ready(url))) {
      if (!proc.running || Date.now() > deadline) {
        const tail = await proc.tail();
        await proc.stop();
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`prometheus did not become ready: ${tail}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return new LocalPrometheus(url, proc, dir);
  }

  async stop(): Promise<void> {
    await this.proc.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
