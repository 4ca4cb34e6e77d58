/** Go-style flags (`--name=value`, `--name value`, bare `--bool`), with help text and one-line errors. */
import { DURATION } from '../api/duration.js';

export type FlagType = 'string' | 'bool' | 'int' | 'duration' | 'enum';

export interface FlagDef {
  name: string;
  type: FlagType;
  default: string;
  help: string;
  values?: readonly string[];
  short?: string;
}

export class FlagError extends Error {}

function check(def: FlagDef, v: string): string {
  const bad = (want: string) => new FlagError(`invalid value ${JSON.stringify(v)} for --${def.name}: ${want}`);
  switch (def.type) {
    case 'bool':
      if (!['true', 'false'].includes(v)) throw bad('want true or false');
      break;
    case 'int':
      if (!/^[0-9]+$/.test(v) || Number(v) > 1_000_000) throw bad('want a whole number');
      break;
    case 'duration':
      if (!DURATION.test(v)) throw bad('want a duration such as 15s, 5m or 1h30m');
      break;
    case 'enum':
      if (!def.values?.includes(v)) throw bad(`want one of ${def.values?.join(', ') ?? ''}`);
      break;
    case 'string':
      break;
  }
  return v;
}

/** Parses args against defs; returns flag values (all strings, defaults filled) and positionals. */
export function parseFlags(defs: readonly FlagDef[], args: readonly string[]): { values: Record<string, string>; positionals: string[] } {
  const byName = new Map<string, FlagDef>();
  for (const d of defs) {
    byName.set(d.name, d);
    if (d.short) byName.set(d.short, d);
  }
  const values: Record<string, string> = Object.fromEntries(defs.map((d) => [d.name, d.default]));
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    const m = /^--?([A-Za-z][-A-Za-z0-9]*)(?:=(.*))?$/s.exec(arg);
    if (!m?.[1]) {
      positionals.push(arg);
      continue;
    }
    const def = byName.get(m[1]);
    if (!def) throw new FlagError(`unknown flag ${arg.split('=')[0] ?? arg}`);
    let v = m[2];
    if (v === undefined) {
      if (def.type === 'bool') v = 'true';
      else {
        v = args[++i];
        if (v === undefined) throw new FlagError(`flag --${def.name} needs a value`);
      }
    }
    values[def.name] = check(def, v);
  }
  return { values, positionals };
}

/** The default flagHelp shows; like cobra's help, none for an empty string or a false bool. */
export function shownDefault(d: FlagDef): string | undefined {
  return d.default === '' || (d.type === 'bool' && d.default === 'false') ? undefined : d.default;
}

/** One line per flag: its names, value type and help, then its default (shownDefault). */
export function flagHelp(defs: readonly FlagDef[]): string {
  return defs
    .map((d) => {
      const name = `${d.short ? `-${d.short}, ` : '    '}--${d.name}${d.type === 'bool' ? '' : ` <${d.type === 'enum' ? (d.values ?? []).join('|') : d.type}>`}`;
      const shown = shownDefault(d);
      return `  ${name.padEnd(44)} ${d.help}${shown === undefined ? '' : ` (default ${shown})`}`;
    })
    .join('\n');
}
