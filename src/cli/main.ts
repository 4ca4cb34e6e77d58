#!/usr/bin/env node
/**
 * Entry point of the `kaiwo-monitor` and `kubectl-kaiwo_monitor` commands. Checks the Node version before
 * loading anything else (@kubernetes/client-node dies on an old Node with an undici stack trace), then runs
 * the command from commands.ts.
 */
import { nodeTooOld } from './version.js';

const tooOld = nodeTooOld(process.versions.node, process.execPath, process.argv[1]);
if (tooOld) {
  process.stderr.write(`${tooOld}\n`);
  process.exitCode = 2;
} else {
  const { main } = await import('./commands.js');
  process.exitCode = await main(process.argv.slice(2));
  // Let pending log writes drain, but do not wait for stray handles.
  setTimeout(() => process.exit(), 500).unref();
}
