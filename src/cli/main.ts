#!/usr/bin/env node
import { commonFlags, runFlags, runOperator } from './run.js';
import { FlagError, flagHelp, parseFlags } from './flags.js';

const usage = `kaiwo-monitor — health of a Kaiwo/Kueue GPU stack as KaiwoMonitor conditions, Events and metrics

Usage:
  kaiwo-monitor run [flags]     run the operator (what the container image runs)

Flags for run:
${flagHelp([...runFlags, ...commonFlags])}
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(usage);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'run') {
    process.stderr.write(`kaiwo-monitor: unknown command ${JSON.stringify(command)}; see kaiwo-monitor --help\n`);
    return 2;
  }
  let values: Record<string, string>;
  try {
    const parsed = parseFlags([...runFlags, ...commonFlags], rest);
    if (parsed.positionals.length) throw new FlagError(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`);
    values = parsed.values;
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    process.stderr.write(`kaiwo-monitor run: ${err.message}\n`);
    return 2;
  }
  if (values.help === 'true') {
    process.stdout.write(usage);
    return 0;
  }
  return runOperator(values);
}

process.exitCode = await main(process.argv.slice(2));
// Let pending log writes drain, but do not wait for stray handles.
setTimeout(() => process.exit(), 500).unref();
