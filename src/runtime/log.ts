import winston from 'winston';

export type LogFormat = 'json' | 'console';
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface Logger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  child(logger: string, fields?: Record<string, unknown>): Logger;
}

/** Errors become their message (never a stack of request options that could hold a token). */
function plain(fields: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!fields) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = v instanceof Error ? v.message : v;
  return out;
}

function wrap(w: winston.Logger, name: string, base: Record<string, unknown>): Logger {
  const emit = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    w.log(level, msg, { logger: name, ...base, ...plain(fields) });
  };
  return {
    error: emit('error'),
    warn: emit('warn'),
    info: emit('info'),
    debug: emit('debug'),
    child: (logger, fields) => wrap(w, `${name}.${logger}`, { ...base, ...fields }),
  };
}

/** JSON lines on stderr: {"ts","level","logger","msg",...fields}; `console` is the human-readable variant. */
export function createLogger(opts: { level?: LogLevel; format?: LogFormat; name?: string; stream?: NodeJS.WritableStream } = {}): Logger {
  const jsonLine = winston.format.printf((info) => {
    const { level, message, timestamp, logger, ...rest } = info;
    return JSON.stringify({ ts: timestamp, level, logger, msg: message, ...rest });
  });
  const consoleLine = winston.format.printf((info) => {
    const { level, message, timestamp, logger, ...rest } = info;
    const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
    return `${String(timestamp)} ${level.toUpperCase().padEnd(5)} ${String(logger)}: ${String(message)}${extra}`;
  });
  const w = winston.createLogger({
    level: opts.level ?? 'info',
    format: winston.format.combine(winston.format.timestamp(), opts.format === 'console' ? consoleLine : jsonLine),
    transports: [new winston.transports.Stream({ stream: opts.stream ?? process.stderr })],
  });
  return wrap(w, opts.name ?? 'kaiwo-monitor', {});
}
