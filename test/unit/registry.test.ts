import { expect } from 'chai';
import { parse } from 'yaml';
import { applyDefaults } from '../../src/api/defaults.js';
import { bool, buildSpecSchema, int, labelSelectorSchema, obj, type Schema } from '../../src/api/schema.js';
import type { LabelSelector } from '../../src/api/types.js';
import { CHECKS, checksFor, checksTable, kaiwoMonitorCrd, managerRules } from '../../src/checks/registry.js';
import type { AnyCheck, ComponentCheck } from '../../src/checks/types.js';
import { verdict } from '../../src/checks/util.js';
import { buildStatus } from '../../src/controller/status.js';
import { validateSpec } from '../../src/controller/validate.js';
import { renderReadme, renderRole } from '../../hack/gen/generated.js';

interface WidgetsSpec { enabled: boolean; widgetSelector: LabelSelector; maxBroken: number }

/** A hypothetical new check: one object, nothing else edited. */
const widgetsCheck: ComponentCheck<WidgetsSpec, 'widgets'> = {
  component: 'widgets',
  conditionType: 'WidgetsHealthy',
  label: 'widgets',
  column: 'Widgets',
  description: 'broken widgets',
  schema: obj('widgets (WidgetsHealthy)', {
    enabled: bool('check widgets', true),
    widgetSelector: labelSelectorSchema('widgets to check', {}),
    maxBroken: int('broken widgets tolerated', 2, 0, 100),
  }),
  selectors: ['widgetSelector'],
  rbac: [{ apiGroups: ['widgets.example.com'], resources: ['widgets'], verbs: ['get', 'list', 'watch'] }],
  sources: () => ({ widgets: { apiVersion: 'widgets.example.com/v1', plural: 'widgets', kind: 'Widget' } }),
  evaluate: ({ spec, data }) => {
    const broken = (data.widgets?.objects ?? []).length;
    const findings = broken > spec.maxBroken ? [{ severity: 'Critical' as const, reason: 'TooManyBroken', message: `${broken} broken` }] : [];
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
  it('derives the CRD: spec section with defaults, the enable-one rule, the printer column and the status enums', () => {
    const { version, spec, status } = specProps(kaiwoMonitorCrd(all));
    const section = (spec.properties as Record<string, Schema>).widgets!;
    expect(section.default).to.deep.equal({ enabled: true, widgetSelector: {}, maxBroken: 2 });
    const rules = spec['x-kubernetes-validations'] as { rule: string }[];
    expect(rules.map((r) => r.rule).join(' ')).to.contain('self.widgets.enabled');
    const columns = version.additionalPrinterColumns as { name: string; jsonPath: string }[];
    expect(columns.find((c) => c.name === 'Widgets')?.jsonPath).to.equal('.status.summary.widgets.display');
    const statusProps = status.properties as Record<string, Schema>;
    expect(Object.keys((statusProps.summary!).properties as object)).to.include('widgets');
    const findingProps = ((statusProps.findings!).items as Schema).properties as Record<string, Schema>;
    expect((findingProps.component!).enum).to.include('widgets');
    // The registered checks alone do not know it.
    expect(Object.keys((specProps(kaiwoMonitorCrd()).spec.properties as object))).not.to.include('widgets');
  });

  it('derives the ClusterRole (kustomize and chart) from the checks, merging rules that share groups and verbs', () => {
    const rules = managerRules(all);
    expect(rules).to.deep.include({ apiGroups: ['widgets.example.com'], resources: ['widgets'], verbs: ['get', 'list', 'watch'] });
    const role = parse(renderRole(all)) as { kind: string; rules: unknown[] };
    expect(role.kind).to.equal('ClusterRole');
    expect(role.rules).to.deep.include({ apiGroups: ['widgets.example.com'], resources: ['widgets'], verbs: ['get', 'list', 'watch'] });
    const core = managerRules().filter((r) => r.apiGroups?.length === 1 && r.apiGroups[0] === '' && r.verbs.includes('list'));
    expect(core, 'one merged rule for the core group reads').to.have.length(1);
    expect(core[0]?.resources).to.include.members(['pods', 'nodes', 'namespaces', 'events']);
  });

  it('validates its declared selector fields at run time', () => {
    const spec = applyDefaults<Record<string, unknown>>(buildSpecSchema(all), { widgets: { widgetSelector: { matchLabels: { 'bad key!': 'x' } } } });
    expect(validateSpec(spec, all)).to.contain('spec.widgets.widgetSelector');
    expect(validateSpec(applyDefaults<Record<string, unknown>>(buildSpecSchema(all), {}), all)).to.equal(undefined);
  });

  it('binds, evaluates and reports its condition and summary in the status', () => {
    const spec = applyDefaults<Record<string, unknown>>(buildSpecSchema(all), Object.fromEntries(CHECKS.map((c) => [c.component, { enabled: false }])));
    const bound = checksFor(spec, new Map(), all);
    const widgets = bound.find((b) => b.component === 'widgets');
    expect(widgets?.enabled).to.equal(true);
    expect(Object.keys(widgets?.sources ?? {})).to.deep.equal(['widgets']);
    const now = new Date('2026-01-01T00:00:00Z');
    const objects = [1, 2, 3].map((i) => ({ metadata: { name: `w${i}` } }));
    const outcomes = bound.map((b) => ({
      component: b.component, conditionType: b.check.conditionType, label: b.check.label, enabled: b.enabled,
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
    const readme = renderReadme('a\n<!-- checks:begin -->\nold\n<!-- checks:end -->\nb', all);
    expect(readme).to.contain('`WidgetsHealthy`').and.not.contain('old');
    expect(() => renderReadme('no markers', all)).to.throw(/markers/);
  });
});
