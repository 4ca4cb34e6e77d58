import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { applyDefaults } from '../../src/api/defaults.js';
import { bool, buildSpecSchema, DNS_LABEL, int, labelSelectorSchema, name, obj, type Schema } from '../../src/api/schema.js';
import type { LabelSelector } from '../../src/api/types.js';
import { CHECKS, checksFor, checksTable, kaiwoMonitorCrd, managerRules } from '../../src/checks/registry.js';
import type { AnyCheck, ComponentCheck, PolicyRule } from '../../src/checks/types.js';
import { verdict } from '../../src/checks/util.js';
import { buildStatus } from '../../src/controller/status.js';
import { validateSpec } from '../../src/controller/validate.js';
import { DASHBOARD_FILE, dashboardJson, renderDashboard } from '../../hack/gen/dashboard.js';
import { generatedFiles, renderReadme } from '../../hack/gen/generated.js';
import { CHART_NAMESPACED_RULES_FILE, CHART_RULES_FILE, LOGS_ROLE_FILE, ROLE_FILE } from '../../hack/gen/rbac.js';
import { SAMPLE_FILE } from '../../hack/gen/sample.js';
import { repoRoot } from '../../src/localcluster/paths.js';

interface WidgetsSpec {
  enabled: boolean;
  namespace: string;
  widgetSelector: LabelSelector;
  maxBroken: number;
}

const widgetsRule: PolicyRule = { apiGroups: ['widgets.example.com'], resources: ['widgets'], verbs: ['get', 'list', 'watch'] };
const widgetLogsRule: PolicyRule = { apiGroups: ['widgets.example.com'], resources: ['widgets/log'], verbs: ['get'] };

/** A hypothetical new check, registered only here: one object, nothing else edited. */
const widgetsCheck: ComponentCheck<WidgetsSpec, 'widgets'> = {
  component: 'widgets',
  conditionType: 'WidgetsHealthy',
  label: 'widgets',
  column: 'Widgets',
  description: 'broken widgets',
  schema: obj('widgets (WidgetsHealthy)', {
    enabled: bool('check widgets', true),
    namespace: name('namespace of the widget controller', 'widgets-system', DNS_LABEL, 63),
    widgetSelector: labelSelectorSchema('widgets to check', {}),
    maxBroken: int('broken widgets tolerated', 2, 0, 100),
  }),
  selectors: ['widgetSelector'],
  rbac: [widgetsRule],
  namespacedRbac: [widgetLogsRule],
  sources: () => ({ widgets: { apiVersion: 'widgets.example.com/v1', plural: 'widgets', kind: 'Widget' } }),
  evaluate: ({ spec, data }) => {
    const broken = (data.widgets?.objects ?? []).length;
    const findings =
      broken > spec.maxBroken ? [{ severity: 'Critical' as const, reason: 'TooManyBroken', message: `${broken} broken` }] : [];
    return verdict(findings, { reason: 'WidgetsFine', message: 'fine' }, { summary: { display: `${broken} broken`, counts: { broken } } });
  },
};
const all: AnyCheck[] = [...CHECKS, widgetsCheck];

const specProps = (crd: Schema) => {
  const version = ((crd.spec as Schema).versions as Schema[])[0]!;
  const root = ((version.schema as Schema).openAPIV3Schema as Schema).properties as Record<string, Schema>;
  return { version, spec: root.spec!, status: root.status! };
};

