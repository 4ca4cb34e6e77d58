import type { Answer, LinkState } from './types.js';

const MARK: Record<LinkState, string> = { ok: 'ok  ', hold: 'HOLD', wait: 'wait', unknown: '??  ', skip: '--  ' };
/** Control characters (a hostile object's message must not move the terminal's cursor) become spaces. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const clean = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');

/** The chain as a person reads it: one line per link (the one that holds the job back marked), then the answer. */
export function renderText(a: Answer): string {
  const width = Math.max(...a.links.map((l) => l.step.length), 8);
  const lines = [`why ${a.target}`, ''];
  for (const l of a.links) {
    lines.push(
      `  ${MARK[l.state]}  ${l.step.padEnd(width)}  ${clean(l.summary)}${a.heldBy === l.step && l.state === 'hold' ? '   <- holds it back' : ''}`,
    );
    for (const d of l.details) lines.push(`        ${' '.repeat(width)}  ${clean(d)}`);
  }
  lines.push('', `${a.exitCode === 1 ? 'Cause' : a.exitCode === 2 ? 'Cannot tell' : 'Nothing holds it back'}: ${clean(a.cause)}`);
  if (a.action) lines.push(`Fix: ${clean(a.action)}`);
  return `${lines.join('\n')}\n`;
}

/** The chain as data, for other tools. */
export function renderJson(a: Answer): string {
  return `${JSON.stringify({ apiVersion: 'kaiwo-monitor/v1', kind: 'WhyAnswer', ...a }, null, 2)}\n`;
}
