import { expect } from 'chai';
import { applyDefaults } from '../../../src/api/defaults.js';
import { type KaiwoMonitorSpec, specSchema } from '../../../src/checks/registry.js';
import {
  coveredNodes,
  coverageQuery,
  CRITICAL_FAMILIES,
  gpusByNode,
  FAMILIES,
  type Family,
  familyQuery,
  type GPUSignal,
  MAX_GPUS_PER_NODE,
  nodeOf,
  readSignals,
  signalScrapes,
  type SignalsSpec,
  xidSeverity,
} from '../../../src/checks/gpu-signals.js';
import type { ScrapeView } from '../../../src/checks/types.js';
import type { Sample } from '../../../src/sources/promtext.js';

const URL = 'http://prometheus.monitoring.svc:9090';
/** gpuHardware.signals as the API server stores it (defaults filled in), enabled against URL, with `over` on top. */
const signals = (over: Partial<SignalsSpec> = {}): SignalsSpec => ({
  ...applyDefaults<KaiwoMonitorSpec>(specSchema, { gpuHardware: { signals: { enabled: true, prometheusURL: URL } } }).gpuHardware.signals,
  ...over,
});
const S = signals();

const sample = (signal: string | undefined, value: number, labels: Record<string, string> = {}): Sample => ({
  name: '',
  labels: { ...(signal === undefined ? {} : { kmon_signal: signal }), ...labels },
  value,
});
const answer = (samples: Sample[]): ScrapeView => ({ state: 'ok', history: [{ at: 0, samples }] });
const views = (byFamily: Partial<Record<Family, Sample[]>>): Record<string, ScrapeView> =>
  Object.fromEntries(Object.entries(byFamily).map(([f, s]) => [`hw.${f}`, answer(s)]));
const NODES = new Set(['gpu-0', 'gpu-1', 'dgx-1', 'dgx-2']);
const amd = (node: string, gpu: string, extra: Record<string, string> = {}) => ({
  hostname: node,
  gpu_id: gpu,
  gpu_uuid: `amd-${node}-${gpu}`,
  ...extra,
});
const nv = (node: string, gpu: string, extra: Record<string, string> = {}) => ({
  Hostname: node,
  gpu,
  UUID: `GPU-${node}-${gpu}`,
  ...extra,
});
const read = (byFamily: Partial<Record<Family, Sample[]>>, s: SignalsSpec = S, nodes: ReadonlySet<string> = NODES) =>
  readSignals(views(byFamily), nodes, s);

/** The legs of a family query: [expression, kmon_signal]. */
function legs(query: string): [string, string][] {
  return query.split(' or ').map((leg) => {
    const m = /^label_replace\((.*), "kmon_signal", "([a-z_]+)", "", ""\)$/.exec(leg);
    expect(m, `leg not tagged with kmon_signal: ${leg}`).to.not.equal(null);
    return [m?.[1] ?? '', m?.[2] ?? ''];
  });
}

