/**
 * make bench-detection: runs every fault scenario RUNS times (default 5) against the compiled operator on the
 * local control plane and prints detection latency per fault class (median and max, milliseconds).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startCluster } from '../../src/localcluster/backend.js';
import { repoRoot } from '../../src/localcluster/paths.js';
import { SimulatedStack } from '../../test/support/fakes/simulate.js';
import { Monitors } from '../../test/support/fakes/monitors.js';
import { MonitorRecorder, scenarioSpec, scenarios } from '../../test/support/fakes/scenarios.js';

const runs = Number(process.env.RUNS ?? '5');
const out = (s: string) => process.stdout.write(`${s}\n`);
const cluster = await startCluster({ backend: 'local' });
const sim = new SimulatedStack(cluster.kubeConfig(), { label: 'bench', workloadNamespace: 'ml-bench', leaseDurationSeconds: 3 });
const op = spawn(
  process.execPath,
  [join(repoRoot, 'dist/cli/main.js'), 'run', `--kubeconfig=${cluster.kubeconfigPath}`, '--health-probe-bind-address=127.0.0.1:0'],
  { stdio: 'ignore' },
);
const recorder = new MonitorRecorder(cluster.kubeConfig(), 'bench');
try {
  await sim.install();
  const metrics = await sim.startOperatorMetrics();
  await new Monitors(cluster.kubeConfig()).create('bench', scenarioSpec(sim, metrics));
  recorder.start();
  await recorder.when('Healthy', 'True', 0, 60_000);
  const results = new Map<string, number[]>();
  for (let i = 0; i < runs; i++) {
    for (const s of scenarios) {
      const before = Date.now();
      const faultAt = await s.inject(sim);
      const hit = await recorder.when(s.condition, 'False', before, 30_000);
      results.set(s.name, [...(results.get(s.name) ?? []), Math.max(0, hit.at - faultAt)]);
      const healAt = Date.now();
      await s.heal(sim);
      await recorder.when('Healthy', 'True', healAt, 30_000);
    }
  }
  out(`detection latency over ${runs} runs (fault or threshold crossing → component condition False on the API server):`);
  out(`  ${'median'.padStart(7)} ${'max'.padStart(7)}  fault class`);
  for (const [name, ms] of results) {
    const sorted = [...ms].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    out(`  ${String(median).padStart(5)}ms ${String(sorted.at(-1) ?? 0).padStart(5)}ms  ${name}`);
  }
} finally {
  op.kill('SIGTERM');
  await recorder.stop();
  await sim.stop();
  await cluster.stop();
}
