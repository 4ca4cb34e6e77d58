import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { Cluster } from '../../src/localcluster/backend.js';
import { LocalPrometheus } from '../../src/localcluster/prometheus.js';
import { SimulatedStack } from '../support/fakes/simulate.js';
import { sharedCluster, skipWithoutBackend } from '../support/cluster.js';
import { Monitors } from '../support/fakes/monitors.js';
import { OperatorProcess } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

/** AMD device-metrics-exporter output for three GPUs: two held idle by one pod, one busy, one unallocated. */
const EXPORTER = [
  '# TYPE gpu_gfx_activity gauge',
  'gpu_gfx_activity{gpu_id="0",hostname="mi300x-0",namespace="ml-util",pod="idle-job",container="train"} 2',
  'gpu_gfx_activity{gpu_id="1",hostname="mi300x-0",namespace="ml-util",pod="idle-job",container="train"} 1',
  'gpu_gfx_activity{gpu_id="2",hostname="mi300x-0",namespace="ml-util",pod="busy-job",container="train"} 90',
  'gpu_gfx_activity{gpu_id="3",hostname="mi300x-0",namespace="",pod="",container=""} 0',
  '',
].join('\n');

describe('integration: GPU utilization from a real Prometheus (built from its Go module) scraping an exporter', function () {
  this.timeout(600_000); // the first run builds Prometheus
  before(skipWithoutBackend);
  let cluster: Cluster;
  let exporter: Server;
  let prometheus: LocalPrometheus | undefined;
  let op: OperatorProcess;
  let sim: SimulatedStack;
  const monitors = () => new Monitors(cluster.kubeConfig());

  before(async () => {
    cluster = await sharedCluster();
    exporter = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(EXPORTER);
    });
    await new Promise<void>((r) =>
      exporter.listen(0, '127.0.0.1', () => {
        r();
      }),
    );
    const a = exporter.address();
    prometheus = await LocalPrometheus.start([`127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`]);
    sim = new SimulatedStack(cluster.kubeConfig(), { label: 'util', workloadNamespace: 'ml-util' });
    await sim.install();
    await monitors().create('utilization', {
      operator: { enabled: false },
      kueue: { enabled: false },
      workloads: { enabled: false },
      gpuNodes: {
        utilization: { enabled: true, prometheusURL: prometheus.url, idleWindow: '1m', interval: '5s', timeout: '2s', failureGrace: '5s' },
      },
    });
    op = await OperatorProcess.start(cluster.kubeconfigPath);
  });

  after(async () => {
    await op.stop();
    await prometheus?.stop();
    exporter.close();
    await sim.stop();
    await monitors().delete('utilization');
  });

  it('reports idle GPUs held by running pods as Warnings and the cluster-wide utilization in the summary', async () => {
    const m = await waitFor(
      'utilization findings',
      async () => {
        const x = await monitors().get('utilization');
        return x.status?.findings?.some((f) => f.reason === 'IdleGPUs') ? x : undefined;
      },
      60_000,
      500,
    );
    const idle = m.status?.findings?.filter((f) => f.reason === 'IdleGPUs') ?? [];
    expect(idle.map((f) => f.object?.name)).to.deep.equal(['idle-job']);
    expect(idle[0]?.severity).to.equal('Warning');
    expect(idle[0]?.message).to.include('holds 2 GPUs below 5% utilization over 1m');
    expect(m.status?.summary?.gpuNodes?.counts).to.include({ utilizationPercent: 23, idleGPUs: 2 });
    expect(m.status?.conditions?.find((c) => c.type === 'GPUNodesHealthy')?.status).to.equal('True');
  });

  it('goes Unknown with reason PrometheusQueryFailed when Prometheus stays unreachable past failureGrace', async () => {
    await prometheus?.stop();
    prometheus = undefined;
    const c = await waitFor(
      'PrometheusQueryFailed',
      async () => {
        const x = (await monitors().get('utilization')).status?.conditions?.find((k) => k.type === 'GPUNodesHealthy');
        return x?.reason === 'PrometheusQueryFailed' ? x : undefined;
      },
      30_000,
      250,
    );
    expect(c.status).to.equal('Unknown');
    expect(op.exitCode).to.equal(null);
  });
});
