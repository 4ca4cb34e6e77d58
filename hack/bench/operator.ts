/**
 * make bench-operator: measures the operator on the local control plane and prints the numbers —
 * process start → first status written, steady-state status PATCHes and RSS while idle.
 *   IDLE_SECONDS=30 (default)
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster } from '../../src/localcluster/backend.js';
import { repoRoot } from '../../src/localcluster/paths.js';
import { watchOnce } from '../../src/runtime/watch.js';
import { Monitors } from '../../test/support/fakes/monitors.js';

const idleSeconds = Number(process.env.IDLE_SECONDS ?? '30');
const out = (s: string) => process.stdout.write(`${s}\n`);

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m?.[1] ? Number(m[1]) / 1024 : NaN;
}

const cluster = await startCluster({ backend: 'local' });
try {
  const kc = cluster.kubeConfig();
  const monitors = new Monitors(kc);
  await monitors.create('bench', { interval: '5s' });
  const base = '/apis/monitoring.kaiwo.silogen.ai/v1alpha1/kaiwomonitors';
  const firstWrite = new AbortController();
  let t0 = 0;
  let firstMs = 0;
  const watching = watchOnce(
    kc,
    `${base}?watch=1&fieldSelector=metadata.name=bench`,
    (ev) => {
      if (!firstMs && (ev.object.status as { conditions?: unknown[] } | undefined)?.conditions?.length) {
        firstMs = performance.now() - t0;
        firstWrite.abort();
      }
    },
    { idleMs: 120_000, signal: firstWrite.signal },
  );
  t0 = performance.now();
  // The compiled operator (what the image runs), not tsx: `make bench-operator` builds it first.
  const op = spawn(
    process.execPath,
    [join(repoRoot, 'dist/cli/main.js'), 'run', `--kubeconfig=${cluster.kubeconfigPath}`, '--health-probe-bind-address=127.0.0.1:0'],
    { stdio: 'ignore' },
  );
  await watching;
  out(`operator start → first status written: ${firstMs.toFixed(0)} ms (from process spawn)`);
  await new Promise((r) => setTimeout(r, 5000)); // let the checks settle
  const settled = await monitors.get('bench');
  let patches = 0;
  const idle = new AbortController();
  const counting = watchOnce(
    kc,
    `${base}?watch=1&fieldSelector=metadata.name=bench&resourceVersion=${settled.metadata.resourceVersion ?? ''}`,
    (ev) => {
      if (ev.type === 'MODIFIED') patches++;
    },
    { idleMs: (idleSeconds + 60) * 1000, signal: idle.signal },
  );
  const samples: number[] = [];
  for (let i = 0; i < idleSeconds; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    if (op.pid) samples.push(rssMiB(op.pid));
  }
  idle.abort();
  await counting;
  out(`status PATCHes in ${idleSeconds}s with nothing changing (interval 5s → ${Math.floor(idleSeconds / 5)} re-evaluations): ${patches}`);
  out(`RSS idle: ${Math.min(...samples).toFixed(1)}–${Math.max(...samples).toFixed(1)} MiB (1 monitor, ${cluster.serverVersion})`);
  op.kill('SIGTERM');
} finally {
  await cluster.stop();
}
