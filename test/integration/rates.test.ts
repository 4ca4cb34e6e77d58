import { expect } from 'chai';
import type { KubeConfig } from '@kubernetes/client-node';
import { Monitors } from '../support/fakes/monitors.js';
import { MonitorRecorder } from '../support/fakes/scenarios.js';
import { SimulatedStack } from '../support/fakes/simulate.js';
import { sharedCluster, skipWithoutBackend } from '../support/cluster.js';
import { OperatorProcess } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

const WINDOW_MS = 10_000;

/**
 * The reconcile-error rule on a real HTTPS metrics endpoint (TokenReview + SubjectAccessReview), scaled down: a
 * 10 s window with a 60/min threshold. Bursts of 2 errors every 10 s (12/min, a fifth of the threshold, like
 * Kaiwo's backoff retries) read 120/min between two 1 s scrapes, yet must never flip the condition; 120/min
 * (twice the threshold) must flip it within one window.
 */
describe('integration: counter rates over a fixed window on a real metrics endpoint', function () {
  this.timeout(180_000);
  before(skipWithoutBackend);
  let kc: KubeConfig;
  let sim: SimulatedStack;
  let op: OperatorProcess;
  let recorder: MonitorRecorder;
  const monitor = 'rates';
  const timers: NodeJS.Timeout[] = [];

  /** Reconciles of this monitor that evaluated the checks, logged (debug) at or after `since`. */
  const evaluationsSince = (since: number) =>
    op.lines.filter(
      (l) => l.msg === 'reconciled' && l.monitor === monitor && l.outcome === 'evaluated' && Date.parse(String(l.ts)) >= since,
    ).length;

  before(async () => {
    const cluster = await sharedCluster();
    kc = cluster.kubeConfig();
    sim = new SimulatedStack(kc, { label: 'rates', workloadNamespace: 'ml-rates' });
    await sim.install();
    const metrics = await sim.startOperatorMetrics();
    await new Monitors(kc).create(
      monitor,
      sim.monitorSpec({
        kueue: { enabled: false },
        gpuNodes: { enabled: false },
        workloads: { enabled: false },
        operator: {
          metrics: {
            enabled: true,
            url: metrics.url,
            interval: '1s',
            timeout: '900ms',
            rateWindow: `${WINDOW_MS / 1000}s`,
            maxReconcileErrorsPerMinute: 60,
            tls: { insecureSkipVerify: true },
            bearerToken: { source: 'Secret', secretRef: metrics.secretRef },
          },
        },
      }),
    );
    recorder = new MonitorRecorder(kc, monitor);
    recorder.start();
    op = await OperatorProcess.start(cluster.kubeconfigPath);
    await recorder.when('KaiwoOperatorHealthy', 'True', 0, 60_000);
  });

  after(async () => {
    for (const t of timers) clearInterval(t);
    await op.stop();
    await recorder.stop();
    await sim.stop();
    await new Monitors(kc).delete(monitor);
  });

  it('never flips for bursts of 2 errors every 10 s (12/min) over three windows of 1 s scrapes', async () => {
    const start = Date.now();
    const scrapesBefore = sim.operatorScrapes;
    let bursts = 0;
    sim.addReconcileErrors(2);
    bursts++;
    timers.push(
      setInterval(() => {
        sim.addReconcileErrors(2);
        bursts++;
      }, WINDOW_MS),
    );
    // Measured, not slept: three windows of trickle, each scraped ~10 times and evaluated after every scrape.
    await waitFor(
      'three windows of trickle scraped and evaluated',
      () => bursts >= 4 && sim.operatorScrapes - scrapesBefore >= 30 && evaluationsSince(start) >= 30,
      90_000,
      250,
    );
    clearInterval(timers.pop());
    // The rule under test never turns the condition False; a scrape that misses its 900 ms deadline on a loaded
    // machine reads Unknown/MetricsUnreachable, which is a different (and correct) signal.
    const flipped = recorder.seen.filter(
      (s) => s.at >= start && s.conditions.find((c) => c.type === 'KaiwoOperatorHealthy')?.status === 'False',
    );
    expect(
      flipped.map((s) => s.conditions.find((c) => c.type === 'KaiwoOperatorHealthy')),
      'KaiwoOperatorHealthy while trickling',
    ).to.deep.equal([]);
  });

  it('flips within one window for 2 errors a second (120/min), and heals once they stop', async () => {
    const start = Date.now();
    timers.push(
      setInterval(() => {
        sim.addReconcileErrors(1);
      }, 500),
    );
    const hit = await recorder.when('KaiwoOperatorHealthy', 'False', start, 3 * WINDOW_MS);
    clearInterval(timers.pop());
    const stoppedAt = Date.now();
    expect(hit.condition.reason).to.equal('ReconcileErrors');
    expect(hit.at - start, 'detected within one window (plus a scrape)').to.be.below(WINDOW_MS + 2000);
    const healed = await recorder.when('KaiwoOperatorHealthy', 'True', stoppedAt, 3 * WINDOW_MS);
    expect(healed.at - stoppedAt, 'the errors leave the window').to.be.within(0, WINDOW_MS + 3000);
    const flaps = recorder.seen.filter(
      (s, i) =>
        i > 0 &&
        s.at >= start &&
        s.at < healed.at &&
        s.conditions.find((c) => c.type === 'KaiwoOperatorHealthy')?.status === 'True' &&
        recorder.seen[i - 1]?.conditions.find((c) => c.type === 'KaiwoOperatorHealthy')?.status === 'False',
    );
    expect(flaps, 'no True in between while errors kept coming').to.deep.equal([]);
  });
});
