import { expect } from 'chai';
import { get } from 'node:http';
import type { Condition, Finding, KaiwoMonitor } from '../../src/api/types.js';
import { LocalPrometheus } from '../../src/localcluster/prometheus.js';
import { FakeGpuExporters } from '../../src/localcluster/testbed/gpu-exporters.js';
import {
  AMD_SELECTOR_LABEL,
  agentPods,
  agentDaemonSet,
  installNodeAgents,
  labelNode,
  readyAgentPod,
} from '../../src/localcluster/testbed/node-agents.js';
import { TestBed } from '../../src/localcluster/testbed/testbed.js';
import { kueuePath } from '../../src/localcluster/testbed/workloads.js';
import { rawJson } from '../../src/runtime/rawrequest.js';
import { Monitors } from '../support/fakes/monitors.js';
import { MonitorRecorder } from '../support/fakes/scenarios.js';
import { OperatorProcess } from '../support/operator.js';
import { bumpGeneration, QUEUE_CONFIG_PATH, type QueueConfig } from '../support/testbed-monitor.js';
import { waitFor } from '../support/wait.js';

/**
 * The GPU hardware check (GPUHardwareHealthy) and capacity's AT-RISK on the full test bed (src/localcluster/testbed):
 * the real Kaiwo and Kueue, kwok GPU nodes, the vendors' node agents as real DaemonSets the real
 * kube-controller-manager places on them (node-agents.ts), one stand-in exporter per GPU node serving the real
 * device-metrics-exporter / dcgm-exporter series (gpu-exporters.ts) and a real Prometheus scraping them every
 * second. Each scenario writes a fault where it would appear (an exporter's counter or gauge, a node label, a pod),
 * asserts the finding naming node, GPU and value, then the recovery; "no finding" is asserted only once a positive
 * marker proves the monitor evaluated after the event. Detection times (fault written → status shows it) are
 * printed at the end.
 */

const MON = 'gpu-hardware';
const WINDOW_S = 15;
const SUSTAIN_S = 10;
const log = (m: string) => process.stderr.write(`      [testbed] ${m}\n`);

type Seen = MonitorRecorder['seen'][number];

