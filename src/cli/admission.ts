/**
 * Validation of a KaiwoMonitor read from a file, the way the cluster would admit it: a server-side dry-run
 * create when the CRD is installed (OpenAPI, CEL and defaulting exactly like `kubectl apply`), else the same
 * schema offline (CEL rules not evaluated; the caller says so).
 */
import type { KubeConfig } from '../runtime/kubeconfig.js';
import { applyDefaults } from '../api/defaults.js';
import { API_VERSION, KIND, PLURAL } from '../api/schema.js';
import { specSchema } from '../checks/registry.js';
import { isRecord } from '../runtime/objects.js';
import { rawRequest } from '../runtime/rawrequest.js';
import { validateAgainstSchema } from './schema-check.js';

export class CheckError extends Error {}

export interface MonitorDoc {
  apiVersion: string;
  kind: string;
  metadata: {
    name?: string;
    generateName?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    generation?: number;
  };
  spec: Record<string, unknown>;
}

export interface Admitted {
  /** The object with the spec as the API server would store it (defaults applied). */
  doc: MonitorDoc;
  /** How it was validated: by the API server, or offline against the schema (then `note` says what was skipped). */
  via: 'server' | 'offline';
  note?: string;
}

/** A parsed YAML/JSON document as a KaiwoMonitor: a whole object, or a bare spec. */
export function toMonitorDoc(doc: unknown, source: string): MonitorDoc {
  doc ??= {};
  if (!isRecord(doc)) throw new CheckError(`${source}: expected a KaiwoMonitor or a spec object`);
  const whole = 'kind' in doc || 'apiVersion' in doc || 'spec' in doc || 'metadata' in doc;
  if (!whole) return { apiVersion: API_VERSION, kind: KIND, metadata: {}, spec: doc };
  if (doc.kind !== undefined && doc.kind !== KIND) throw new CheckError(`${source}: kind is ${JSON.stringify(doc.kind)}, expected ${KIND}`);
  if (doc.apiVersion !== undefined && doc.apiVersion !== API_VERSION) {
    throw new CheckError(`${source}: apiVersion is ${JSON.stringify(doc.apiVersion)}, expected ${API_VERSION}`);
  }
  const spec = doc.spec ?? {};
  if (!isRecord(spec)) throw new CheckError(`${source}: spec must be an object`);
  const meta = isRecord(doc.metadata) ? doc.metadata : {};
  const keep = Object.fromEntries(['name', 'generateName', 'labels', 'annotations'].filter((k) => k in meta).map((k) => [k, meta[k]]));
  return { apiVersion: API_VERSION, kind: KIND, metadata: keep, spec };
}

function serverMessage(body: string): string {
  try {
    return (JSON.parse(body) as { message?: string }).message ?? body.slice(0, 500);
  } catch {
    return body.slice(0, 500);
  }
}

/** A dry-run create of `doc`; a name already taken is retried with generateName. */
async function dryRunCreate(kc: KubeConfig, doc: MonitorDoc): Promise<{ status: number; body: string }> {
  const path = `/apis/${API_VERSION}/${PLURAL}?dryRun=All&fieldValidation=Strict`;
  const named = doc.metadata.name
    ? doc
    : { ...doc, metadata: { ...doc.metadata, generateName: doc.metadata.generateName ?? 'kaiwo-monitor-check-' } };
  const res = await rawRequest(kc, { method: 'POST', path, body: named, timeoutMs: 15_000, maxBytes: 4 * 1024 * 1024 });
  if (res.status !== 409 || !doc.metadata.name) return res;
  const { name, ...rest } = doc.metadata;
  return rawRequest(kc, {
    method: 'POST',
    path,
    body: { ...doc, metadata: { ...rest, generateName: `${name}-` } },
    timeoutMs: 15_000,
    maxBytes: 4 * 1024 * 1024,
  });
}

function offline(doc: MonitorDoc, source: string, why: string): Admitted {
  const spec = applyDefaults<Record<string, unknown>>(specSchema, doc.spec);
  const r = validateAgainstSchema(specSchema, spec, 'spec');
  if (r.errors.length)
    throw new CheckError(`${source} is invalid (checked offline against the KaiwoMonitor schema): ${r.errors.join('; ')}`);
  return {
    doc: { ...doc, spec },
    via: 'offline',
    note: `${why}; validated ${source} offline against the schema; its ${r.celRulesSkipped} CEL rules (cross-field checks) were not checked`,
  };
}

/** Validates `doc` like admission would; throws CheckError with the API server's message when it is rejected. */
export async function admit(kc: KubeConfig, doc: MonitorDoc, source: string): Promise<Admitted> {
  const res = await dryRunCreate(kc, doc);
  if (res.status === 200 || res.status === 201) {
    const created = JSON.parse(res.body) as { spec?: Record<string, unknown> };
    return { doc: { ...doc, spec: created.spec ?? doc.spec }, via: 'server' };
  }
  if (res.status === 404) return offline(doc, source, 'the KaiwoMonitor CRD is not installed');
  if (res.status === 403) return offline(doc, source, `not allowed to dry-run create KaiwoMonitors (${serverMessage(res.body)})`);
  if (res.status === 400 || res.status === 422) {
    throw new CheckError(`${source} rejected by the API server (server-side dry-run create): ${serverMessage(res.body)}`);
  }
  throw new CheckError(`dry-run create of ${source}: HTTP ${res.status}: ${serverMessage(res.body)}`);
}