describe('check registry: a new check is one object and one registration line', () => {
  /** What `make generate` would write with the check registered, and without it. */
  let files: Record<string, string>;
  let registered: Record<string, string>;
  before(() => {
    files = generatedFiles(all);
    registered = generatedFiles();
  });

  it('derives the CRD: spec section with defaults, the enable-one rule, the printer column and the status enums', () => {
    const { version, spec, status } = specProps(kaiwoMonitorCrd(all));
    const section = (spec.properties as Record<string, Schema>).widgets!;
    expect(section.default).to.deep.equal({ enabled: true, namespace: 'widgets-system', widgetSelector: {}, maxBroken: 2 });
    const rules = spec['x-kubernetes-validations'] as { rule: string }[];
    expect(rules.map((r) => r.rule).join(' ')).to.contain('self.widgets.enabled');
    const columns = version.additionalPrinterColumns as { name: string; jsonPath: string }[];
    expect(columns.find((c) => c.name === 'Widgets')?.jsonPath).to.equal('.status.summary.widgets.display');
    const statusProps = status.properties as Record<string, Schema>;
    expect(Object.keys(statusProps.summary!.properties as object)).to.include('widgets');
    const findingProps = (statusProps.findings!.items as Schema).properties as Record<string, Schema>;
    expect(findingProps.component!.enum).to.include('widgets');
    // The registered checks alone do not know it.
    expect(Object.keys(specProps(kaiwoMonitorCrd()).spec.properties as object)).not.to.include('widgets');
  });

  it('derives the ClusterRole and the namespaced Role (kustomize and chart) from the checks, merging rules that share groups and verbs', () => {
    const role = parse(files[ROLE_FILE] ?? '') as { kind: string; rules: unknown[] };
    expect(role.kind).to.equal('ClusterRole');
    expect(role.rules).to.deep.include(widgetsRule).and.not.deep.include(widgetLogsRule);
    expect(parse(files[CHART_RULES_FILE] ?? '')).to.deep.equal(role.rules);
    const docs = parseAllDocuments(files[LOGS_ROLE_FILE] ?? '').map(
      (d) => d.toJS() as { kind: string; metadata: { namespace: string }; rules?: unknown[] },
    );
    const roles = docs.filter((d) => d.kind === 'Role');
    expect(
      roles.map((r) => r.metadata.namespace),
      'the namespaces the checks default to',
    ).to.deep.equal(['kaiwo-system', 'kueue-system', 'widgets-system']);
    for (const r of roles) expect(r.rules).to.deep.include(widgetLogsRule).and.not.deep.include(widgetsRule);
    expect(docs.filter((d) => d.kind === 'RoleBinding')).to.have.length(roles.length);
    expect(parse(files[CHART_NAMESPACED_RULES_FILE] ?? '')).to.deep.equal(roles[0]?.rules);
    // The chart's ClusterRole and its Role per podLogs.namespaces take their rules from those two files.
    const template = readFileSync(join(repoRoot, 'charts/kaiwo-monitor/templates/rbac.yaml'), 'utf8');
    expect(template).to.contain('.Files.Get "files/manager-rules.yaml"').and.contain('$.Files.Get "files/namespaced-rules.yaml"');
    const core = managerRules().filter((r) => r.apiGroups?.length === 1 && r.apiGroups[0] === '' && r.verbs.includes('list'));
    expect(core, 'one merged rule for the core group reads').to.have.length(1);
    expect(core[0]?.resources).to.include.members(['pods', 'nodes', 'namespaces', 'events']);
    expect(registered[LOGS_ROLE_FILE], 'the registered checks alone do not know it').not.to.contain('widgets');
  });

  it('adds its fields, with their defaults and descriptions, to the full sample', () => {
    const sample = files[SAMPLE_FILE] ?? '';
    expect((parse(sample) as { spec: Record<string, unknown> }).spec.widgets).to.deep.equal({
      enabled: true,
      namespace: 'widgets-system',
      widgetSelector: {},
      maxBroken: 2,
    });
    expect(sample).to.contain('    # broken widgets tolerated\n    maxBroken: 2\n');
    expect(registered[SAMPLE_FILE]).not.to.contain('widgets');
  });

  it('adds a condition panel and a top-findings panel to the dashboard (and the chart copy), above the other panels', () => {
    const json = dashboardJson(files[DASHBOARD_FILE] ?? '');
    expect(files['charts/kaiwo-monitor/files/kaiwo-monitor.json']).to.equal(json);
    const panels = (
      JSON.parse(json) as { panels: { id: number; type: string; gridPos: { y: number; h: number }; targets?: { expr: string }[] }[] }
    ).panels;
    const of = (type: string, expr: string) => panels.filter((p) => p.type === type && p.targets?.some((t) => t.expr.includes(expr)));
    const [stat, bars] = [of('stat', 'type="WidgetsHealthy"'), of('bargauge', 'component="widgets"')];
    expect([stat.length, bars.length]).to.deep.equal([1, 1]);
    expect(new Set(panels.map((p) => p.id)).size, 'unique panel ids').to.equal(panels.length);
    const generated = panels.filter((p) => p.id > 200 && p.id < 300);
    expect(generated).to.have.length(2 * all.length);
    const bottom = Math.max(...generated.map((p) => p.gridPos.y + p.gridPos.h));
    expect(
      panels.filter((p) => p.id < 200 && p.gridPos.y < bottom),
      'hand-made panels below the generated ones',
    ).to.deep.equal([]);
    expect(registered[DASHBOARD_FILE]).not.to.contain('WidgetsHealthy');
    // Two more checks need a third line of component panels: the hand-made panels move down by its height.
    const more = ['A', 'B'].map((x) => ({ ...widgetsCheck, component: `widgets${x}`, conditionType: `Widgets${x}Healthy` }));
    const moved = (JSON.parse(dashboardJson(renderDashboard(files[DASHBOARD_FILE] ?? '', [...all, ...more]))) as { panels: typeof panels })
      .panels;
    const y = (ps: typeof panels, id: number) => ps.find((p) => p.id === id)?.gridPos.y ?? NaN;
    expect(y(moved, 110) - y(panels, 110)).to.equal(12);
  });

  it('validates its declared selector fields at run time', () => {
    const spec = applyDefaults<Record<string, unknown>>(buildSpecSchema(all), {
      widgets: { widgetSelector: { matchLabels: { 'bad key!': 'x' } } },
    });
    expect(validateSpec(spec, all)).to.contain('spec.widgets.widgetSelector');
    expect(validateSpec(applyDefaults<Record<string, unknown>>(buildSpecSchema(all), {}), all)).to.equal(undefined);
  });

  it('binds, evaluates and reports its condition and summary in the status', () => {
    const spec = applyDefaults<Record<string, unknown>>(
      buildSpecSchema(all),
      Object.fromEntries(CHECKS.map((c) => [c.component, { enabled: false }])),
    );
    const bound = checksFor(spec, new Map(), all);
    const widgets = bound.find((b) => b.component === 'widgets');
    expect(widgets?.enabled).to.equal(true);
    expect(Object.keys(widgets?.sources ?? {})).to.deep.equal(['widgets']);
    const now = new Date('2026-01-01T00:00:00Z');
    const objects = [1, 2, 3].map((i) => ({ metadata: { name: `w${i}` } }));
    const outcomes = bound.map((b) => ({
      component: b.component,
      conditionType: b.check.conditionType,
      label: b.check.label,
      enabled: b.enabled,
      ...(b.enabled ? { result: b.evaluate({ widgets: { state: 'synced', objects } }, {}, now) } : {}),
    }));
    const status = buildStatus({ generation: 1, previous: undefined, outcomes, now, heartbeatMs: 60_000 });
    expect(status.conditions?.find((c) => c.type === 'WidgetsHealthy')).to.include({ status: 'False', reason: 'TooManyBroken' });
    expect(status.conditions?.find((c) => c.type === 'Healthy')?.status).to.equal('False');
    expect(status.conditions?.map((c) => c.type)).to.deep.equal(['Ready', 'Healthy', 'WidgetsHealthy']);
    expect(status.summary?.widgets?.counts).to.deep.equal({ broken: 3 });
  });

  it('adds its row to the README table', () => {
    expect(checksTable(all)).to.contain('| `widgets` | `WidgetsHealthy` | broken widgets |');
    expect(files['README.md']).to.contain('| `widgets` | `WidgetsHealthy` | broken widgets |');
    const readme = renderReadme('a\n<!-- checks:begin -->\nold\n<!-- checks:end -->\nb', all);
    expect(readme).to.contain('`WidgetsHealthy`').and.not.contain('old');
    expect(() => renderReadme('no markers', all)).to.throw(/markers/);
  });
});