describe('GPU hardware signals: the queries', () => {
  it('tags every leg of every family with its own kmon_signal, each signal in exactly one family', () => {
    const byFamily = Object.fromEntries(FAMILIES.map((f) => [f, legs(familyQuery(S, f)).map(([, sig]) => sig)]));
    expect(byFamily).to.deep.equal({
      health: ['amd_gpu_health', 'nvidia_health_status'],
      memory: [
        'amd_ecc_uncorrectable',
        'nvidia_ecc_dbe',
        'nvidia_row_remap_failure',
        'nvidia_remapped_rows',
        'amd_ecc_correctable',
        'nvidia_ecc_sbe',
      ],
      errors: ['nvidia_xid_last', 'nvidia_xid_count', 'amd_ras_fatal', 'amd_ras_uncorrected'],
      thermal: ['amd_junction_temperature', 'amd_edge_temperature', 'nvidia_temperature', 'nvidia_thermal_violation'],
      pcie: ['amd_pcie_replays', 'nvidia_pcie_replays'],
    });
    expect(CRITICAL_FAMILIES).to.deep.equal(['health', 'memory', 'errors']);
  });

  it('guards every reading with < 1e15 (NaN, +Inf and absurd values never pass), but the equality test of gpu_health', () => {
    for (const f of FAMILIES) {
      for (const [expr, sig] of legs(familyQuery(S, f))) {
        if (sig === 'amd_gpu_health') expect(expr).to.equal('gpu_health == 0');
        else expect(expr, sig).to.match(/ < 1e15$/);
      }
    }
  });

  it('puts the window and sustain into the ranges in whole seconds', () => {
    const s = signals({ window: '1h30m', sustain: '1m30s' });
    const all = FAMILIES.map((f) => familyQuery(s, f)).join(' or ');
    const ranges = [...all.matchAll(/\[([^\]]+)\]/g)].map((m) => m[1]);
    expect(ranges).to.have.length(12);
    expect(new Set(ranges)).to.deep.equal(new Set(['5400s', '90s']));
    expect(all).to.include('increase(gpu_ecc_uncorrect_total[5400s])');
    expect(all).to.include('min_over_time(gpu_junction_temperature[90s])');
    expect(all).to.include('min_over_time(DCGM_FI_DEV_GPU_TEMP[90s])');
    expect(all).to.include('increase(DCGM_FI_DEV_THERMAL_VIOLATION[5400s])');
    // Defaults: 10m and 5m.
    expect(familyQuery(S, 'memory')).to.include('increase(DCGM_FI_DEV_ECC_DBE_VOL_TOTAL[600s])');
    expect(familyQuery(S, 'thermal')).to.include('min_over_time(gpu_edge_temperature[300s])');
    // A fraction of a second is rounded, never 0s.
    expect(familyQuery(signals({ window: '10500ms' }), 'pcie')).to.include('[11s]');
    expect(familyQuery(signals({ window: '100ms' }), 'pcie')).to.include('[1s]');
  });

  it('takes every threshold from the spec', () => {
    const s = signals({
      uncorrectableECC: 3,
      correctableECC: 500,
      pcieReplays: 7,
      temperatureCelsius: 85,
      junctionTemperatureCelsius: 99,
    });
    const memory = familyQuery(s, 'memory');
    expect(memory).to.include('increase(gpu_ecc_uncorrect_total[600s]) >= 3 < 1e15');
    expect(memory).to.include('increase(DCGM_FI_DEV_ECC_DBE_VOL_TOTAL[600s]) >= 3 < 1e15');
    expect(memory).to.include('increase(gpu_ecc_correct_total[600s]) >= 500 < 1e15');
    expect(memory).to.include('increase(DCGM_FI_DEV_ECC_SBE_VOL_TOTAL[600s]) >= 500 < 1e15');
    const thermal = familyQuery(s, 'thermal');
    expect(thermal).to.include('min_over_time(gpu_junction_temperature[300s]) >= 99 < 1e15');
    expect(thermal).to.include('min_over_time(gpu_edge_temperature[300s]) >= 85 < 1e15');
    expect(thermal).to.include('min_over_time(DCGM_FI_DEV_GPU_TEMP[300s]) >= 85 < 1e15');
    expect(familyQuery(s, 'pcie')).to.equal(
      'label_replace(increase(pcie_replay_count[600s]) >= 7 < 1e15, "kmon_signal", "amd_pcie_replays", "", "") or ' +
        'label_replace(increase(DCGM_FI_DEV_PCIE_REPLAY_COUNTER[600s]) >= 7 < 1e15, "kmon_signal", "nvidia_pcie_replays", "", "")',
    );
    expect(familyQuery(S, 'health')).to.include('DCGM_EXP_GPU_HEALTH_STATUS >= 20 < 1e15');
    expect(familyQuery(S, 'errors')).to.include('gpu_afid_errors{severity="fatal"} > 0 < 1e15');
  });

  it('coverage groups by the node labels that are valid label identifiers only (nothing else reaches the PromQL)', () => {
    expect(coverageQuery(S)).to.equal(
      'group by (node, kubernetes_node, Hostname, hostname) (gpu_gfx_activity or gpu_health or DCGM_FI_DEV_GPU_UTIL or DCGM_FI_DEV_GPU_TEMP)',
    );
    const hostile = coverageQuery(signals({ nodeLabels: ['node', 'bad-label', '1st', 'x) or vector(1', 'Hostname', '', '_ok9'] }));
    expect(hostile).to.equal(
      'group by (node, Hostname, _ok9) (gpu_gfx_activity or gpu_health or DCGM_FI_DEV_GPU_UTIL or DCGM_FI_DEV_GPU_TEMP)',
    );
  });

  it('declares one scrape per family (hw.<family>) and the coverage scrape, only when enabled with a URL', () => {
    expect(signalScrapes(signals({ enabled: false }), FAMILIES, true)).to.deep.equal({});
    const { prometheusURL: _u, ...noURL } = S;
    expect(signalScrapes(noURL, FAMILIES, true)).to.deep.equal({});
    const all = signalScrapes(S, FAMILIES, true);
    expect(Object.keys(all)).to.deep.equal(['hw.health', 'hw.memory', 'hw.errors', 'hw.thermal', 'hw.pcie', 'hw.coverage']);
    expect(all['hw.memory']).to.deep.equal({
      url: URL,
      query: familyQuery(S, 'memory'),
      intervalMs: 30_000,
      timeoutMs: 10_000,
      maxBytes: 16 * 1024 * 1024,
      tls: { insecureSkipVerify: false },
      bearerToken: { source: 'None' },
      keep: [],
      historySize: 1,
      failureGraceMs: all['hw.memory']?.failureGraceMs,
    });
    expect(all['hw.memory']?.failureGraceMs).to.be.a('number').greaterThan(0);
    expect(all['hw.coverage']?.query).to.equal(coverageQuery(S));
    expect(Object.keys(signalScrapes(S, CRITICAL_FAMILIES, false))).to.deep.equal(['hw.health', 'hw.memory', 'hw.errors']);
    const tls = signalScrapes(signals({ tls: { insecureSkipVerify: true, caBundle: 'PEM' }, interval: '1m' }), ['pcie'], false);
    expect(tls['hw.pcie']).to.deep.include({ tls: { insecureSkipVerify: true, caBundle: 'PEM' }, intervalMs: 60_000 });
  });
});

