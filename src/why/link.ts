import { type ObjCondition } from '../checks/util.js';
import { isRecord } from '../runtime/objects.js';
import type { Link, LinkState, WhySnapshot } from './types.js';

/** What every link of the chain is built with. */

export const str = (v: unknown): string => (typeof v === 'string' ? v : '');
export const cut = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
export const cond = (c: ObjCondition | undefined) =>
  c ? `${c.type}=${str(c.status)}${c.reason ? ` (${str(c.reason)})` : ''}${c.message ? `: ${cut(str(c.message))}` : ''}` : '';

/** A link and, when it holds the job back, the cause and the fix the answer ends with. */
export interface Step {
  link: Link;
  cause?: string;
  action?: string;
}

export const step = (name: string, state: LinkState, summary: string, details: string[] = [], cause?: string, action?: string): Step => ({
  link: { step: name, state, summary, details },
  ...(cause ? { cause } : {}),
  ...(action ? { action } : {}),
});

/** Kaiwo manages the ClusterQueue (its controller reference is KaiwoQueueConfig kaiwo), or the job is Kaiwo's. */
export function kaiwoOwned(s: WhySnapshot): boolean {
  const refs = s.clusterQueue?.metadata.ownerReferences;
  return s.kaiwo !== undefined || (Array.isArray(refs) && refs.some((r) => isRecord(r) && r.kind === 'KaiwoQueueConfig'));
}
