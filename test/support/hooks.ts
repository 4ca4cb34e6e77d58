import { stopSharedCluster } from './cluster.js';

/** Handles every run has at its end: stdio, and the timer of this hook's own timeout. */
const EXPECTED = new Set(['TTYWrap', 'PipeWrap', 'Timeout']);

/**
 * Mocha root hooks (loaded with --require): stop the shared cluster once every suite has run, then name what is
 * still open — a socket, server or child process left behind keeps mocha from exiting, and CI would hang on it.
 */
export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(30_000);
    await stopSharedCluster();
    await new Promise((r) => setImmediate(r));
    const open = process.getActiveResourcesInfo().filter((r) => !EXPECTED.has(r));
    if (open.length) {
      const counts = new Map<string, number>();
      for (const r of open) counts.set(r, (counts.get(r) ?? 0) + 1);
      process.stderr.write(
        `\n  still open after the last test (mocha waits for these): ${[...counts].map(([r, n]) => `${n} ${r}`).join(', ')}\n`,
      );
    }
  },
};
