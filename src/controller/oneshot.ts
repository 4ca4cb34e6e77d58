import type { KubeConfig } from '../runtime/kubeconfig.js';
import type { KaiwoMonitorStatus } from '../api/types.js';
import type { KaiwoMonitorSpec } from '../checks/registry.js';
import { listFailed, refused, type ScrapeSpec, type ScrapeView } from '../checks/types.js';
import { VersionDiscovery } from '../runtime/discovery.js';
import type { Logger } from '../runtime/log.js';
import { LogManager, wantedLogs } from './logs.js';
import { ScrapeManager } from './scrapes.js';
import { SourceManager } from './sources.js';
import { checksForCluster, runChecks } from './evaluate.js';
import { buildStatus } from './status.js';

/**
 * Evaluates a spec once, without a KaiwoMonitor object or writes: lists what the enabled checks read, waits for
 * every source and metrics endpoint to answer (or `timeoutMs`), runs the checks and builds the status.
 */
export async function evaluateOnce(
  kc: KubeConfig,
  spec: KaiwoMonitorSpec,
  opts: { log: Logger; timeoutMs: number; progress?: (msg: string) => void },
): Promise<KaiwoMonitorStatus> {
  const name = 'kaiwo-monitor-check';
  const sources = new SourceManager(kc, opts.log, () => undefined, { absentRetryMs: 3_600_000 });
  const scrapes = new ScrapeManager(kc, opts.log, () => undefined);
  // Each followed log is read once (follow=false): the last window of lines.
  const logs = new LogManager(kc, opts.log, () => undefined, { follow: false });
  try {
    const checks = await checksForCluster(spec, new VersionDiscovery(kc));
    const all = checks.flatMap((c) => Object.entries(c.sources));
    const allScrapes = checks.flatMap((c) => Object.values(c.scrapes));
    sources.use(
      name,
      all.map(([, s]) => s),
    );
    scrapes.use(name, allScrapes);
    const reported = new Set<string>();
    let logsStarted = false;
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      let waiting = 0;
      const late = Date.now() > deadline;
      for (const [k, s] of all) {
        const v = sources.view(s);
        // An optional source whose list failed is done without, as the controller does — but only once the API
        // server refused it (403) or time ran out: a one-shot gets no later evaluation, and a 429 or 5xx (a CRD's
        // storage re-initializing, a busy server) passes within seconds.
        const given = s.optional === true && listFailed(v) && (late || refused(v));
        if (v.state === 'pending' && !given) waiting++;
        else if (!reported.has(k)) {
          reported.add(k);
          opts.progress?.(
            `${k}: ${v.state === 'absent' ? 'not served (not installed)' : v.state === 'pending' ? `cannot be listed (${v.error ?? ''}), done without` : `${v.objects.length} listed`}`,
          );
        }
      }
      waiting += allScrapes.filter((s) => scrapes.view(s).state === 'pending').length;
      if (waiting === 0 && !logsStarted) {
        logs.use(
          name,
          wantedLogs(checks, (s) => sources.view(s)),
        );
        logsStarted = true;
      }
      if (logsStarted && !logs.allDone) waiting++;
      if (waiting === 0 || late) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const now = new Date();
    // One evaluation, no later attempt to wait for: a failed scrape is reported as it is (a view without failure
    // counts is not given a grace, src/checks/scrape-grace.ts).
    const asIs = {
      view: (s: ScrapeSpec): ScrapeView => {
        const { failures: _f, failingSince: _s, ...v } = scrapes.view(s);
        return v;
      },
    };
    const outcomes = runChecks(checks, sources, asIs, now, undefined, logs);
    return buildStatus({ generation: 1, previous: undefined, outcomes, now, heartbeatMs: 0 });
  } finally {
    logs.stop();
    scrapes.stop();
    await sources.stop();
  }
}
