/**
 * The Grafana dashboard's component panels (config/grafana/dashboard.yaml): under the row with id COMPONENTS_ROW,
 * a condition stat and a top-findings bar gauge per registered check, four checks across. The rest of the dashboard
 * is edited by hand; panels below the generated ones move down or up as the number of checks changes.
 */
import { parseDocument, Scalar } from 'yaml';
import { CHECKS } from '../../src/checks/registry.js';
import type { AnyCheck } from '../../src/checks/types.js';

export const DASHBOARD_FILE = 'config/grafana/dashboard.yaml';
const KEY = 'kaiwo-monitor.json';
/** The row the generated panels follow, up to the next row. */
const COMPONENTS_ROW = 200;
const ACROSS = 4;
const [W, STAT_H, BARS_H] = [6, 4, 8];

interface Panel {
  id: number;
  type: string;
  gridPos: { x: number; y: number; w: number; h: number };
  [k: string]: unknown;
}

const datasource = { type: 'prometheus', uid: '${datasource}' };
const reduceOptions = { calcs: ['lastNotNull'], fields: '', values: false };
const color = (fixedColor: string) => ({ mode: 'fixed', fixedColor });
const override = (id: string, options: string, fixedColor: string) => ({
  matcher: { id, options },
  properties: [{ id: 'color', value: color(fixedColor) }],
});
const capitalized = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** The two panels of one check, the `i`th, placed below `top`. */
function checkPanels(c: AnyCheck, i: number, top: number): Panel[] {
  const x = (i % ACROSS) * W;
  const y = top + Math.floor(i / ACROSS) * (STAT_H + BARS_H);
  const title = capitalized(c.label);
  return [
    {
      id: 201 + 2 * i,
      type: 'stat',
      title: `${title} (${c.conditionType})`,
      datasource,
      description: `Monitors by the current status of ${c.conditionType}: True healthy, False a Critical finding, Unknown not observed, unreachable or not reported (check disabled).`,
      gridPos: { x, y, w: W, h: STAT_H },
      options: {
        reduceOptions,
        textMode: 'value_and_name',
        colorMode: 'background',
        graphMode: 'none',
        justifyMode: 'center',
        orientation: 'horizontal',
      },
      fieldConfig: {
        defaults: { unit: 'short', noValue: 'not reported', color: color('text') },
        overrides: [override('byName', 'True', 'green'), override('byName', 'False', 'red'), override('byName', 'Unknown', 'orange')],
      },
      targets: [
        {
          refId: 'A',
          instant: true,
          expr: `count by (status) (max by (monitor, status) (kaiwo_monitor_condition{monitor=~"$monitor", type="${c.conditionType}"}) == 1)`,
          legendFormat: '{{status}}',
        },
      ],
    },
    {
      id: 202 + 2 * i,
      type: 'bargauge',
      title: `${title}: top findings`,
      datasource,
      description: `The most frequent finding reasons of the ${c.component} check right now (kubectl describe kaiwomonitor shows the objects).`,
      gridPos: { x, y: y + STAT_H, w: W, h: BARS_H },
      options: { reduceOptions, orientation: 'horizontal', displayMode: 'basic', showUnfilled: true },
      fieldConfig: {
        defaults: { unit: 'short', min: 0, noValue: 'no findings', color: color('orange') },
        overrides: [override('byRegexp', '.*Critical.*', 'red'), override('byRegexp', '.*Info.*', 'blue')],
      },
      targets: [
        {
          refId: 'A',
          instant: true,
          expr: `topk(8, sum by (severity, reason) (kaiwo_monitor_finding_reasons{monitor=~"$monitor", component="${c.component}"}))`,
          legendFormat: '{{reason}} ({{severity}})',
        },
      ],
    },
  ];
}

/** The dashboard's panels with the component panels replaced by those of `checks`. */
function withCheckPanels(panels: Panel[], checks: readonly AnyCheck[]): Panel[] {
  const start = panels.findIndex((p) => p.id === COMPONENTS_ROW);
  const row = panels[start];
  if (!row) throw new Error(`${DASHBOARD_FILE} has no row with id ${COMPONENTS_ROW}`);
  let end = start + 1;
  while (end < panels.length && panels[end]?.type !== 'row') end++;
  const top = row.gridPos.y + row.gridPos.h;
  const oldBottom = Math.max(top, ...panels.slice(start + 1, end).map((p) => p.gridPos.y + p.gridPos.h));
  const newBottom = top + Math.ceil(checks.length / ACROSS) * (STAT_H + BARS_H);
  const below = panels.slice(end).map((p) => ({ ...p, gridPos: { ...p.gridPos, y: p.gridPos.y + newBottom - oldBottom } }));
  const out = [...panels.slice(0, start + 1), ...checks.flatMap((c, i) => checkPanels(c, i, top)), ...below];
  const ids = out.map((p) => p.id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup !== undefined) throw new Error(`${DASHBOARD_FILE}: panel id ${dup} is used twice; the generated panels take ids 201 and up`);
  return out;
}

/** The dashboard JSON of the ConfigMap `configMap`. */
export function dashboardJson(configMap: string): string {
  const json = parseDocument(configMap).getIn(['data', KEY]);
  return typeof json === 'string' ? json : '';
}

/** The ConfigMap `configMap` (config/grafana/dashboard.yaml) with its component panels generated from `checks`. */
export function renderDashboard(configMap: string, checks: readonly AnyCheck[] = CHECKS): string {
  const doc = parseDocument(configMap);
  const dashboard = JSON.parse(dashboardJson(configMap)) as { panels: Panel[] };
  dashboard.panels = withCheckPanels(dashboard.panels, checks);
  const json = new Scalar(`${JSON.stringify(dashboard, null, 2)}\n`);
  json.type = Scalar.BLOCK_LITERAL;
  doc.setIn(['data', KEY], json);
  return doc.toString({ lineWidth: 0 });
}
