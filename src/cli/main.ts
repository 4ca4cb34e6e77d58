#!/usr/bin/env node
import { checkFlags, runCheck } from './check.js';
import { FlagError, flagHelp, parseFlags } from './flags.js';
import { commonFlags, runFlags, runOperator } from './run.js';

const usage = `kaiwo-monitor — health of a Kaiwo/Kueue GPU stack as KaiwoMonitor conditions, Events and metrics

Usage:
  kaiwo-monitor run [flags]            run the operator (what the container image runs)
  kaiwo-monitor check [name] [flags]   evaluate a KaiwoMonitor spec once against the cluster and print the result;
                                       exit 0 healthy, 1 unhealthy, 2 could not evaluate

Flags for run:
${flagHelp([...runFlags, ...commonFlags])}

Flags for check (spec from -f, from an existing KaiwoMonitor by name, or the defaults):
${flagHelp([...checkFlags, ...commonFlags])}
`;

const commands = {
  run: { flags: [...runFlags, ...commonFlags], maxArgs: 0, exec: (v: Record<string, string>) => runOperator(v) },
  check: { flags: [...checkFlags, ...commonFlags], maxArgs: 1, exec: (v: Record<string, string>, p: string[]) => runCheck(v, p) },
} as const;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(usage);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'run' && command !== 'check') {
    process.stderr.write(`kaiwo-monitor: unknown command ${JSON.stringify(command)}; see kaiwo-monitor --help\n`);
    return 2;
  }
  const cmd = commands[command];
  let parsed: { values: Record<string, string>; positionals: string[] };
  try {
    parsed = parseFlags(cmd.flags, rest);
    if (parsed.positionals.length > cmd.maxArgs) throw new FlagError(`unexpected argument ${JSON.stringify(parsed.positionals[cmd.maxArgs])}`);
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    process.stderr.write(`kaiwo-monitor ${command}: ${err.message}\n`);
    return 2;
  }
  if (parsed.values.help === 'true') {
    process.stdout.write(usage);
    return 0;
  }
  return cmd.exec(parsed.values, parsed.positionals);
}

process.exitCode = await main(process.argv.slice(2));
// Let pending log writes drain, but do not wait for stray handles.
setTimeout(() => process.exit(), 500).unref();
