import { basename } from 'node:path';
import { checkFlags, runCheck } from './check.js';
import { type FlagDef, FlagError, parseFlags } from './flags.js';
import { type CommandHelp, commandHelp, overviewHelp } from './help.js';
import { commonFlags, runFlags, runOperator } from './run.js';
import { packageVersion } from './version.js';
import { runWhy, whyFlags } from './why.js';

const helpFlag: FlagDef = { name: 'help', short: 'h', type: 'bool', default: 'false', help: 'show this help' };
const versionFlag: FlagDef = { name: 'version', type: 'bool', default: 'false', help: 'print the version and exit' };
/** check prints its result on stdout and keeps stderr quiet: its logs default to warnings. */
const checkCommonFlags = commonFlags.map((f) => (f.name === 'log-level' ? { ...f, default: 'warn' } : f));

/** `kubectl kaiwo-monitor` when started as the kubectl plugin (kubectl-kaiwo_monitor), else `kaiwo-monitor`. */
export function programName(script: string | undefined = process.argv[1]): string {
  return script && basename(script).startsWith('kubectl-') ? 'kubectl kaiwo-monitor' : 'kaiwo-monitor';
}

interface Command extends CommandHelp {
  maxArgs: number;
  exec: (values: Record<string, string>, positionals: string[], prog: string) => Promise<number> | number;
}

/** `version`: the package version, or as JSON with the Node version and the flags node runs with (process.execArgv). */
function printVersion(values: Record<string, string>, prog: string): number {
  const out =
    values.output === 'json'
      ? `${JSON.stringify({ version: packageVersion(), node: process.version, nodeFlags: process.execArgv }, null, 2)}\n`
      : `${prog} ${packageVersion()}\n`;
  process.stdout.write(out);
  return 0;
}

/** Prints the help of the command named in `positionals` (or the command list); 2 for an unknown command. */
function printHelp(positionals: string[], prog: string): number {
  const name = positionals[0];
  if (name === undefined) {
    process.stdout.write(overviewHelp(prog, COMMANDS));
    return 0;
  }
  const c = COMMANDS.find((x) => x.name === name);
  if (!c) {
    process.stderr.write(`${prog} help: unknown command ${JSON.stringify(name)}; see ${prog} --help\n`);
    return 2;
  }
  process.stdout.write(commandHelp(prog, c));
  return 0;
}

export const COMMANDS: readonly Command[] = [
  {
    name: 'run',
    summary: 'Run the operator (what the container image runs)',
    usage: '[flags]',
    maxArgs: 0,
    description:
      'Run the operator: watch KaiwoMonitors and the stack they name, and report its health as their status conditions,\n' +
      'as Events and as Prometheus metrics. Runs until SIGTERM or SIGINT.',
    examples: [
      ['Against the current kubeconfig context, human-readable logs', '--log-format=console'],
      [
        'As the Deployment runs it: leader election, metrics over HTTPS on :8443',
        '--leader-elect --metrics-bind-address=:8443 --health-probe-bind-address=:8081',
      ],
    ],
    flags: [...runFlags, ...commonFlags, versionFlag, helpFlag],
    exec: (v) => runOperator(v),
  },
  {
    name: 'check',
    summary: 'Evaluate a KaiwoMonitor spec once against the cluster and print the result',
    usage: '[name] [flags]',
    maxArgs: 1,
    description:
      'Evaluate a KaiwoMonitor spec once against the cluster and print its conditions and findings; nothing is written.\n' +
      'The spec is read from -f (validated like the API server admits it), from an existing KaiwoMonitor by name, or is\n' +
      'the defaults. Exit code: 0 healthy, 1 unhealthy, 2 could not evaluate.',
    examples: [
      ['Evaluate the defaults against the current kubeconfig context', ''],
      ['Validate a file, evaluate it and print the whole KaiwoMonitor as YAML', '-f monitor.yaml -o yaml'],
      ['Evaluate the spec of an existing KaiwoMonitor, with per-component summary tables', 'production -o wide'],
    ],
    flags: [...checkFlags, ...checkCommonFlags, versionFlag, helpFlag],
    exec: (v, p) => runCheck(v, p),
  },
  {
    name: 'why',
    summary: 'Say why one job waits: each link from Kaiwo through Kueue to the nodes, the one that holds it back marked',
    usage: '<kind>/<name> [flags]',
    maxArgs: 1,
    description:
      "Follow one job (kaiwojob, kaiwoservice, workload, job, rayjob or deployment) from Kaiwo's status through its Kueue Workload,\n" +
      'LocalQueue and ClusterQueue, its position in the queue and the quota against the healthy GPUs of its flavors, to its pods,\n' +
      'and print each link, the first one that holds it back marked, then the cause and the fix. Reads with targeted GETs and\n' +
      'selected lists; writes nothing. Exit code: 0 nothing holds it back, 1 something does, 2 cannot tell.',
    examples: [
      ['Why is my KaiwoJob still pending?', 'kaiwojob/train-7 -n ml'],
      ['The same answer as data for a script', 'kaiwojob/train-7 -n ml -o json'],
      ['A batch Job queued in Kueue directly', 'job/eval-3 -n research'],
    ],
    flags: [...whyFlags, ...commonFlags.filter((f) => f.name === 'kubeconfig'), versionFlag, helpFlag],
    exec: (v, p, prog) => runWhy(v, p, prog),
  },
  {
    name: 'version',
    summary: 'Print the version',
    usage: '[flags]',
    maxArgs: 0,
    description: 'Print the version. -o json also prints the Node version and the flags node runs with.',
    examples: [['Version, Node version and Node flags as JSON', '-o json']],
    flags: [{ name: 'output', short: 'o', type: 'enum', values: ['text', 'json'], default: 'text', help: 'text, or JSON' }, helpFlag],
    exec: (v, _p, prog) => printVersion(v, prog),
  },
  {
    name: 'help',
    summary: "Print the command list, or a command's help: help <command>",
    usage: '[command]',
    maxArgs: 1,
    description: 'Print the command list, or the help of one command (the same as <command> --help).',
    examples: [['Flags and examples of check', 'check']],
    flags: [helpFlag],
    exec: (_v, p, prog) => printHelp(p, prog),
  },
];

/** Runs the command in `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const prog = programName();
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stdout.write(overviewHelp(prog, COMMANDS));
    return 2;
  }
  if (name === '-h' || name === '--help') return printHelp([], prog);
  if (name === '--version') return printVersion({}, prog);
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`${prog}: unknown command ${JSON.stringify(name)}; see ${prog} --help\n`);
    return 2;
  }
  let parsed: { values: Record<string, string>; positionals: string[] };
  try {
    parsed = parseFlags(cmd.flags, rest);
    if (parsed.positionals.length > cmd.maxArgs)
      throw new FlagError(`unexpected argument ${JSON.stringify(parsed.positionals[cmd.maxArgs])}`);
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    process.stderr.write(`${prog} ${name}: ${err.message}; see ${prog} ${name} --help\n`);
    return 2;
  }
  if (parsed.values.help === 'true') {
    process.stdout.write(commandHelp(prog, cmd));
    return 0;
  }
  if (parsed.values.version === 'true') return printVersion({}, prog);
  return cmd.exec(parsed.values, parsed.positionals, prog);
}