/** Instant PromQL query against the local Prometheus (loopback): the vector's samples. */
function promQuery(url: string, query: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  return new Promise((resolve, reject) => {
    const req = get(`${url}/api/v1/query?query=${encodeURIComponent(query)}`, { timeout: 5000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        try {
          const j = JSON.parse(body) as {
            status: string;
            data?: { result?: { metric: Record<string, string>; value: [number, string] }[] };
          };
          if (j.status !== 'success') throw new Error(`query ${query}: ${body.slice(0, 300)}`);
          resolve(j.data?.result ?? []);
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('prometheus query timed out')));
    req.on('error', reject);
  });
}

describe('e2e on the test bed: GPU hardware signals from the exporters through a real Prometheus, node agents, capacity at risk', function () {
  this.timeout(240_000);
  const tb = new TestBed({ log });
  let exporters: FakeGpuExporters | undefined;
  let prom: LocalPrometheus | undefined;
  let op: OperatorProcess | undefined;
  let recorder: MonitorRecorder | undefined;
  const detections: [string, number][] = [];
  let amdFlavor = '';

  const rec = (): MonitorRecorder => {
    if (!recorder) throw new Error('monitor not recording');
    return recorder;
  };
  const ex = () => {
    if (!exporters) throw new Error('no exporters');
    return exporters;
  };
  const promUrl = () => {
    if (!prom) throw new Error('no prometheus');
    return prom.url;
  };
  const operator = () => {
    if (!op) throw new Error('no operator');
    return op;
  };
  const req = <T>(method: string, path: string, body?: unknown, contentType?: string) =>
    rawJson<T>(tb.kc, { method, path, ...(body !== undefined ? { body } : {}), ...(contentType ? { contentType } : {}) });

  const findings = (m: KaiwoMonitor) => m.status?.findings ?? [];
  const hw = (m: KaiwoMonitor) => findings(m).filter((f) => f.component === 'gpuHardware');
  const hwCounts = (m: KaiwoMonitor) => m.status?.summary?.gpuHardware?.counts ?? {};
  const cond = (m: KaiwoMonitor, type = 'GPUHardwareHealthy'): Condition | undefined => m.status?.conditions?.find((c) => c.type === type);
  const finding = (m: KaiwoMonitor, reason: string, node: string): Finding | undefined =>
    findings(m).find((f) => f.reason === reason && f.object?.name === node);
  const lastFindings = () =>
    JSON.stringify(
      findings(rec().seen.at(-1)?.monitor ?? ({} as KaiwoMonitor)).map((f) => `${f.component} ${f.severity}/${f.reason}: ${f.message}`),
    );
  /** The first status written since `since` that satisfies `f`; a timeout says what the last status held. */
  const seenSince = (what: string, since: number, f: (m: KaiwoMonitor, x: Seen) => boolean, timeoutMs = 60_000) =>
    waitFor(what, () => rec().seen.find((x) => x.at >= since && f(x.monitor, x)), timeoutMs, 50).catch((err: unknown) => {
      throw new Error(
        `${(err as Error).message}; last findings: ${lastFindings()}; last counts: ${JSON.stringify(hwCounts(rec().seen.at(-1)?.monitor ?? ({} as KaiwoMonitor)))}`,
        {
          cause: err,
        },
      );
    });
  const detected = (name: string, faultAt: number, x: Seen) => {
    const ms = Math.max(0, x.at - faultAt);
    detections.push([name, ms]);
    log(`${name}: ${ms} ms`);
    return ms;
  };
  /** Statuses since `since` (for "never" assertions once a marker was seen). */
  const since = (t: number, until = Infinity) => rec().seen.filter((x) => x.at >= t && x.at <= until);

  /** The AMD flavor's row of the capacity table, as a column → cell map. */
  const amdRow = (m: KaiwoMonitor): Record<string, string> | undefined => {
    const t = m.status?.summary?.capacity?.table;
    const row = t?.rows.find((r) => r[1] === amdFlavor && r[2] === 'amd.com/gpu');
    return row && t ? Object.fromEntries(t.columns.map((c, i) => [c, row[i] ?? ''])) : undefined;
  };
  const atRiskGauge = () =>
    operator().metric('kaiwo_monitor_capacity_gpus', { monitor: MON, flavor: amdFlavor, resource: 'amd.com/gpu', kind: 'at_risk' });

  /** The first status after `after` that evaluated a spec change (bumpGeneration's marker; workloads is disabled here). */
  async function verdictAfter(after: number, maxPending: string, also: (m: KaiwoMonitor) => boolean = () => true): Promise<Seen> {
    const generation = await bumpGeneration(tb.kc, MON, maxPending);
    return seenSince(
      `a status of generation ${generation}`,
      after,
      (x) => (x.status?.observedGeneration ?? 0) >= generation && also(x),
      30_000,
    );
  }

  before(async function () {
    this.timeout(900_000);
    await tb.start();
    process.stderr.write(
      `\n      test bed started in ${(tb.startupMs / 1000).toFixed(1)}s: ${tb.phases.map(([n, ms]) => `${n} ${(ms / 1000).toFixed(1)}s`).join(', ')}\n`,
    );
    // Kaiwo builds KaiwoQueueConfig/kaiwo (a flavor per node pool, the ClusterQueue kaiwo) from the nodes.
    await waitFor(
      'KaiwoQueueConfig kaiwo READY',
      async () => (await req<QueueConfig>('GET', QUEUE_CONFIG_PATH).catch(() => undefined))?.status?.status === 'READY',
      120_000,
      250,
    );
    await waitFor(
      'ClusterQueue kaiwo Active',
      async () =>
        (
          await req<{ status?: { conditions?: Condition[] } }>('GET', `${kueuePath(tb.kueue.apiVersion, 'clusterqueues')}/kaiwo`).catch(
            () => undefined,
          )
        )?.status?.conditions?.some((c) => c.type === 'Active' && c.status === 'True'),
      120_000,
      250,
    );
    // The AMD flavor is Kaiwo's, named after the pool it labelled the MI300X nodes with.
    const qc = await req<QueueConfig>('GET', QUEUE_CONFIG_PATH);
    amdFlavor = qc.spec.resourceFlavors?.find((f) => f.nodeLabels?.['kaiwo/nodepool']?.startsWith('amd-mi300x-'))?.name ?? '';
    expect(amdFlavor, JSON.stringify(qc.spec.resourceFlavors)).to.not.equal('');
    const t0 = Date.now();
    exporters = await FakeGpuExporters.start(tb.nodes.nodes);
    // Fleet history: counts the GPUs collected long before this test (flat counts are no signal).
    for (const node of ['mi300x-0', 'mi300x-1']) {
      const e = ex().get(node);
      e.gpus.forEach((g) => {
        e.add(g.index, 'gpu_ecc_correct_total', 120 + g.index);
        e.add(g.index, 'pcie_replay_count', 9);
        e.set(g.index, 'gpu_gfx_activity', 40 + g.index);
      });
    }
    ex().get('mi300x-0').add(0, 'gpu_ecc_uncorrect_total', 2);
    const nv = ex().get('h100-0');
    nv.gpus.forEach((g) => {
      nv.add(g.index, 'DCGM_FI_DEV_PCIE_REPLAY_COUNTER', 30);
      nv.set(g.index, 'DCGM_FI_DEV_GPU_UTIL', 70);
    });
    nv.add(6, 'DCGM_FI_DEV_ECC_DBE_VOL_TOTAL', 1);
    prom = await LocalPrometheus.start(ex().targets, '1s');
    await installNodeAgents(tb.kc);
    await waitFor(
      'Prometheus holds the series of all three exporters',
      async () => (await promQuery(promUrl(), 'count(gpu_health) + count(DCGM_FI_DEV_GPU_TEMP)'))[0]?.value[1] === '24',
      60_000,
      250,
    );
    log(`exporters, Prometheus and node agents up in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    await new Monitors(tb.kc).create(MON, {
      interval: '5s',
      operator: { enabled: false },
      kueue: { enabled: false },
      gpuNodes: { enabled: false },
      workloads: { enabled: false },
      capacity: { enabled: true },
      gpuHardware: {
        signals: {
          enabled: true,
          prometheusURL: promUrl(),
          interval: '5s',
          timeout: '3s',
          failureGrace: '10s',
          window: `${WINDOW_S}s`,
          sustain: `${SUSTAIN_S}s`,
          missingGrace: '5s',
          correctableECC: 50,
          pcieReplays: 50,
        },
        agents: { grace: '5s' },
      },
    });
    recorder = new MonitorRecorder(tb.kc, MON);
    recorder.start();
    op = await OperatorProcess.start(tb.kubeconfigPath, [], { metrics: 'plain' });
  });

  after(async function () {
    this.timeout(120_000);
    await op?.stop();
    await recorder?.stop();
    await prom?.stop();
    await exporters?.stop();
    await tb.stop();
    if (detections.length) {
      process.stderr.write(
        `\n      GPU hardware on the test bed, fault written → status (Prometheus scrape 1s, query interval 5s, window ${WINDOW_S}s, sustain ${SUSTAIN_S}s, grace 5s):\n${detections
          .map(([n, ms]) => `        ${String(ms).padStart(6)} ms  ${n}`)
          .join('\n')}\n`,
      );
    }
  });

  it('a healthy fleet: every GPU node watched, every agent Ready, historical (flat) error counts raise nothing, AT-RISK 0', async () => {
    const ok = await seenSince(
      'GPUHardwareHealthy True with all nodes watched and all agents Ready',
      0,
      (m) =>
        cond(m)?.status === 'True' &&
        hwCounts(m).watchedNodes === 3 &&
        hwCounts(m).devicePluginReady === 3 &&
        hwCounts(m).exporterReady === 3 &&
        amdRow(m) !== undefined,
      120_000,
    );
    expect(hwCounts(ok.monitor)).to.include({
      gpuNodes: 3,
      watchedNodes: 3,
      criticalGPUs: 0,
      degradedGPUs: 0,
      devicePluginNodes: 3,
      devicePluginReady: 3,
      exporterNodes: 3,
      exporterReady: 3,
    });
    expect(hw(ok.monitor)).to.deep.equal([]);
    expect(cond(ok.monitor)?.message).to.equal('3 GPU nodes: no hardware signal past its threshold');
    const table = ok.monitor.status?.summary?.capacity?.table;
    log(`capacity table: ${JSON.stringify(table)}`);
    expect(table?.columns).to.include('AT-RISK');
    expect(amdRow(ok.monitor)).to.include({ PROMISED: '16', HEALTHY: '16', 'AT-RISK': '0', LOST: '0' });
    expect(ok.monitor.status?.summary?.capacity?.counts).to.include({ gpusAtRisk: 0 });
    expect(await waitFor('the at_risk gauge', () => atRiskGauge(), 30_000, 250)).to.equal(0);
  });

  it('(a) an uncorrectable ECC burst on one AMD GPU: Critical GPUUncorrectableECC naming node, GPU and count; AT-RISK 1 while the device plugin still advertises it; healed after the window', async () => {
    const amd = ex().get('mi300x-0');
    const uuid = amd.uuid(3);
    const t0 = Date.now();
    amd.add(3, 'gpu_ecc_uncorrect_total', 4);
    const hit = await seenSince('GPUUncorrectableECC on mi300x-0', t0, (m) => finding(m, 'GPUUncorrectableECC', 'mi300x-0') !== undefined);
    detected('(a) uncorrectable ECC burst (AMD gpu_ecc_uncorrect_total +4) → Critical GPUUncorrectableECC', t0, hit);
    const f = finding(hit.monitor, 'GPUUncorrectableECC', 'mi300x-0');
    expect(f?.severity).to.equal('Critical');
    expect(f?.object).to.deep.include({ kind: 'Node', name: 'mi300x-0' });
    const m = /^GPU 3 \(([0-9a-f-]+)\) on mi300x-0: ([\d.]+) uncorrectable ECC errors in 15s \(gpu_ecc_uncorrect_total\)$/.exec(
      f?.message ?? '',
    );
    expect(m, f?.message).to.not.equal(null);
    expect(m?.[1]).to.equal(uuid);
    // increase() extrapolates to the window's edges by up to 1.1 average scrape intervals each side (more when a
    // loaded machine delays a 1 s scrape), so the count is at least the 4 errors and well short of the 6 a
    // mix-up with GPU 0's 2 old errors would give.
    expect(Number(m?.[2])).to.be.at.least(4).and.below(6);
    expect(hw(hit.monitor).filter((x) => x.reason === 'GPUUncorrectableECC')).to.have.length(1);
    // GPU 0's two old uncorrectable errors are flat: no signal.
    expect(hw(hit.monitor).some((x) => x.message.startsWith('GPU 0 '))).to.equal(false);
    expect(cond(hit.monitor)).to.include({ status: 'False', reason: 'GPUUncorrectableECC' });
    expect(hwCounts(hit.monitor)).to.include({ criticalGPUs: 1 });

    // Capacity: the GPU counts as healthy (the device plugin still advertises all 8) but at risk.
    const risk = await seenSince('AT-RISK 1 in the capacity table', t0, (x) => amdRow(x)?.['AT-RISK'] === '1');
    detected('(a) … → capacity AT-RISK 1 (status.summary.capacity.table)', t0, risk);
    expect(amdRow(risk.monitor)).to.include({ PROMISED: '16', HEALTHY: '16', 'AT-RISK': '1', LOST: '0' });
    // Over both flavors: 16 AMD + 8 NVIDIA healthy.
    expect(risk.monitor.status?.summary?.capacity?.counts).to.include({ gpusAtRisk: 1, gpusHealthy: 24, gpusLost: 0 });
    const node = await req<{ status: { allocatable: Record<string, string> } }>('GET', '/api/v1/nodes/mi300x-0');
    expect(node.status.allocatable['amd.com/gpu']).to.equal('8');
    const quota = findings(risk.monitor).find((x) => x.reason === 'QuotaReliesOnAtRiskGPUs');
    expect(quota?.severity).to.equal('Warning');
    expect(quota?.message).to.include('mi300x-0 (1)');
    expect(await waitFor('at_risk gauge 1', async () => ((await atRiskGauge()) === 1 ? 1 : undefined), 30_000, 250)).to.equal(1);
    detections.push(['(a) … → kaiwo_monitor_capacity_gpus{kind="at_risk"} 1 (polled every 250 ms)', Date.now() - t0]);

    const healed = await seenSince(
      'GPUHardwareHealthy True again',
      hit.at,
      (x) => cond(x)?.status === 'True' && !finding(x, 'GPUUncorrectableECC', 'mi300x-0'),
      90_000,
    );
    detected(`(a) … healed (the burst left the ${WINDOW_S}s window)`, t0, healed);
    expect(healed.at - t0).to.be.at.least((WINDOW_S - 2) * 1000);
    const calm = await seenSince('AT-RISK back to 0', hit.at, (x) => amdRow(x)?.['AT-RISK'] === '0');
    expect(findings(calm.monitor).map((x) => x.reason)).to.not.include('QuotaReliesOnAtRiskGPUs');
    expect(await waitFor('at_risk gauge 0', async () => ((await atRiskGauge()) === 0 ? 0 : undefined), 30_000, 250)).to.equal(0);
  });

  it('(b) XID 79 (fallen off the bus) on one NVIDIA GPU: Critical GPUXidError that stays past the window (a gauge); healed when the GPU reset clears it', async () => {
    const nv = ex().get('h100-0');
    const t0 = Date.now();
    nv.set(5, 'DCGM_FI_DEV_XID_ERRORS', 79);
    const hit = await seenSince('GPUXidError on h100-0', t0, (m) => finding(m, 'GPUXidError', 'h100-0') !== undefined);
    detected('(b) XID 79 (DCGM_FI_DEV_XID_ERRORS) → Critical GPUXidError', t0, hit);
    const f = finding(hit.monitor, 'GPUXidError', 'h100-0');
    expect(f?.severity).to.equal('Critical');
    expect(f?.message).to.equal(`GPU 5 (${nv.uuid(5)}) on h100-0: last XID 79 (DCGM_FI_DEV_XID_ERRORS)`);
    expect(cond(hit.monitor)).to.include({ status: 'False', reason: 'GPUXidError' });
    // The last XID is a gauge: unlike a counter's increase it does not age out of the window. Once a query after
    // the window has been answered, an evaluation after it (the marker) still holds the finding.
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + (WINDOW_S + 6) * 1000 - Date.now())));
    const still = await verdictAfter(Date.now(), '12m');
    expect(finding(still.monitor, 'GPUXidError', 'h100-0')?.message).to.equal(f?.message);

    const t1 = Date.now();
    nv.set(5, 'DCGM_FI_DEV_XID_ERRORS', 0);
    const healed = await seenSince('GPUXidError gone', t1, (x) => cond(x)?.status === 'True' && !finding(x, 'GPUXidError', 'h100-0'));
    detected('(b) … healed (GPU reset: last XID back to 0)', t1, healed);
  });

  it('(c) an application XID (13) is seen and ignored: applicationXids counted, no GPUXidError', async () => {
    const nv = ex().get('h100-0');
    const t0 = Date.now();
    nv.set(2, 'DCGM_FI_DEV_XID_ERRORS', 13);
    const marker = await seenSince('applicationXids counted', t0, (m) => (hwCounts(m).applicationXids ?? 0) > 0);
    detected('(c) XID 13 → seen as an application XID (summary applicationXids 1, no finding)', t0, marker);
    expect(hwCounts(marker.monitor)).to.include({ applicationXids: 1, criticalGPUs: 0 });
    expect(cond(marker.monitor)?.status).to.equal('True');
    for (const x of since(t0))
      expect(
        findings(x.monitor).filter((y) => y.reason === 'GPUXidError'),
        `at ${new Date(x.at).toISOString()}`,
      ).to.deep.equal([]);
    nv.set(2, 'DCGM_FI_DEV_XID_ERRORS', 0);
    await seenSince('applicationXids gone', marker.at, (m) => hwCounts(m).applicationXids === undefined);
  });

  it('(c2) a fatal RAS event on one AMD GPU (the AFID gauge of device-metrics-exporter): Critical GPUFatalError naming the AFID; healed when the exporter no longer holds it', async () => {
    const amd = ex().get('mi300x-1');
    const t0 = Date.now();
    amd.setRasEvents(6, [{ afidIndex: 0, severity: 'fatal', afid: 30 }]);
    const hit = await seenSince('GPUFatalError on mi300x-1', t0, (m) => finding(m, 'GPUFatalError', 'mi300x-1') !== undefined);
    detected('(c2) fatal RAS event (gpu_afid_errors) → Critical GPUFatalError', t0, hit);
    const f = finding(hit.monitor, 'GPUFatalError', 'mi300x-1');
    expect(f?.severity).to.equal('Critical');
    expect(f?.message).to.match(/^GPU 6 \(.+\) on mi300x-1: fatal RAS event, AFID 30 \(gpu_afid_errors\)$/);
    expect(cond(hit.monitor)?.status).to.equal('False');
    const t1 = Date.now();
    amd.setRasEvents(6, undefined);
    const healed = await seenSince('GPUFatalError gone', t1, (x) => cond(x)?.status === 'True' && !finding(x, 'GPUFatalError', 'mi300x-1'));
    detected('(c2) … healed (the event cleared)', t1, healed);
  });

  it('(d) temperatures held past their thresholds: Warning GPUOverheating (NVIDIA GPU temperature, AMD junction) after `sustain`; healed when they cool', async () => {
    const nv = ex().get('h100-0');
    const amd = ex().get('mi300x-1');
    const t0 = Date.now();
    nv.set(1, 'DCGM_FI_DEV_GPU_TEMP', 93);
    amd.set(6, 'gpu_junction_temperature', 109);
    const hit = await seenSince(
      'GPUOverheating on h100-0 and mi300x-1',
      t0,
      (m) => finding(m, 'GPUOverheating', 'h100-0') !== undefined && finding(m, 'GPUOverheating', 'mi300x-1') !== undefined,
    );
    const first = await seenSince('GPUOverheating', t0, (m) => hw(m).some((x) => x.reason === 'GPUOverheating'));
    detected(
      `(d) temperature 93 °C (NVIDIA) / junction 109 °C (AMD) held → Warning GPUOverheating (first of the two; sustain ${SUSTAIN_S}s)`,
      t0,
      first,
    );
    detected('(d) … both', t0, hit);
    expect(first.at - t0).to.be.at.least((SUSTAIN_S - 1) * 1000);
    const n = finding(hit.monitor, 'GPUOverheating', 'h100-0');
    const a = finding(hit.monitor, 'GPUOverheating', 'mi300x-1');
    expect(n?.severity).to.equal('Warning');
    expect(n?.message).to.equal(`GPU 1 (${nv.uuid(1)}) on h100-0: at 93 °C or more for 10s (DCGM_FI_DEV_GPU_TEMP; threshold 90 °C)`);
    expect(a?.severity).to.equal('Warning');
    expect(a?.message).to.equal(
      `GPU 6 (${amd.uuid(6)}) on mi300x-1: junction at 109 °C or more for 10s (gpu_junction_temperature; threshold 105 °C)`,
    );
    // Warnings degrade the message, not the status.
    expect(cond(hit.monitor)?.status).to.equal('True');
    expect(cond(hit.monitor)?.message).to.include('(2 warnings)');
    expect(hwCounts(hit.monitor)).to.include({ degradedGPUs: 2, criticalGPUs: 0 });

    const t1 = Date.now();
    nv.set(1, 'DCGM_FI_DEV_GPU_TEMP', 60);
    amd.set(6, 'gpu_junction_temperature', 70);
    const healed = await seenSince('GPUOverheating gone', t1, (m) => !hw(m).some((x) => x.reason === 'GPUOverheating'));
    detected('(d) … healed (cooled)', t1, healed);
    expect(hwCounts(healed.monitor)).to.include({ degradedGPUs: 0 });
  });

  it('(e) counters reset to 0 (driver reload, exporter restarted): no finding; proved by a marker burst evaluated in the same queries after the reset', async () => {
    const amd = ex().get('mi300x-0');
    const nv = ex().get('h100-0');
    expect(amd.value(3, 'gpu_ecc_uncorrect_total')).to.equal(4);
    const t0 = Date.now();
    await amd.restart({ resetCounters: true });
    await nv.restart({ resetCounters: true });
    // Prometheus has the reset samples (each counter back at 0) …
    await waitFor(
      'Prometheus holds the reset',
      async () =>
        (
          await promQuery(
            promUrl(),
            'max(gpu_ecc_correct_total{hostname="mi300x-0"}) + max(DCGM_FI_DEV_PCIE_REPLAY_COUNTER{Hostname="h100-0"})',
          )
        )[0]?.value[1] === '0',
      30_000,
      100,
    );
    const t1 = Date.now();
    // … then a marker in the same two query families (memory, pcie) on the other AMD node: the first status that
    // shows it was computed by queries whose window holds the reset.
    const other = ex().get('mi300x-1');
    other.add(4, 'gpu_ecc_correct_total', 100);
    other.add(4, 'pcie_replay_count', 80);
    const marker = await seenSince(
      'the marker: GPUCorrectableECC and GPUPCIeReplays on mi300x-1',
      t1,
      (m) => finding(m, 'GPUCorrectableECC', 'mi300x-1') !== undefined && finding(m, 'GPUPCIeReplays', 'mi300x-1') !== undefined,
    );
    detected('(e) marker: correctable ECC +100 / PCIe replays +80 (AMD) → Warning GPUCorrectableECC + GPUPCIeReplays', t1, marker);
    expect(finding(marker.monitor, 'GPUCorrectableECC', 'mi300x-1')?.message).to.match(
      new RegExp(`^GPU 4 \\(${other.uuid(4)}\\) on mi300x-1: [\\d.]+ correctable ECC errors in 15s \\(gpu_ecc_correct_total\\)$`),
    );
    expect(finding(marker.monitor, 'GPUPCIeReplays', 'mi300x-1')?.message).to.match(
      /^GPU 4 \(.*\) on mi300x-1: [\d.]+ PCIe replays in 15s \(pcie_replay_count\)$/,
    );
    expect(hwCounts(marker.monitor)).to.include({ watchedNodes: 3, criticalGPUs: 0 });
    for (const x of since(t0, marker.at)) {
      expect(
        hw(x.monitor)
          .filter((f) => f.object?.name === 'mi300x-0' || f.object?.name === 'h100-0' || f.severity === 'Critical')
          .map((f) => `${f.severity}/${f.reason}: ${f.message}`),
        `at ${new Date(x.at).toISOString()}`,
      ).to.deep.equal([]);
    }
  });

  it('(f) the exporter gone on one node: Warning GPUMetricsMissing for that node after missingGrace; healed when it is back', async () => {
    const e = ex().get('mi300x-1');
    const t0 = Date.now();
    await e.stop();
    const hit = await seenSince('GPUMetricsMissing on mi300x-1', t0, (m) => finding(m, 'GPUMetricsMissing', 'mi300x-1') !== undefined);
    detected('(f) exporter stopped → Warning GPUMetricsMissing (missingGrace 5s)', t0, hit);
    const f = finding(hit.monitor, 'GPUMetricsMissing', 'mi300x-1');
    expect(f?.severity).to.equal('Warning');
    expect(f?.message, f?.message).to.match(
      /^GPU node mi300x-1: no exporter series in Prometheus for (more than )?\d+s: its GPUs' hardware health is unknown/,
    );
    expect(hit.at - t0).to.be.at.least(5000);
    expect(hwCounts(hit.monitor)).to.include({ watchedNodes: 2 });
    expect(
      hw(hit.monitor)
        .filter((x) => x.reason === 'GPUMetricsMissing')
        .map((x) => x.object?.name),
    ).to.deep.equal(['mi300x-1']);

    const t1 = Date.now();
    await e.start();
    const healed = await seenSince(
      'GPUMetricsMissing gone',
      t1,
      (m) => !finding(m, 'GPUMetricsMissing', 'mi300x-1') && hwCounts(m).watchedNodes === 3,
    );
    detected('(f) … healed (exporter back)', t1, healed);
  });

  it('(g) the device plugin leaves a node (its DaemonSet no longer selects it): Critical DevicePluginMissing after grace; healed when it is back and Ready; a plain pod delete the DaemonSet replaces within grace raises nothing', async () => {
    // A pod deleted and recreated by the real DaemonSet controller within the grace: no finding.
    const ds = agentDaemonSet('default-device-plugin');
    const old = await readyAgentPod(tb.kc, ds.name, 'mi300x-0');
    expect(old, 'the device plugin pod on mi300x-0').to.not.equal(undefined);
    const t0 = Date.now();
    await req('DELETE', `/api/v1/namespaces/${ds.namespace}/pods/${old?.name ?? ''}`);
    const fresh = await waitFor(
      'a new Ready device plugin pod on mi300x-0',
      async () => {
        const p = await readyAgentPod(tb.kc, ds.name, 'mi300x-0');
        return p && p.uid !== old?.uid ? p : undefined;
      },
      30_000,
      50,
    );
    const recreatedMs = Date.now() - t0;
    log(`device plugin pod deleted → replacement ${fresh.name} Ready in ${recreatedMs} ms`);
    detections.push([`(g) plain pod delete → the DaemonSet's replacement Ready (within the 5s grace: no finding)`, recreatedMs]);
    expect(recreatedMs).to.be.below(5000);
    const marker = await verdictAfter(Date.now(), '11m', (m) => hwCounts(m).devicePluginReady === 3);
    for (const x of since(t0, marker.at)) {
      expect(
        findings(x.monitor).filter((f) => f.reason === 'DevicePluginMissing'),
        `at ${new Date(x.at).toISOString()}`,
      ).to.deep.equal([]);
    }

    // The DeviceConfig's selector label removed from mi300x-1: the DaemonSet controller deletes the operator's pods
    // there (device plugin, node labeller, metrics exporter) and keeps them gone; its exporter process goes with them.
    const t1 = Date.now();
    await labelNode(tb.kc, 'mi300x-1', { [AMD_SELECTOR_LABEL]: null });
    await ex().get('mi300x-1').stop();
    const hit = await seenSince('DevicePluginMissing on mi300x-1', t1, (m) => finding(m, 'DevicePluginMissing', 'mi300x-1') !== undefined);
    detected('(g) device plugin pod gone (node label removed) → Critical DevicePluginMissing (grace 5s)', t1, hit);
    expect(hit.at - t1).to.be.at.least(5000);
    const f = finding(hit.monitor, 'DevicePluginMissing', 'mi300x-1');
    expect(f?.severity).to.equal('Critical');
    expect(f?.message, f?.message).to.match(
      /^GPU node mi300x-1: no device plugin pod runs there \(AMD GPU operator device plugin \/ AMD device plugin DaemonSet\) for (more than )?\d+s: its GPUs cannot be allocated/,
    );
    expect(cond(hit.monitor)).to.include({ status: 'False', reason: 'DevicePluginMissing' });
    expect(hwCounts(hit.monitor)).to.include({ devicePluginNodes: 3, devicePluginReady: 2 });
    expect((await agentPods(tb.kc, ds)).filter((p) => p.node === 'mi300x-1' && !p.deleting)).to.deep.equal([]);
    const exp = await seenSince('GPUExporterMissing on mi300x-1', t1, (m) => finding(m, 'GPUExporterMissing', 'mi300x-1') !== undefined);
    expect(finding(exp.monitor, 'GPUExporterMissing', 'mi300x-1')?.severity).to.equal('Warning');

    const t2 = Date.now();
    await labelNode(tb.kc, 'mi300x-1', { [AMD_SELECTOR_LABEL]: 'true' });
    const back = await waitFor(
      'the device plugin pod Ready on mi300x-1 again',
      () => readyAgentPod(tb.kc, ds.name, 'mi300x-1'),
      60_000,
      100,
    );
    await waitFor(
      'the exporter pod Ready on mi300x-1 again',
      () => readyAgentPod(tb.kc, 'default-metrics-exporter', 'mi300x-1'),
      60_000,
      100,
    );
    await ex().get('mi300x-1').start();
    log(`label back → device plugin pod ${back.name} Ready in ${Date.now() - t2} ms`);
    const healed = await seenSince(
      'GPUHardwareHealthy True with every agent Ready',
      t2,
      (m) => cond(m)?.status === 'True' && hw(m).length === 0 && hwCounts(m).devicePluginReady === 3 && hwCounts(m).watchedNodes === 3,
    );
    detected('(g) … healed (label back, new pods Ready, exporter series back)', t2, healed);
  });
});