describe('GPU hardware signals: reading the answers', () => {
  it('AMD uncorrectable ECC is Critical, naming the node (hostname), GPU index (gpu_id), UUID, value and metric', () => {
    const r = read({ memory: [sample('amd_ecc_uncorrectable', 2, amd('gpu-0', '3'))] });
    expect(r.signals).to.deep.equal([
      {
        node: 'gpu-0',
        gpu: '3',
        uuid: 'amd-gpu-0-3',
        signal: 'amd_ecc_uncorrectable',
        family: 'memory',
        severity: 'Critical',
        reason: 'GPUUncorrectableECC',
        value: 2,
        message: 'GPU 3 (amd-gpu-0-3) on gpu-0: 2 uncorrectable ECC errors in 10m (gpu_ecc_uncorrect_total)',
      },
    ]);
    expect(r).to.include({ unmatched: 0, applicationXids: 0 });
    // increase() extrapolates: a fraction is shown with one decimal.
    expect(read({ memory: [sample('amd_ecc_uncorrectable', 1.0344, amd('gpu-0', '3'))] }).signals[0]?.message).to.include(
      ': 1.0 uncorrectable ECC errors in 10m',
    );
  });

  it('NVIDIA: a last XID in criticalXIDs (79) is Critical GPUXidError, named by gpu, UUID and Hostname', () => {
    const r = read({ errors: [sample('nvidia_xid_last', 79, nv('dgx-1', '1'))] });
    expect(r.signals).to.have.length(1);
    expect(r.signals[0]).to.deep.include({
      node: 'dgx-1',
      gpu: '1',
      uuid: 'GPU-dgx-1-1',
      severity: 'Critical',
      reason: 'GPUXidError',
      value: 79,
      family: 'errors',
      message: 'GPU 1 (GPU-dgx-1-1) on dgx-1: last XID 79 (DCGM_FI_DEV_XID_ERRORS)',
    });
  });

  it("an application XID (13) is no finding, only counted; an XID in neither list (94) is a Warning; the lists are the spec's", () => {
    const app = read({ errors: [sample('nvidia_xid_last', 13, nv('dgx-1', '0')), sample('nvidia_xid_last', 43, nv('dgx-1', '1'))] });
    expect(app.signals).to.deep.equal([]);
    expect(app.applicationXids).to.equal(2);
    const other = read({ errors: [sample('nvidia_xid_last', 94, nv('dgx-1', '0'))] });
    expect(other.signals.map((x) => [x.severity, x.reason])).to.deep.equal([['Warning', 'GPUXidError']]);
    const custom = signals({ criticalXIDs: [94], ignoredXIDs: [79] });
    const r = read({ errors: [sample('nvidia_xid_last', 94, nv('dgx-1', '0')), sample('nvidia_xid_last', 79, nv('dgx-1', '1'))] }, custom);
    expect(r.signals.map((x) => `${x.gpu}:${x.severity}`)).to.deep.equal(['0:Critical']);
    expect(r.applicationXids).to.equal(1);
  });

  it('xidSeverity: ignored wins over critical; anything else is a Warning', () => {
    expect(xidSeverity(79, S)).to.equal('Critical');
    expect(xidSeverity(13, S)).to.equal(undefined);
    expect(xidSeverity(94, S)).to.equal('Warning');
    expect(xidSeverity(48, { criticalXIDs: [48], ignoredXIDs: [48] })).to.equal(undefined);
  });

  it('DCGM_EXP_XID_ERRORS_COUNT is judged by its xid label, one signal per XID', () => {
    const r = read({
      errors: [
        sample('nvidia_xid_count', 3, nv('dgx-1', '2', { xid: '48' })),
        sample('nvidia_xid_count', 5, nv('dgx-1', '2', { xid: '94' })),
        sample('nvidia_xid_count', 9, nv('dgx-1', '2', { xid: '31' })),
        sample('nvidia_xid_count', 1, nv('dgx-1', '3')),
      ],
    });
    expect(r.signals.map((x) => [x.gpu, x.severity, x.message])).to.deep.equal([
      ['2', 'Critical', 'GPU 2 (GPU-dgx-1-2) on dgx-1: XID 48 counted 3 within the last 10m (DCGM_EXP_XID_ERRORS_COUNT)'],
      ['2', 'Warning', 'GPU 2 (GPU-dgx-1-2) on dgx-1: XID 94 counted 5 within the last 10m (DCGM_EXP_XID_ERRORS_COUNT)'],
      // No xid label: not an XID it can judge, a Warning.
      ['3', 'Warning', 'GPU 3 (GPU-dgx-1-3) on dgx-1: XID ? counted 1 within the last 10m (DCGM_EXP_XID_ERRORS_COUNT)'],
    ]);
    expect(r.applicationXids).to.equal(1);
  });

  it('heat, throttling, PCIe replays, correctable ECC and remapped rows are Warnings; a failed row remap, fatal RAS and unhealthy are Critical', () => {
    const r = read({
      health: [
        sample('amd_gpu_health', 0, amd('gpu-1', '0')),
        sample('nvidia_health_status', 20, nv('dgx-2', '0', { health_watch: 'NVLINK' })),
      ],
      memory: [
        sample('nvidia_row_remap_failure', 1, nv('dgx-1', '4')),
        sample('nvidia_remapped_rows', 2, nv('dgx-1', '5')),
        sample('amd_ecc_correctable', 1200, amd('gpu-0', '1')),
        sample('nvidia_ecc_sbe', 4000, nv('dgx-1', '6')),
      ],
      errors: [sample('amd_ras_fatal', 30, amd('gpu-1', '2', { afid_index: '0' })), sample('amd_ras_uncorrected', 2, amd('gpu-1', '3'))],
      thermal: [
        sample('amd_junction_temperature', 107, amd('gpu-0', '2')),
        sample('amd_edge_temperature', 93.25, amd('gpu-0', '3')),
        sample('nvidia_temperature', 91, nv('dgx-1', '0')),
        sample('nvidia_thermal_violation', 2_500_000, nv('dgx-1', '1')),
      ],
      pcie: [sample('amd_pcie_replays', 150, amd('gpu-0', '4')), sample('nvidia_pcie_replays', 120, nv('dgx-1', '7'))],
    });
    const by = Object.fromEntries(r.signals.map((x) => [x.signal, x]));
    const sev = (sig: string) => [by[sig]?.severity, by[sig]?.reason];
    expect(sev('amd_gpu_health')).to.deep.equal(['Critical', 'GPUReportedUnhealthy']);
    expect(sev('nvidia_health_status')).to.deep.equal(['Critical', 'GPUReportedUnhealthy']);
    expect(sev('nvidia_row_remap_failure')).to.deep.equal(['Critical', 'GPURowRemapFailure']);
    expect(sev('amd_ras_fatal')).to.deep.equal(['Critical', 'GPUFatalError']);
    expect(sev('nvidia_remapped_rows')).to.deep.equal(['Warning', 'GPURowsRemapped']);
    expect(sev('amd_ecc_correctable')).to.deep.equal(['Warning', 'GPUCorrectableECC']);
    expect(sev('nvidia_ecc_sbe')).to.deep.equal(['Warning', 'GPUCorrectableECC']);
    expect(sev('amd_ras_uncorrected')).to.deep.equal(['Warning', 'GPUUncorrectedError']);
    expect(sev('amd_junction_temperature')).to.deep.equal(['Warning', 'GPUOverheating']);
    expect(sev('amd_edge_temperature')).to.deep.equal(['Warning', 'GPUOverheating']);
    expect(sev('nvidia_temperature')).to.deep.equal(['Warning', 'GPUOverheating']);
    expect(sev('nvidia_thermal_violation')).to.deep.equal(['Warning', 'GPUThermalThrottling']);
    expect(sev('amd_pcie_replays')).to.deep.equal(['Warning', 'GPUPCIeReplays']);
    expect(sev('nvidia_pcie_replays')).to.deep.equal(['Warning', 'GPUPCIeReplays']);
    expect(r.signals).to.have.length(14);
    expect(by.nvidia_health_status?.message).to.equal('GPU 0 (GPU-dgx-2-0) on dgx-2: DCGM health check failed (NVLINK)');
    expect(by.amd_ras_fatal?.message).to.include('fatal RAS event, AFID 30 (gpu_afid_errors)');
    expect(by.amd_junction_temperature?.message).to.include('junction at 107 °C or more for 5m').and.include('threshold 105 °C');
    expect(by.amd_edge_temperature?.message).to.include('edge at 93.3 °C or more for 5m').and.include('threshold 90 °C');
    expect(by.nvidia_thermal_violation?.message).to.include(
      'thermally throttled in the last 10m (DCGM_FI_DEV_THERMAL_VIOLATION grew by 2500000)',
    );
    expect(by.amd_pcie_replays?.message).to.include('150 PCIe replays in 10m (pcie_replay_count)');
    expect(by.nvidia_row_remap_failure?.message).to.include('the GPU needs replacement');
  });

  it('prefers the node label over Hostname (nodeLabels order); an empty label falls through to the next', () => {
    const labels = { node: 'dgx-2', Hostname: 'nvidia-dcgm-exporter-x7k2p', gpu: '0' };
    expect(read({ memory: [sample('nvidia_row_remap_failure', 1, labels)] }).signals.map((x) => x.node)).to.deep.equal(['dgx-2']);
    const hostFirst = read({ memory: [sample('nvidia_row_remap_failure', 1, labels)] }, signals({ nodeLabels: ['Hostname', 'node'] }));
    expect(hostFirst).to.deep.include({ signals: [], unmatched: 1 });
    expect(nodeOf({ node: '', Hostname: 'dgx-1' }, S.nodeLabels)).to.equal('dgx-1');
    expect(nodeOf({ kubernetes_node: 'a', hostname: 'b' }, S.nodeLabels)).to.equal('a');
    expect(nodeOf({ instance: '10.0.0.1:9400' }, S.nodeLabels)).to.equal('');
  });

  it('ignores samples that cannot be readings or are not its own: NaN/±Inf, no kmon_signal, an unknown one, another family', () => {
    const r = read({
      memory: [
        sample('amd_ecc_uncorrectable', NaN, amd('gpu-0', '0')),
        sample('amd_ecc_uncorrectable', Infinity, amd('gpu-0', '1')),
        sample('amd_ecc_uncorrectable', -Infinity, amd('gpu-0', '2')),
        sample(undefined, 5, amd('gpu-0', '3')),
        sample('rm_rf', 5, amd('gpu-0', '4')),
        sample('', 5, amd('gpu-0', '5')),
        // A health signal answered in the memory query is not the memory query's.
        sample('amd_gpu_health', 0, amd('gpu-0', '6')),
        sample('__proto__', 5, amd('gpu-0', '7')),
        sample('constructor', 5, amd('gpu-0', '7')),
      ],
      health: [sample('amd_ecc_uncorrectable', 5, amd('gpu-0', '0'))],
    });
    expect(r).to.deep.equal({ signals: [], unmatched: 0, applicationXids: 0, dropped: 0 });
  });

  it('counts series naming no node, or a node that does not exist, in unmatched, with no finding', () => {
    const r = read({
      memory: [
        sample('amd_ecc_uncorrectable', 4, { gpu_id: '0' }),
        sample('amd_ecc_uncorrectable', 4, amd('gpu-99', '0')),
        sample('amd_ecc_uncorrectable', 4, amd('../../etc', '0')),
        sample('amd_ecc_uncorrectable', 4, amd('gpu-0', '0')),
      ],
      errors: [sample('nvidia_xid_last', 79, nv('ghost', '0'))],
    });
    expect(r.signals.map((x) => x.node)).to.deep.equal(['gpu-0']);
    expect(r.unmatched).to.equal(4);
    expect(read({ memory: [sample('amd_ecc_uncorrectable', 4, amd('gpu-0', '0'))] }, S, new Set()).unmatched).to.equal(1);
  });

  it('reads only the latest answer of each family; no view or no answer is nothing', () => {
    const twice: ScrapeView = {
      state: 'ok',
      history: [
        { at: 1, samples: [sample('amd_ecc_uncorrectable', 4, amd('gpu-0', '0'))] },
        { at: 2, samples: [] },
      ],
    };
    expect(readSignals({ 'hw.memory': twice }, NODES, S).signals).to.deep.equal([]);
    expect(readSignals({ 'hw.memory': { state: 'pending', history: [] }, 'hw.errors': undefined }, NODES, S)).to.deep.equal({
      signals: [],
      unmatched: 0,
      applicationXids: 0,
      dropped: 0,
    });
    // A failing query keeps its last answer (the check goes Unknown on the failure, unless that answer is Critical).
    const failing: ScrapeView = {
      state: 'failing',
      error: 'timeout',
      history: [{ at: 1, samples: [sample('amd_gpu_health', 0, amd('gpu-0', '0'))] }],
    };
    expect(readSignals({ 'hw.health': failing }, NODES, S).signals.map((x) => x.severity)).to.deep.equal(['Critical']);
  });

  it('keeps one signal per node, GPU and signal with the worst value, whatever the order', () => {
    const dup = (v: number, instance: string) => sample('amd_ecc_uncorrectable', v, amd('gpu-0', '0', { instance }));
    for (const order of [
      [dup(2, 'a'), dup(5, 'b'), dup(3, 'c')],
      [dup(5, 'b'), dup(3, 'c'), dup(2, 'a')],
    ]) {
      const r = read({ memory: order });
      expect(r.signals).to.have.length(1);
      expect(r.signals[0]?.value).to.equal(5);
      expect(r.signals[0]?.message).to.include(': 5 uncorrectable');
    }
  });

  it('a duplicate last-XID series keeps the worst XID by severity, not the larger number (79 Critical over 94 Warning)', () => {
    const xid = (v: number, instance: string) => sample('nvidia_xid_last', v, nv('dgx-1', '0', { instance }));
    for (const order of [
      [xid(79, 'a'), xid(94, 'b')],
      [xid(94, 'b'), xid(79, 'a')],
    ]) {
      const r = read({ errors: order });
      expect(r.signals.map((x) => `${x.severity}:${x.value}`)).to.deep.equal(['Critical:79']);
    }
  });

  it('sorts Critical first, then by node, GPU (numerically) and signal', () => {
    const r = read({
      thermal: [sample('nvidia_temperature', 95, nv('dgx-1', '0'))],
      memory: [
        sample('amd_ecc_uncorrectable', 1, amd('gpu-1', '10')),
        sample('amd_ecc_uncorrectable', 1, amd('gpu-1', '2')),
        sample('amd_ecc_correctable', 5000, amd('gpu-0', '0')),
      ],
      health: [sample('amd_gpu_health', 0, amd('gpu-0', '7')), sample('amd_gpu_health', 0, amd('gpu-1', '2'))],
    });
    expect(r.signals.map((x) => `${x.severity[0]} ${x.node}/${x.gpu} ${x.signal}`)).to.deep.equal([
      'C gpu-0/7 amd_gpu_health',
      'C gpu-1/2 amd_ecc_uncorrectable',
      'C gpu-1/2 amd_gpu_health',
      'C gpu-1/10 amd_ecc_uncorrectable',
      'W dgx-1/0 nvidia_temperature',
      'W gpu-0/0 amd_ecc_correctable',
    ]);
  });

  it('100k hostile series: completes, output bounded by nodes × GPUs × signals, duplicates folded to their worst', () => {
    const nodes = new Set(Array.from({ length: 50 }, (_, i) => `n${i}`));
    const sigs = ['amd_ecc_uncorrectable', 'amd_ecc_correctable', 'nvidia_ecc_dbe', 'nvidia_remapped_rows'];
    const samples: Sample[] = [];
    const worst = new Map<string, number>();
    let unknown = 0;
    for (let i = 0; i < 100_000; i++) {
      const n = i % 60; // n50..n59 are not nodes of the cluster
      const gpu = String(Math.floor(i / 60) % 8);
      const sig = sigs[Math.floor(i / 480) % sigs.length] ?? '';
      const value = (i * 7919) % 1000;
      samples.push(sample(sig, value, { hostname: `n${n}`, gpu_id: gpu, instance: `10.0.${i % 251}.${i % 13}:9100` }));
      if (n >= 50) unknown++;
      else {
        const k = `n${n}/${gpu}/${sig}`;
        worst.set(k, Math.max(worst.get(k) ?? -1, value));
      }
    }
    const r = readSignals(views({ memory: samples }), nodes, S);
    expect(r.unmatched).to.equal(unknown);
    expect(r.signals.length).to.be.at.most(50 * 8 * sigs.length);
    expect(r.signals.length).to.equal(worst.size);
    for (const x of r.signals) expect(x.value, `${x.node}/${x.gpu}/${x.signal}`).to.equal(worst.get(`${x.node}/${x.gpu}/${x.signal}`));
    const firstWarning = r.signals.findIndex((x) => x.severity === 'Warning');
    expect(r.signals.slice(firstWarning).every((x) => x.severity === 'Warning')).to.equal(true);
  });
});

