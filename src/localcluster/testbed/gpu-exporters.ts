import { createServer, type Server } from 'node:http';
import type { FakeNode } from './nodes.js';

/**
 * The test bed's stand-ins for the GPU vendors' metrics exporters: one HTTP server per kwok GPU node on 127.0.0.1
 * (a random port), serving what the real exporter on such a node serves, with the real metric names, types and
 * labels (../shared/reference/gpu-signals.md §2.1-2.2 and §3.1-3.2):
 *
 * - AMD device-metrics-exporter (MI300X nodes): every metric a gauge, cumulative counts included
 *   (`gpuagent_gpu_metrics.go`); labels `gpu_id`, `gpu_uuid`, `serial_number`, `card_model`, `hostname` (the node
 *   name, from DS_NODE_NAME as the AMD GPU operator sets it) and `pod`/`namespace`/`container` empty (no workload).
 *   Served: gpu_health, gpu_gfx_activity, gpu_ecc_uncorrect_total, gpu_ecc_correct_total, gpu_junction_temperature,
 *   gpu_edge_temperature, pcie_replay_count, and gpu_afid_errors{afid_index,severity} only while a RAS event is set
 *   (its value is the AMD Field ID, as DME's mock CPER list shows). Real DME on MI3xx omits edge temperature
 *   (metricslist.md: MI2xx only); `edgeTemperature: false` serves it that way.
 * - NVIDIA dcgm-exporter (H100 nodes): labels `gpu`, `UUID`, `pci_bus_id`, `device` (`nvidia<i>`), `modelName`,
 *   `Hostname` (the node name; older and operator-deployed versions spell it so, current templates `hostname`) and
 *   `DCGM_FI_DRIVER_VERSION`; DCGM_FI_DEV_GPU_UTIL, DCGM_FI_DEV_GPU_TEMP, DCGM_FI_DEV_XID_ERRORS (the last XID, a
 *   gauge), DCGM_FI_DEV_ROW_REMAP_FAILURE (gauge), DCGM_FI_DEV_PCIE_REPLAY_COUNTER and DCGM_FI_DEV_ECC_DBE_VOL_TOTAL
 *   (counters), with the HELP/TYPE lines of its default-counters.csv.
 *
 * Every answer carries `Content-Type: text/plain; version=0.0.4` (Prometheus 3 refuses a scrape without a content
 * type it knows). What stays simulated: the values. A test writes faults (add to a counter, set a gauge, reset the
 * counters as a driver reload or node reboot does — the counts are the driver's, so an exporter restart alone keeps
 * them —, stop and start the server: the exporter gone); nothing derives one signal from another (real DME turns an
 * uncorrectable ECC count past its threshold into gpu_health 0 within its 30 s health poll; here gpu_health changes
 * only when set).
 */

export type ExporterVendor = 'AMD' | 'NVIDIA';

/** The metrics each exporter serves for each GPU, with their type and help. */
const METRICS: Record<ExporterVendor, Record<string, { type: 'gauge' | 'counter'; help: string; initial: number; counter: boolean }>> = {
  AMD: {
    gpu_health: { type: 'gauge', help: 'Health of the GPU (0 = Unhealthy | 1 = Healthy)', initial: 1, counter: false },
    gpu_gfx_activity: { type: 'gauge', help: 'Graphics engine usage percentage (0 - 100)', initial: 0, counter: false },
    gpu_ecc_uncorrect_total: { type: 'gauge', help: 'Total Uncorrectable error count', initial: 0, counter: true },
    gpu_ecc_correct_total: { type: 'gauge', help: 'Total Correctable error count', initial: 0, counter: true },
    gpu_edge_temperature: { type: 'gauge', help: 'Current edge temperature in celsius', initial: 38, counter: false },
    gpu_junction_temperature: { type: 'gauge', help: 'Current junction/hotspot temperature in celsius', initial: 45, counter: false },
    pcie_replay_count: { type: 'gauge', help: 'Total number of PCIe replays', initial: 0, counter: true },
  },
  NVIDIA: {
    DCGM_FI_DEV_GPU_UTIL: { type: 'gauge', help: 'GPU utilization (in %).', initial: 0, counter: false },
    DCGM_FI_DEV_GPU_TEMP: { type: 'gauge', help: 'GPU temperature (in C).', initial: 35, counter: false },
    DCGM_FI_DEV_XID_ERRORS: { type: 'gauge', help: 'Value of the last XID error encountered.', initial: 0, counter: false },
    DCGM_FI_DEV_PCIE_REPLAY_COUNTER: { type: 'counter', help: 'Total number of PCIe retries.', initial: 0, counter: true },
    DCGM_FI_DEV_ECC_DBE_VOL_TOTAL: {
      type: 'counter',
      help: 'Total number of double-bit volatile ECC errors.',
      initial: 0,
      counter: true,
    },
    DCGM_FI_DEV_ROW_REMAP_FAILURE: { type: 'gauge', help: 'Whether remapping of rows has failed', initial: 0, counter: false },
  },
};

