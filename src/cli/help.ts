/** Help text, laid out like kubectl's: the command list, and each command's own usage, examples and flags. */
import { type FlagDef, flagHelp } from './flags.js';

export interface CommandHelp {
  name: string;
  /** One line in the command list. */
  summary: string;
  /** What it does, a few lines. */
  description: string;
  /** What follows `<prog> <name>` in the usage line, e.g. `[name] [flags]`. */
  usage: string;
  /** [what it does, the arguments after `<prog> <name>`] */
  examples: readonly (readonly [string, string])[];
  flags: readonly FlagDef[];
}

/** `<prog> --help`: one line per command, and how to get a command's help. */
export function overviewHelp(prog: string, commands: readonly CommandHelp[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 3;
  return `${prog} — health of a Kaiwo/Kueue GPU stack as KaiwoMonitor conditions, Events and metrics

Usage:
  ${prog} <command> [flags]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}

Use "${prog} <command> --help" for a command's flags and examples.
`;
}

/** `<prog> <command> --help`: what it does, its usage line, examples and its own flags with their defaults. */
export function commandHelp(prog: string, c: CommandHelp): string {
  const examples = c.examples.map(([what, args]) => `  # ${what}\n  ${prog} ${c.name}${args ? ` ${args}` : ''}`).join('\n\n');
  return `${c.description}

Usage:
  ${prog} ${c.name} ${c.usage}

Examples:
${examples}

Flags:
${flagHelp(c.flags)}
`;
}
