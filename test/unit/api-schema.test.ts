import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { applyDefaults } from '../../src/api/defaults.js';
import type { Schema } from '../../src/api/schema.js';
import type { KaiwoMonitorStatus } from '../../src/api/types.js';
import { CHECKS, checksFor, type KaiwoMonitorSpec, specSchema, statusSchema } from '../../src/checks/registry.js';
import { generatedFiles } from '../../hack/gen/generated.js';
import { fullValue, SAMPLE_FILE } from '../../hack/gen/sample.js';
import { repoRoot } from '../../src/localcluster/paths.js';

type DeepRequired<T> = T extends (infer U)[] ? DeepRequired<U>[] : T extends object ? { [K in keyof T]-?: DeepRequired<T[K]> } : T;

/** Every spec field set, derived from the schema: its default where it has one, else a placeholder. */
const fullSpec = fullValue(specSchema) as DeepRequired<KaiwoMonitorSpec>;
const components = CHECKS.map((c) => c.component);

const fullStatus: DeepRequired<KaiwoMonitorStatus> = {
  observedGeneration: 1,
  lastCheckTime: 't',
  conditions: [{ type: 'Ready', status: 'True', observedGeneration: 1, lastTransitionTime: 't', reason: 'R', message: 'm' }],
  summary: Object.fromEntries(
    components.map((c) => [
      c,
      {
        display: 'x',
        counts: {},
        table: { columns: ['A'], rows: [['a']] },
        waiting: [{ clusterQueue: 'q', workload: 'n/w', since: 't', cause: 'c' }],
      },
    ]),
  ),
  findings: [
    {
      component: 'kueue',
      severity: 'Critical',
      reason: 'R',
      message: 'm',
      object: { apiVersion: 'v', kind: 'k', namespace: 'n', name: 'n' },
      since: 't',
    },
  ],
  findingCounts: { total: 1, critical: 1, warning: 0, info: 0 },
};

/** Dotted paths of every property a schema declares (maps with additionalProperties count as leaves). */
function schemaPaths(s: Schema, prefix = ''): string[] {
  if (s.type === 'array') return schemaPaths(s.items as Schema, `${prefix}[]`);
  const props = s.properties as Record<string, Schema> | undefined;
  if (!props) return prefix ? [prefix] : [];
  return Object.entries(props).flatMap(([k, v]) => schemaPaths(v, prefix ? `${prefix}.${k}` : k));
}

/** Paths of the maps a schema declares (objects with additionalProperties: matchLabels, counts). */
function mapPaths(s: Schema, prefix = ''): string[] {
  if (s.type === 'array') return mapPaths(s.items as Schema, `${prefix}[]`);
  if (s.additionalProperties) return [prefix];
  return Object.entries((s.properties ?? {}) as Record<string, Schema>).flatMap(([k, v]) => mapPaths(v, prefix ? `${prefix}.${k}` : k));
}

/** The same paths of a value (of every item of a list); `mapKeys` lists paths whose keys are data (matchLabels, counts). */
function valuePaths(v: unknown, mapKeys: Set<string>, prefix = ''): string[] {
  if (Array.isArray(v)) return v.length ? v.flatMap((x) => valuePaths(x, mapKeys, `${prefix}[]`)) : [`${prefix}[]`];
  if (v && typeof v === 'object' && !mapKeys.has(prefix)) {
    return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => valuePaths(x, mapKeys, prefix ? `${prefix}.${k}` : k));
  }
  return [prefix];
}

const sorted = (xs: string[]) => [...new Set(xs)].sort();

