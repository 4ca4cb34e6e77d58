import type { LogSpec, LogView } from '../checks/types.js';
import type { KubeConfig } from '../runtime/kubeconfig.js';
import type { Logger } from '../runtime/log.js';
import { LogStream } from './logs-stream.js';
import { logSpecId, type LogTarget } from './logs-targets.js';

export { OPEN_AFTER_MS, ROTATE_MS } from './logs-stream.js';
export { logSpecId, type LogTarget, logTargets, wantedLogs } from './logs-targets.js';

/**
 * Container log streams for the checks that declare logs() (the logs check): like ScrapeManager for /metrics, a
 * small source kind of its own, shared between monitors naming the same stream. Each stream is one
 * `GET /api/v1/namespaces/NS/pods/POD/log?container=C&follow=true&timestamps=true` over the one HTTP transport: it
 * reads back `windowMs` on start (sinceSeconds), reconnects after a drop from its last line (sinceTime; lines
 * already counted are skipped by their timestamp), rotates every ROTATE_MS (so a silently dead connection is
 * noticed) and reads at most maxBytesPerSecond. It keeps per-second counters of error lines and "Reconciler
 * error" lines by controller within the window and the last few error lines (redacted, truncated): no log text
 * beyond that. Only the leader follows logs (reconcile calls use()); the one-shot `check` reads each log once.
 */

/**
 * Follows the container logs monitors ask for; a stream is shared by the monitors naming the same spec and
 * container, and stopped when the last one lets go. After an error line or a state change the monitors using the
 * stream are re-evaluated (at most once a second per stream). Never throws.
 */
export class LogManager {
  private readonly streams = new Map<string, LogStream>();
  /** spec id → stream ids currently wanted (union over monitors). */
  private readonly bySpec = new Map<string, Map<string, Set<string>>>();
  private readonly byMonitor = new Map<string, Map<string, Set<string>>>();

  constructor(
    private readonly kc: KubeConfig,
    private readonly log: Logger,
    private readonly onChange: (monitors: ReadonlySet<string>) => void,
    private readonly opts: { follow: boolean } = { follow: true },
  ) {}

  /** Makes `monitor` follow exactly these streams. */
  use(monitor: string, wanted: { spec: LogSpec; targets: LogTarget[] }[]): void {
    const mine = new Map<string, Set<string>>();
    for (const { spec, targets } of wanted) {
      const sid = logSpecId(spec);
      const ids = mine.get(sid) ?? new Set<string>();
      mine.set(sid, ids);
      for (const t of targets) {
        const id = `${sid}|${t.namespace}/${t.pod}/${t.uid}/${t.container}`;
        ids.add(id);
        let s = this.streams.get(id);
        if (!s) {
          s = new LogStream(t, spec, this.kc, this.log, this.opts.follow, (users) => {
            if (users.size) this.onChange(users);
          });
          this.streams.set(id, s);
          s.start();
        }
        s.users.add(monitor);
      }
    }
    this.byMonitor.set(monitor, mine);
    this.reindex();
  }

  release(monitor: string): void {
    this.byMonitor.delete(monitor);
    this.reindex();
  }

  /** The streams of a spec; pending while the spec has not been used yet. */
  view(spec: LogSpec, now = Date.now()): LogView {
    const ids = this.bySpec.get(logSpecId(spec));
    if (!ids) return { state: 'pending', streams: [] };
    const streams = [...ids.keys()]
      .map((id) => this.streams.get(id))
      .filter((s): s is LogStream => !!s)
      .map((s) => s.view(now));
    const state = streams.some((s) => s.state === 'pending')
      ? 'pending'
      : streams.length && streams.every((s) => s.state === 'failing')
        ? 'failing'
        : 'ok';
    return { state, streams };
  }

  /** One-shot reads: every stream has been read (or failed). */
  get allDone(): boolean {
    return [...this.streams.values()].every((s) => s.done || s.state === 'failing');
  }

  stop(): void {
    for (const s of this.streams.values()) s.stop();
    this.streams.clear();
    this.bySpec.clear();
    this.byMonitor.clear();
  }

  /** Recomputes who uses what; stops streams nobody wants. */
  private reindex(): void {
    this.bySpec.clear();
    const used = new Map<string, Set<string>>();
    for (const [monitor, specs] of this.byMonitor) {
      for (const [sid, ids] of specs) {
        const m = this.bySpec.get(sid) ?? new Map<string, Set<string>>();
        this.bySpec.set(sid, m);
        for (const id of ids) {
          m.set(id, new Set([...(m.get(id) ?? []), monitor]));
          used.set(id, new Set([...(used.get(id) ?? []), monitor]));
        }
      }
    }
    for (const [id, s] of this.streams) {
      const users = used.get(id);
      if (!users) {
        s.stop();
        this.streams.delete(id);
        continue;
      }
      for (const u of [...s.users]) if (!users.has(u)) s.users.delete(u);
    }
  }
}
