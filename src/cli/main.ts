#!/usr/bin/env node
/**
 * Entry point of the `kaiwo-monitor` and `kubectl-kaiwo_monitor` commands. Checks the Node version before
 * loading anything else (@kubernetes/client-node dies on an old Node with an undici stack trace), runs itself
 * again with the Node flags of nodeflags.ts when started without them, then runs the command from commands.ts.
 */
import { missingNodeFlags, relaunch, RELAUNCHED_ENV } from './nodeflags.js';
import { nodeTooOld } from './version.js';

const tooOld = nodeTooOld(process.versions.node, process.execPath, process.argv[1]);
const missing = tooOld ? [] : missingNodeFlags(process.execArgv, process.env);
if (tooOld) {
  process.stderr.write(`${tooOld}\n`);
  process.exitCode = 2;
} else if (missing.length) {
  relaunch(missing);
} else {
  Reflect.deleteProperty(process.env, RELAUNCHED_ENV); // not inherited by anything this process starts
  const { main } = await import('./commands.js');
  process.exitCode = await main(process.argv.slice(2));
  // Let pending log writes drain, but do not wait for stray handles.
  setTimeout(() => process.exit(), 500).unref();
}