interface RasEvent {
  afidIndex: number;
  severity: 'fatal' | 'non_fatal_uncorrected' | 'non_fatal_corrected';
  afid: number;
}

interface Gpu {
  index: number;
  uuid: string;
  /** AMD serial number or NVIDIA PCI bus id. */
  hw: string;
  values: Map<string, number>;
  ras: RasEvent[];
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelText = (l: Record<string, string>) =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${esc(v)}"`)
    .join(',')}}`;
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/** A fake exporter for one node. `start()` listens (a random port first, the same port after a `stop()`). */
export class FakeGpuExporter {
  readonly vendor: ExporterVendor;
  readonly gpus: Gpu[];
  private server: Server | undefined;
  private portNo = 0;

  constructor(
    readonly node: string,
    vendor: ExporterVendor,
    gpus: number,
    private readonly opts: { edgeTemperature?: boolean } = {},
  ) {
    this.vendor = vendor;
    // Stable per node and GPU, shaped like the real identifiers.
    let seed = 7;
    for (let i = 0; i < node.length; i++) seed = (seed * 31 + node.charCodeAt(i)) >>> 0;
    this.gpus = Array.from({ length: gpus }, (_, index) => ({
      index,
      uuid:
        vendor === 'AMD'
          ? `${hex(seed, 8)}-0000-1000-80${hex(index, 2)}-${hex(seed ^ 0x2769a3f6, 8)}a69e`
          : `GPU-${hex(seed, 8)}-${hex(index, 4)}-4b7e-9c1d-${hex(seed ^ 0x5f3a, 8)}${hex(index, 4)}`,
      hw:
        vendor === 'AMD'
          ? `PCB0${hex(seed, 6).toUpperCase()}${String(index).padStart(2, '0')}`
          : `00000000:${hex(0x18 + index * 0x10, 2)}:00.0`,
      values: new Map(Object.entries(METRICS[vendor]).map(([k, m]) => [k, m.initial])),
      ras: [],
    }));
  }

  /** host:port for a Prometheus static target. */
  get target(): string {
    if (!this.portNo) throw new Error(`exporter for ${this.node} never started`);
    return `127.0.0.1:${this.portNo}`;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  private gpu(i: number): Gpu {
    const g = this.gpus[i];
    if (!g) throw new Error(`${this.node} has no GPU ${i}`);
    return g;
  }

  private known(metric: string): void {
    if (!(metric in METRICS[this.vendor])) throw new Error(`the ${this.vendor} exporter serves no ${metric}`);
  }

  uuid(i: number): string {
    return this.gpu(i).uuid;
  }

  value(i: number, metric: string): number {
    this.known(metric);
    return this.gpu(i).values.get(metric) ?? 0;
  }

  /** Sets a gauge (temperature, last XID, health, …) of GPU `i`. */
  set(i: number, metric: string, value: number): void {
    this.known(metric);
    this.gpu(i).values.set(metric, value);
  }

  /** Adds to a cumulative count of GPU `i` (errors the hardware reported). */
  add(i: number, metric: string, delta: number): void {
    this.known(metric);
    const m = METRICS[this.vendor][metric];
    if (!m?.counter) throw new Error(`${metric} is not a count`);
    this.set(i, metric, this.value(i, metric) + delta);
  }

  /** Lists a RAS event (CPER record) for GPU `i` in gpu_afid_errors (AMD); `undefined` clears the list. */
  setRasEvents(i: number, events: RasEvent[] | undefined): void {
    if (this.vendor !== 'AMD') throw new Error('gpu_afid_errors is an AMD device-metrics-exporter metric');
    this.gpu(i).ras = events ?? [];
  }

  /** Every cumulative count back to 0, as after a driver reload or a reboot. */
  resetCounters(): void {
    for (const g of this.gpus) for (const [k, m] of Object.entries(METRICS[this.vendor])) if (m.counter) g.values.set(k, 0);
  }

  private labels(g: Gpu): Record<string, string> {
    if (this.vendor === 'AMD') {
      return {
        gpu_id: String(g.index),
        gpu_uuid: g.uuid,
        serial_number: g.hw,
        card_model: 'AMD Instinct MI300X OAM',
        hostname: this.node,
        pod: '',
        namespace: '',
        container: '',
      };
    }
    return {
      gpu: String(g.index),
      UUID: g.uuid,
      pci_bus_id: g.hw,
      device: `nvidia${g.index}`,
      modelName: 'NVIDIA H100 80GB HBM3',
      Hostname: this.node,
      DCGM_FI_DRIVER_VERSION: '550.127.08',
    };
  }

  /** The exposition text of one scrape. */
  render(): string {
    const out: string[] = [];
    for (const [name, m] of Object.entries(METRICS[this.vendor])) {
      if (name === 'gpu_edge_temperature' && this.opts.edgeTemperature === false) continue;
      out.push(`# HELP ${name} ${m.help}`, `# TYPE ${name} ${m.type}`);
      for (const g of this.gpus) out.push(`${name}${labelText(this.labels(g))} ${g.values.get(name) ?? 0}`);
    }
    if (this.vendor === 'AMD' && this.gpus.some((g) => g.ras.length)) {
      out.push('# HELP gpu_afid_errors Last Occurred RAS Event associated AMD Field Identifier list', '# TYPE gpu_afid_errors gauge');
      for (const g of this.gpus) {
        for (const e of g.ras) {
          out.push(`gpu_afid_errors${labelText({ ...this.labels(g), afid_index: String(e.afidIndex), severity: e.severity })} ${e.afid}`);
        }
      }
    }
    return `${out.join('\n')}\n`;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }).end(this.render());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.portNo, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address();
    this.portNo = typeof a === 'object' && a ? a.port : 0;
    this.server = server;
  }

  /** The exporter gone: the port refuses connections (kept connections are cut) until `start()`. */
  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((r) => {
      s.close(() => {
        r();
      });
    });
  }

  /** An exporter restart on a node whose driver was reloaded: down, counts reset, up again on the same port. */
  async restart(opts: { resetCounters: boolean }): Promise<void> {
    await this.stop();
    if (opts.resetCounters) this.resetCounters();
    await this.start();
  }
}

/** One fake exporter per GPU node of the test bed, by node name. */
export class FakeGpuExporters {
  private constructor(readonly byNode: ReadonlyMap<string, FakeGpuExporter>) {}

  static async start(nodes: readonly FakeNode[]): Promise<FakeGpuExporters> {
    const byNode = new Map<string, FakeGpuExporter>();
    for (const n of nodes) {
      if (!n.gpuResource) continue;
      const e = new FakeGpuExporter(n.name, n.gpuResource === 'amd.com/gpu' ? 'AMD' : 'NVIDIA', n.gpus, { edgeTemperature: false });
      await e.start();
      byNode.set(n.name, e);
    }
    return new FakeGpuExporters(byNode);
  }

  get(node: string): FakeGpuExporter {
    const e = this.byNode.get(node);
    if (!e) throw new Error(`no fake GPU exporter for ${node}`);
    return e;
  }

  /** Every exporter's host:port, for Prometheus' static targets. */
  get targets(): string[] {
    return [...this.byNode.values()].map((e) => e.target);
  }

  async stop(): Promise<void> {
    for (const e of this.byNode.values()) await e.stop();
  }
}
