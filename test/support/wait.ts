/**
 * Polls `fn` until it returns a value other than undefined/false and resolves with that value, or fails after
 * `timeoutMs` naming `what`. A throw from `fn` counts as "not yet" (the last one is named in the failure). `what`
 * may be a function: it is called only on timeout, so the failure can describe the last state `fn` saw.
 */
export async function waitFor<T>(
  what: string | (() => string),
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const described = typeof what === 'function' ? what() : what;
      throw new Error(
        `timed out after ${timeoutMs}ms waiting for ${described}${last ? ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
