import type { Logger } from '../../src/runtime/log.js';

export interface LogEntry {
  level: 'error' | 'warn' | 'info' | 'debug';
  logger: string;
  msg: string;
  fields: Record<string, unknown>;
}

/** A Logger that keeps every entry in memory, for tests that assert what was logged. */
export function memoryLogger(
  entries: LogEntry[] = [],
  name = 'test',
  base: Record<string, unknown> = {},
): Logger & { entries: LogEntry[] } {
  const at =
    (level: LogEntry['level']) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      entries.push({ level, logger: name, msg, fields: { ...base, ...fields } });
    };
  return {
    entries,
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    child: (logger, fields) => memoryLogger(entries, `${name}.${logger}`, { ...base, ...fields }),
  };
}
