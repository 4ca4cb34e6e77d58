/**
 * Reads one line of a controller-runtime operator's log (Kaiwo, Kueue): zap's JSON encoder (production default) or
 * console encoder (development / Kaiwo's FORMATTED_LOGS), and klog lines from client-go. Only what the logs check
 * counts is kept: whether the line is an error, and for errors the controller, the object and a redacted, truncated
 * message. Lines are hostile input: bounded, never thrown on.
 */
import { isRecord } from '../runtime/objects.js';

export interface LogEvent {
  /** Error level (error, dpanic, panic, fatal; klog E/F). */
  error: boolean;
  /** controller-runtime's "Reconciler error". */
  reconcileError: boolean;
  controller?: string;
  /** "Kind namespace/name" of the object being reconciled, when the line names it. */
  object?: { kind?: string; namespace?: string; name: string };
  /** msg + error, redacted and truncated (errors only). */
  message?: string;
}

export const MAX_MESSAGE = 300;
const ERROR_LEVELS = new Set(['error', 'dpanic', 'panic', 'fatal']);
const LEVELS = new Set(['debug', 'info', 'warn', 'warning', 'error', 'dpanic', 'panic', 'fatal']);
const KLOG = /^([IWEF])\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+\s+\S+\]\s?(.*)$/;

const REDACTIONS: [RegExp, string][] = [
  [/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [REDACTED]'],
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, '[REDACTED]'],
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi, '$1[REDACTED]@'],
  [
    /((?:pass(?:word|wd)?|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|authorization|auth)["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;&}]+)/gi,
    '$1[REDACTED]',
  ],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, '[REDACTED]'],
];
/** A long run of base64 characters in mixed case with digits (Kubernetes names are lower case): a key or token. */
const OPAQUE = /[A-Za-z0-9+/_-]{40,}={0,2}/g;
const looksOpaque = (s: string) => /[A-Z]/.test(s) && /[a-z]/.test(s) && /\d/.test(s);

/** Removes what looks like a credential (bearer/basic values, JWTs, URL user:password, key=value secrets, PEM keys, long base64 runs). */
export function redact(s: string): string {
  let out = s;
  for (const [re, by] of REDACTIONS) out = out.replace(re, by);
  return out.replace(OPAQUE, (m) => (looksOpaque(m) ? '[REDACTED]' : m));
}

/** Redacted, then cut to `max` characters; a copy, never a slice of the line. */
export function cleanMessage(s: string, max = MAX_MESSAGE): string {
  const one = redact(s.slice(0, max * 4))
    .replace(/\s+/g, ' ')
    .trim();
  return copy(one.length > max ? `${one.slice(0, max - 1)}…` : one);
}

/** A flat copy: what is kept must not be a slice that keeps the whole line (or chunk) alive. */
const copy = (s: string): string => ` ${s}`.slice(1);
const text = (v: unknown, max = 253): string | undefined => (typeof v === 'string' && v !== '' ? copy(v.slice(0, max)) : undefined);

/** The controller-runtime fields of a structured line: controller, object, error. */
function fromFields(level: string, msg: string, f: Record<string, unknown>, logger?: string): LogEvent {
  const error = ERROR_LEVELS.has(level);
  const reconcileError = msg === 'Reconciler error';
  if (!error && !reconcileError) return { error, reconcileError };
  const controller =
    text(f.controller, 63) ?? (logger?.startsWith('controller.') ? copy(logger.slice('controller.'.length, 80)) : undefined);
  const kind = text(f.controllerKind, 63);
  const nested = kind && isRecord(f[kind]) ? f[kind] : undefined;
  const name = text(f.name) ?? text(nested?.name);
  const namespace = text(f.namespace, 63) ?? text(nested?.namespace, 63);
  const detail = text(f.error, 4 * MAX_MESSAGE) ?? text(f.err, 4 * MAX_MESSAGE);
  return {
    error: true,
    reconcileError,
    ...(controller ? { controller } : {}),
    ...(name ? { object: { ...(kind ? { kind } : {}), ...(namespace ? { namespace } : {}), name } } : {}),
    message: cleanMessage(detail ? `${msg}: ${detail}` : msg),
  };
}

function parseJson(line: string): LogEvent | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isRecord(v)) return undefined;
  const level = typeof v.level === 'string' ? v.level.toLowerCase() : typeof v.severity === 'string' ? v.severity.toLowerCase() : '';
  const msg = text(v.msg, 4 * MAX_MESSAGE) ?? text(v.message, 4 * MAX_MESSAGE) ?? '';
  return fromFields(level, msg, v, text(v.logger, 120));
}

/** zap console: "<time>\t<LEVEL>\t[<logger>\t][<caller>\t]<msg>[\t<json fields>]". */
function parseConsole(line: string): LogEvent | undefined {
  const parts = line.split('\t', 8);
  const li = parts.slice(0, 3).findIndex((p) => LEVELS.has(p.trim().toLowerCase()));
  if (li < 0) return undefined;
  const level = (parts[li] ?? '').trim().toLowerCase();
  const rest = parts.slice(li + 1);
  let fields: Record<string, unknown> = {};
  const last = rest.at(-1) ?? '';
  if (rest.length > 1 && last.trimStart().startsWith('{')) {
    try {
      const f: unknown = JSON.parse(line.slice(line.lastIndexOf('\t') + 1));
      if (isRecord(f)) fields = f;
    } catch {
      /* fields cut or not JSON: keep the message */
    }
    rest.pop();
  }
  // Logger and caller come before the message: "controller.kaiwojob", "controller/controller.go:316".
  const msg = rest.at(-1) ?? '';
  const logger = rest.slice(0, -1).find((p) => !/\.go:\d+$/.test(p));
  return fromFields(level, msg, fields, logger);
}

function parseKlog(line: string): LogEvent | undefined {
  const m = KLOG.exec(line);
  if (!m) return undefined;
  const error = m[1] === 'E' || m[1] === 'F';
  return error ? { error, reconcileError: false, message: cleanMessage(m[2] ?? '') } : { error, reconcileError: false };
}

/** One log line (without the kubelet's timestamp prefix); undefined when it is not a recognised log record (e.g. a stack trace line). */
export function parseLogLine(line: string): LogEvent | undefined {
  const s = line.trimStart();
  if (s.startsWith('{')) return parseJson(s);
  return parseConsole(s) ?? parseKlog(s);
}

/**
 * The kubelet's `timestamps=true` prefix: "2026-12-01T15:00:00.123456789Z <line>". Returns the time in
 * milliseconds, the full-precision key (for de-duplication after a reconnect) and the line.
 */
export function splitTimestamp(raw: string): { ms: number; key: string; line: string } | undefined {
  const sp = raw.indexOf(' ');
  if (sp < 20 || sp > 40) return undefined;
  const ts = raw.slice(0, sp);
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(ts);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1] ?? ''}${m[3] ?? 'Z'}`);
  if (Number.isNaN(ms)) return undefined;
  const nanos = (m[2] ?? '').padEnd(9, '0');
  const seconds = Math.floor(ms / 1000);
  return { ms: ms + Number(nanos.slice(0, 3)), key: `${String(seconds).padStart(12, '0')}.${nanos}`, line: raw.slice(sp + 1) };
}