describe('KaiwoMonitor API: schema and types stay in sync', () => {
  const specMaps = new Set(mapPaths(specSchema));

  it('the full spec sets every schema field, keeps them through defaulting and binds every check', () => {
    expect(sorted(valuePaths(fullSpec, specMaps))).to.deep.equal(sorted(schemaPaths(specSchema)));
    expect(applyDefaults(specSchema, fullSpec)).to.deep.equal(fullSpec);
    const allEnabled: Record<string, unknown> = { ...fullSpec };
    for (const c of components) allEnabled[c] = { ...(allEnabled[c] as object), enabled: true };
    const bound = checksFor(allEnabled);
    expect(bound.map((b) => b.component)).to.deep.equal(components);
    expect(
      bound.filter((b) => !b.enabled || !Object.keys(b.sources).length).map((b) => b.component),
      'enabled, with sources',
    ).to.deep.equal([]);
  });

  it('every status field in types.ts is in the schema and vice versa', () => {
    expect(sorted(valuePaths(fullStatus, new Set(mapPaths(statusSchema))))).to.deep.equal(sorted(schemaPaths(statusSchema)));
  });

  it('the committed CRDs, RBAC, full sample, dashboard, chart copies and README table are current (run make generate)', () => {
    const files = generatedFiles();
    expect(Object.keys(files)).to.include.members([
      'config/rbac/role.yaml',
      'config/rbac/logs_role.yaml',
      SAMPLE_FILE,
      'config/grafana/dashboard.yaml',
      'charts/kaiwo-monitor/files/manager-rules.yaml',
      'charts/kaiwo-monitor/files/namespaced-rules.yaml',
      'README.md',
    ]);
    for (const [f, content] of Object.entries(files)) expect(readFileSync(join(repoRoot, f), 'utf8'), f).to.equal(content);
  });

  it('the CRD has no field the API server drops as a default (it would never read back equal: crd-drift.test.ts)', () => {
    const crd = parse(generatedFiles()['crds/monitoring.kaiwo.silogen.ai_kaiwomonitors.yaml'] ?? '') as {
      spec: { conversion?: unknown; versions: { additionalPrinterColumns: Record<string, unknown>[] }[] };
    };
    const columns = crd.spec.versions.flatMap((v) => v.additionalPrinterColumns);
    expect(columns).to.have.length.above(0);
    expect(
      columns.filter((c) => c.priority === 0),
      'priority: 0',
    ).to.deep.equal([]);
    expect(
      columns.filter((c) => c.format === '' || c.description === ''),
      'empty format/description',
    ).to.deep.equal([]);
    expect(crd.spec.conversion, 'the server adds conversion: {strategy: None}').to.deep.equal({ strategy: 'None' });
  });

  it('the full sample sets every field that has a default to it (the others are commented out)', () => {
    const sample = parse(readFileSync(join(repoRoot, SAMPLE_FILE), 'utf8')) as { spec: unknown };
    expect(sample.spec).to.deep.equal(applyDefaults(specSchema, {}));
  });

  it('spec: {} defaults to a standard Kaiwo install', () => {
    const spec = applyDefaults<KaiwoMonitorSpec>(specSchema, {});
    expect(spec.operator).to.include({
      enabled: true,
      namespace: 'kaiwo-system',
      deploymentName: 'kaiwo-controller-manager',
      leaseName: '83fc2279.silogen.ai',
    });
    expect(spec.operator.podSelector).to.deep.equal({ matchLabels: { 'control-plane': 'kaiwo-controller-manager' } });
    expect(spec.kueue).to.include({
      namespace: 'kueue-system',
      deploymentName: 'kueue-controller-manager',
      leaseName: 'c1f6bfd2.kueue.x-k8s.io',
    });
    expect(spec.gpuNodes.resourceNames).to.deep.equal(['amd.com/gpu', 'nvidia.com/gpu']);
    expect(spec.operator.metrics.enabled).to.equal(false);
    expect(spec.interval).to.equal('30s');
  });

  it('defaulting keeps what is set and fills the rest', () => {
    const spec = applyDefaults<KaiwoMonitorSpec>(specSchema, { kueue: { enabled: false, maxPendingAge: '1h' } });
    expect(spec.kueue.enabled).to.equal(false);
    expect(spec.kueue.maxPendingAge).to.equal('1h');
    expect(spec.kueue.maxEvictions).to.equal(5);
  });
});
