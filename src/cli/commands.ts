import { basename } from 'node:path';
import { checkFlags, runCheck } from './check.js';
import { type FlagDef, FlagError, flagHelp, parseFlags } from './flags.js';
import { commonFlags, runFlags, runOperator } from './run.js';
import { packageVersion } from './version.js';

const versionFlag: FlagDef = { name: 'version', type: 'bool', default: 'false', help: 'print the version and exit' };
/** check prints its result on stdout and keeps stderr quiet: its logs default to warnings. */
const checkCommonFlags = commonFlags.map((f) => (f.name === 'log-level' ? { ...f, default: 'warn' } : f));

/** `kubectl kaiwo-monitor` when started as the kubectl plugin (kubectl-kaiwo_monitor), else `kaiwo-monitor`. */
export function programName(script: string | undefined = process.argv[1]): string {
  return script && basename(script).startsWith('kubectl-') ? 'kubectl kaiwo-monitor' : 'kaiwo-monitor';
}

const usage = (prog: string) => `${prog} — health of a Kaiwo/Kueue GPU stack as KaiwoMonitor conditions, Events and metrics

Usage:
  ${prog} run [flags]            run the operator (what the container image runs)
  ${prog} check [name] [flags]   evaluate a KaiwoMonitor spec once against the cluster and print the result;
  ${' '.repeat(prog.length)}                       exit 0 healthy, 1 unhealthy, 2 could not evaluate
  ${prog} version                print the version (also: --version on every command)

Flags for run:
${flagHelp([...runFlags, ...commonFlags, versionFlag])}

Flags for check (spec from -f, from an existing KaiwoMonitor by name, or the defaults):
${flagHelp([...checkFlags, ...checkCommonFlags, versionFlag])}
`;

const commands = {
  run: { flags: [...runFlags, ...commonFlags, versionFlag], maxArgs: 0, exec: (v: Record<string, string>) => runOperator(v) },
  check: { flags: [...checkFlags, ...checkCommonFlags, versionFlag], maxArgs: 1, exec: (v: Record<string, string>, p: string[]) => runCheck(v, p) },
} as const;

export async function main(argv: string[]): Promise<number> {
  const prog = programName();
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(usage(prog));
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === 'version') {
    process.stdout.write(`${prog} ${packageVersion()}\n`);
    return 0;
  }
  if (command !== 'run' && command !== 'check') {
    process.stderr.write(`${prog}: unknown command ${JSON.stringify(command)}; see ${prog} --help\n`);
    return 2;
  }
  const cmd = commands[command];
  let parsed: { values: Record<string, string>; positionals: string[] };
  try {
    parsed = parseFlags(cmd.flags, rest);
    if (parsed.positionals.length > cmd.maxArgs) throw new FlagError(`unexpected argument ${JSON.stringify(parsed.positionals[cmd.maxArgs])}`);
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    process.stderr.write(`${prog} ${command}: ${err.message}\n`);
    return 2;
  }
  if (parsed.values.help === 'true') {
    process.stdout.write(usage(prog));
    return 0;
  }
  if (parsed.values.version === 'true') {
    process.stdout.write(`${prog} ${packageVersion()}\n`);
    return 0;
  }
  return cmd.exec(parsed.values, parsed.positionals);
}