describe('GPU hardware signals: bounded per node', () => {
  it(`keeps at most ${MAX_GPUS_PER_NODE} distinct GPUs per node (hostile gpu_id labels), counting the rest as dropped`, () => {
    const many = Array.from({ length: 1000 }, (_, i) => sample('amd_ecc_uncorrectable', 3, amd('gpu-0', String(i))));
    const r = read({ memory: [...many, sample('amd_ecc_uncorrectable', 3, amd('gpu-1', '0'))] });
    expect(r.signals.filter((x) => x.node === 'gpu-0')).to.have.length(MAX_GPUS_PER_NODE);
    expect(r.signals.filter((x) => x.node === 'gpu-1')).to.have.length(1);
    expect(r.dropped).to.equal(1000 - MAX_GPUS_PER_NODE);
    // A GPU already kept still gets its other signals.
    const both = read({ memory: [...many], thermal: [sample('amd_junction_temperature', 110, amd('gpu-0', '0'))] });
    expect(both.signals.some((x) => x.signal === 'amd_junction_temperature')).to.equal(true);
  });

  it('a fatal AMD RAS event is read from the AFID gauge while the exporter holds it (its value is the AFID, not a count)', () => {
    const r = read({ errors: [sample('amd_ras_fatal', 55, amd('gpu-1', '2', { afid_index: '0', severity: 'fatal' }))] });
    expect(r.signals.map((x) => [x.severity, x.reason, x.message])).to.deep.equal([
      ['Critical', 'GPUFatalError', 'GPU 2 (amd-gpu-1-2) on gpu-1: fatal RAS event, AFID 55 (gpu_afid_errors)'],
    ]);
    expect(familyQuery(S, 'errors')).to.not.match(/increase\(gpu_afid_errors/);
  });
});

describe('GPU hardware signals: coverage and GPUs per node', () => {
  it('coveredNodes: the nodes the latest coverage answer names, by the node labels', () => {
    const cov = answer([
      sample(undefined, 1, { Hostname: 'dgx-1' }),
      sample(undefined, 1, { hostname: 'gpu-0' }),
      sample(undefined, 1, { node: 'gpu-1', hostname: 'exporter-pod' }),
      sample(undefined, 1, {}),
    ]);
    expect([...coveredNodes(cov, S)].sort()).to.deep.equal(['dgx-1', 'gpu-0', 'gpu-1']);
    expect(coveredNodes(undefined, S).size).to.equal(0);
  });

  it('gpusByNode counts distinct GPUs with a Critical signal per node (not signals, not Warnings)', () => {
    const r = read({
      health: [sample('amd_gpu_health', 0, amd('gpu-0', '0')), sample('amd_gpu_health', 0, amd('gpu-0', '1'))],
      memory: [
        sample('amd_ecc_uncorrectable', 3, amd('gpu-0', '0')),
        sample('amd_ecc_correctable', 5000, amd('gpu-0', '5')),
        sample('amd_ecc_correctable', 5000, amd('gpu-1', '5')),
      ],
      errors: [
        sample('nvidia_xid_last', 79, nv('dgx-1', '3')),
        sample('nvidia_xid_count', 2, nv('dgx-1', '3', { xid: '48' })),
        sample('nvidia_xid_last', 13, nv('dgx-2', '0')),
      ],
    });
    expect(Object.fromEntries(gpusByNode(r.signals))).to.deep.equal({ 'gpu-0': 2, 'dgx-1': 1 });
  });

  it('gpusByNode tells GPUs apart by UUID, else by index', () => {
    const x = (over: Partial<GPUSignal>): GPUSignal => ({
      node: 'a',
      gpu: '0',
      signal: 'amd_gpu_health',
      family: 'health',
      severity: 'Critical',
      reason: 'GPUReportedUnhealthy',
      value: 0,
      message: '',
      ...over,
    });
    const signalsOf = [x({ uuid: 'U1' }), x({ uuid: 'U2' }), x({ gpu: '1' }), x({ gpu: '1', signal: 'amd_ras_fatal' }), x({ node: 'b' })];
    expect(Object.fromEntries(gpusByNode(signalsOf))).to.deep.equal({ a: 3, b: 1 });
    expect(gpusByNode([x({ severity: 'Warning' })]).size).to.equal(0);
  });
});
