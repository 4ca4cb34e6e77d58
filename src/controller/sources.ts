import type { KubeConfig } from '../runtime/kubeconfig.js';
import type { SourceSpec, SourceView } from '../checks/types.js';
import { Informer, type InformerOptions } from '../runtime/informer.js';
import type { Logger } from '../runtime/log.js';
import { collectionPath } from '../runtime/objects.js';

const PENDING: SourceView = Object.freeze({ state: 'pending', objects: Object.freeze([]) });

export function sourceId(s: SourceSpec): string {
  return `${s.apiVersion}/${s.plural}|${s.namespace ?? ''}|${s.labelSelector ?? ''}|${s.fieldSelector ?? ''}`;
}

/**
 * Shared informers for the sources of all monitors: one list/watch per distinct source, started when the first
 * monitor needs it and stopped when the last one lets go. Events on a source call `onChange` with the monitors
 * that use it, so only those are re-evaluated.
 */
export class SourceManager {
  private readonly informers = new Map<string, Informer>();
  private readonly users = new Map<string, Set<string>>(); // source id -> monitor names
  private readonly byMonitor = new Map<string, Set<string>>(); // monitor -> source ids
  private readonly views = new Map<string, SourceView>(); // source id -> its last view

  constructor(
    private readonly kc: KubeConfig,
    private readonly log: Logger,
    private readonly onChange: (monitors: ReadonlySet<string>) => void,
    private readonly informerOptions: Partial<InformerOptions> = {},
    private readonly onSynced?: (resource: string, synced: boolean) => void,
  ) {}

  /** Makes `monitor` use exactly `specs`; starts new informers, releases unused ones. */
  use(monitor: string, specs: SourceSpec[]): void {
    const ids = new Set(specs.map(sourceId));
    const before = this.byMonitor.get(monitor) ?? new Set<string>();
    for (const s of specs) {
      const id = sourceId(s);
      let users = this.users.get(id);
      if (!users) {
        users = new Set();
        this.users.set(id, users);
      }
      users.add(monitor);
      if (!this.informers.has(id)) this.startInformer(id, s);
    }
    for (const id of before) if (!ids.has(id)) this.drop(monitor, id);
    this.byMonitor.set(monitor, ids);
  }

  release(monitor: string): void {
    for (const id of this.byMonitor.get(monitor) ?? []) this.drop(monitor, id);
    this.byMonitor.delete(monitor);
  }

  /** The source as a check sees it: the same object (by identity) until the cache or its state changes. */
  view(s: SourceSpec): SourceView {
    const id = sourceId(s);
    const inf = this.informers.get(id);
    if (!inf) return PENDING;
    const objects = inf.list();
    const last = this.views.get(id);
    if (last?.objects === objects && last.state === inf.state && last.error === inf.lastError && last.errorStatus === inf.lastErrorStatus)
      return last;
    const view: SourceView = {
      state: inf.state,
      objects,
      ...(inf.lastError ? { error: inf.lastError } : {}),
      ...(inf.lastError && inf.lastErrorStatus !== undefined ? { errorStatus: inf.lastErrorStatus } : {}),
    };
    this.views.set(id, view);
    return view;
  }

  /** Every informer has listed at least once (or found its resource absent). */
  get allSynced(): boolean {
    return [...this.informers.values()].every((i) => i.synced);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
    this.informers.clear();
    this.views.clear();
  }

  private startInformer(id: string, s: SourceSpec): void {
    const inf = new Informer(this.kc, {
      ...this.informerOptions,
      path: collectionPath(s.apiVersion, s.plural, s.namespace),
      ...(s.labelSelector ? { labelSelector: s.labelSelector } : {}),
      ...(s.fieldSelector ? { fieldSelector: s.fieldSelector } : {}),
      ...(s.transform ? { transform: s.transform } : {}),
      ...(s.quiet ? { quiet: s.quiet } : {}),
      log: this.log.child('informer', { resource: `${s.plural}.${s.apiVersion}` }),
    });
    const notify = () => {
      const users = this.users.get(id);
      if (users?.size) this.onChange(users);
    };
    inf.on(notify);
    inf.onState((state) => {
      this.onSynced?.(id, state === 'synced' || state === 'absent');
      notify();
    });
    this.informers.set(id, inf);
    inf.start();
  }

  private drop(monitor: string, id: string): void {
    const users = this.users.get(id);
    users?.delete(monitor);
    if (users?.size === 0) {
      this.users.delete(id);
      const inf = this.informers.get(id);
      this.informers.delete(id);
      this.views.delete(id);
      void inf?.stop();
    }
  }
}
