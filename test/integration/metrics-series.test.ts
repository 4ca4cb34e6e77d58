import { expect } from 'chai';
import { get } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { parsePrometheusText, type Sample } from '../../src/sources/promtext.js';
import { sharedCluster, skipWithoutBackend, uniqueName } from '../support/cluster.js';
import { Monitors } from '../support/fakes/monitors.js';
import { OperatorProcess } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

/** Every sample the operator exports with label monitor=<name>. */
async function seriesOf(port: number, name: string): Promise<Sample[]> {
  const text = await new Promise<string>((resolve, reject) => {
    const req = get(`http://127.0.0.1:${port}/metrics`, { timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        if (res.statusCode === 200) resolve(body);
        else reject(new Error(`HTTP ${res.statusCode ?? 0}`));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
  return parsePrometheusText(text).samples.filter((s) => s.labels.monitor === name);
}

const aboutKueue = (s: Sample) => s.labels.type === 'KueueHealthy' || s.labels.component === 'kueue';

describe('integration: per-monitor metric series vanish from /metrics when a component is disabled or the monitor deleted', function () {
  this.timeout(120_000);
  before(skipWithoutBackend);
  let kc: KubeConfig;
  let monitors: Monitors;
  let op: OperatorProcess;
  let port: number;
  const gone = uniqueName('series');
  const kept = uniqueName('series-kept');

  before(async () => {
    const cluster = await sharedCluster();
    kc = cluster.kubeConfig();
    monitors = new Monitors(kc);
    op = await OperatorProcess.start(cluster.kubeconfigPath, [], { metrics: 'plain' });
    port = op.metricsPort ?? 0;
    await op.waitForLog((l) => l.msg === 'serving');
    await monitors.create(gone, { interval: '2s' });
    await monitors.create(kept, { interval: '2s' });
  });

  after(async () => {
    await op.stop();
    await monitors.delete(gone);
    await monitors.delete(kept);
  });

  it('exports KueueHealthy, kueue findings and summary, then removes exactly those after kueue.enabled: false', async () => {
    for (const name of [gone, kept]) {
      await waitFor(
        `${name}: KueueHealthy and kueue findings exported`,
        async () => {
          const s = await seriesOf(port, name);
          return (
            s.some((x) => x.name === 'kaiwo_monitor_condition' && x.labels.type === 'KueueHealthy') &&
            s.some((x) => x.name === 'kaiwo_monitor_findings' && x.labels.component === 'kueue')
          );
        },
        60_000,
      );
    }
    const before = await seriesOf(port, gone);
    expect(before.filter(aboutKueue).map((s) => s.name)).to.include.members(['kaiwo_monitor_condition', 'kaiwo_monitor_findings']);

    await monitors.patchSpec(gone, { kueue: { enabled: false } });
    const after = await waitFor(
      'KueueHealthy series removed',
      async () => {
        const s = await seriesOf(port, gone);
        return s.some(aboutKueue) ? undefined : s;
      },
      30_000,
    );
    // The other components of this monitor, and the other monitor's Kueue series, are still exported.
    expect(after.filter((s) => s.name === 'kaiwo_monitor_condition' && s.labels.type === 'KaiwoOperatorHealthy')).to.have.length(3);
    expect(after.filter((s) => s.name === 'kaiwo_monitor_findings').map((s) => s.labels.component)).to.not.include('kueue');
    expect(after.filter((s) => s.name === 'kaiwo_monitor_findings').length).to.be.above(0);
    expect((await seriesOf(port, kept)).filter(aboutKueue).length).to.be.above(0);
  });

  it('removes every series of a deleted monitor (conditions, findings, summary, last check, status patches, interval)', async () => {
    const names = new Set((await seriesOf(port, gone)).map((s) => s.name));
    expect([...names]).to.include.members([
      'kaiwo_monitor_condition',
      'kaiwo_monitor_findings',
      'kaiwo_monitor_last_check_timestamp_seconds',
      'kaiwo_monitor_status_patches_total',
    ]);
    await monitors.delete(gone);
    await waitFor('no series with monitor=<deleted>', async () => (await seriesOf(port, gone)).length === 0, 30_000);
    const others = await seriesOf(port, kept);
    expect(others.filter((s) => s.name === 'kaiwo_monitor_condition' && s.labels.type === 'KueueHealthy')).to.have.length(3);
    expect(
      others.map((s) => s.name),
      'series of the kept monitor',
    ).to.include('kaiwo_monitor_status_patches_total');
  });
});
