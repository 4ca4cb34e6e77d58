import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { get } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { CONDITION_TYPES } from '../../src/checks/registry.js';
import { toolBinary } from '../../src/localcluster/binaries.js';
import { Monitors } from '../support/fakes/monitors.js';
import { repoRoot } from '../../src/localcluster/paths.js';
import { sharedCluster, skipWithoutBackend } from '../support/cluster.js';
import { OperatorProcess } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
const rules = (parse(readFileSync(join(repoRoot, 'config/alerts/rules.yaml'), 'utf8')) as { spec: { groups: { rules: Rule[] }[] } }).spec;
const byName = new Map(rules.groups.flatMap((g) => g.rules).map((r) => [r.alert, r]));

/**
 * The annotations Prometheus renders for `alert` with these labels: `{{ $labels.x }}` from `labels`, and
 * `{{ $value | ... }}` from `value` as formatted by the named function. Anything else left is a test error.
 */
function annotations(alert: string, labels: Record<string, string>, value?: string): Record<string, string> {
  const rule = byName.get(alert);
  if (!rule) throw new Error(`no alert ${alert}`);
  return Object.fromEntries(
    Object.entries(rule.annotations).map(([k, v]) => {
      const out = v
        .replace(/\{\{ \$labels\.([a-z_]+) \}\}/g, (_, l: string) => labels[l] ?? '')
        .replace(/\{\{ \$value \| [a-zA-Z]+ \}\}/g, () => value ?? '<no value given>');
      if (out.includes('{{')) throw new Error(`${alert}.${k}: template the test does not render: ${out}`);
      return [k, out];
    }),
  );
}

interface Case {
  name: string;
  series: Record<string, string>;
  alert: string;
  at: string;
  firing: Record<string, string>[];
  value?: string;
}

const cond = (monitor: string, type: string, status: 'True' | 'False' | 'Unknown', values: string) => ({
  [`kaiwo_monitor_condition{monitor="${monitor}",type="${type}",status="${status}"}`]: values,
});
/** The three series of one condition over 30 minutes, `status` current from `from` minutes on (before: True). */
const condition = (monitor: string, type: string, status: 'False' | 'Unknown', from: number) => {
  const before = from > 0 ? '1 '.repeat(from) : '';
  const beforeZero = from > 0 ? '0 '.repeat(from) : '';
  return {
    ...cond(monitor, type, 'True', `${before}0x${30 - from}`),
    ...cond(monitor, type, status, `${beforeZero}1x${30 - from}`),
    ...cond(monitor, type, status === 'False' ? 'Unknown' : 'False', '0x30'),
  };
};
const healthy = (monitor: string, type: string) => ({
  ...cond(monitor, type, 'True', '1x30'),
  ...cond(monitor, type, 'False', '0x30'),
  ...cond(monitor, type, 'Unknown', '0x30'),
});
const lastCheck = (monitor: string, interval: number, stopAt: number) => ({
  [`kaiwo_monitor_last_check_timestamp_seconds{monitor="${monitor}"}`]: `0+60x${stopAt} ${stopAt * 60}x${30 - stopAt}`,
  [`kaiwo_monitor_interval_seconds{monitor="${monitor}"}`]: `${interval}x30`,
});
const leader = (pod: string, v: 0 | 1) => ({
  [`leader_election_master_status{name="kaiwo-monitor.monitoring.kaiwo.silogen.ai",pod="${pod}"}`]: `${v}x30`,
});
const up = (job: string, v: 0 | 1) => ({ [`up{job="${job}",instance="10.0.0.7:8443"}`]: `${v}x30` });
const errors = (controller: string, perMinute: number) => ({
  [`controller_runtime_reconcile_errors_total{controller="${controller}",pod="kaiwo-monitor-0"}`]: `0+${perMinute}x30`,
});

const kueueDown = { monitor: 'prod', type: 'KueueHealthy' };
const cases: Case[] = [
  {
    name: 'a component False for over a minute pages',
    alert: 'KaiwoComponentUnhealthy',
    at: '5m',
    series: condition('prod', 'KueueHealthy', 'False', 2),
    firing: [kueueDown],
  },
  {
    name: 'a component False for under a minute does not',
    alert: 'KaiwoComponentUnhealthy',
    at: '2m',
    series: condition('prod', 'KueueHealthy', 'False', 2),
    firing: [],
  },
  {
    name: 'a one-minute blip does not page',
    alert: 'KaiwoComponentUnhealthy',
    at: '5m',
    series: { ...cond('prod', 'GPUNodesHealthy', 'False', '0 0 1 0x27'), ...cond('prod', 'GPUNodesHealthy', 'True', '1 1 0 1x27') },
    firing: [],
  },
  {
    name: 'Ready=False and the Healthy summary are not components',
    alert: 'KaiwoComponentUnhealthy',
    at: '10m',
    series: { ...condition('prod', 'Ready', 'False', 0), ...condition('prod', 'Healthy', 'False', 0) },
    firing: [],
  },
  {
    name: 'any registered component counts',
    alert: 'KaiwoComponentUnhealthy',
    at: '10m',
    series: condition('prod', 'CapacityHealthy', 'False', 0),
    firing: [{ monitor: 'prod', type: 'CapacityHealthy' }],
  },
  {
    name: 'a component Unknown for 15m warns',
    alert: 'KaiwoComponentUnknown',
    at: '20m',
    series: condition('prod', 'GPUNodesHealthy', 'Unknown', 0),
    firing: [{ monitor: 'prod', type: 'GPUNodesHealthy' }],
  },
  {
    name: 'Unknown for 10m does not',
    alert: 'KaiwoComponentUnknown',
    at: '10m',
    series: condition('prod', 'GPUNodesHealthy', 'Unknown', 0),
    firing: [],
  },
  { name: 'healthy components do not', alert: 'KaiwoComponentUnknown', at: '20m', series: healthy('prod', 'WorkloadsHealthy'), firing: [] },
  {
    name: 'a monitor not Ready for 5m warns',
    alert: 'KaiwoMonitorNotReady',
    at: '10m',
    series: condition('bad', 'Ready', 'False', 0),
    firing: [{ monitor: 'bad' }],
  },
  { name: 'a Ready monitor does not', alert: 'KaiwoMonitorNotReady', at: '10m', series: healthy('bad', 'Ready'), firing: [] },
  // Both monitors stop at minute 5: the 30s one is stale after 2 × 30s + 120s (+ for: 2m); the 1h one is not.
  {
    name: 'a monitor with a 30s interval is stale after 3 minutes without evaluation',
    alert: 'KaiwoMonitorStale',
    at: '12m',
    value: '7m 0s',
    series: { ...lastCheck('fast', 30, 5), ...lastCheck('hourly', 3600, 5), ...lastCheck('busy', 30, 30) },
    firing: [{ monitor: 'fast' }],
  },
  {
    name: 'a monitor with a 1h interval is not stale after 7 minutes',
    alert: 'KaiwoMonitorStale',
    at: '12m',
    series: lastCheck('hourly', 3600, 5),
    firing: [],
  },
  {
    name: 'a monitor that is not Ready (no evaluation by design) is not stale',
    alert: 'KaiwoMonitorStale',
    at: '20m',
    series: { ...lastCheck('bad', 30, 2), ...condition('bad', 'Ready', 'False', 0) },
    firing: [],
  },
  {
    name: 'no replica leading for 2m is critical',
    alert: 'KaiwoMonitorNoLeader',
    at: '5m',
    series: { ...leader('a', 0), ...leader('b', 0) },
    firing: [{}],
  },
  { name: 'one leader is enough', alert: 'KaiwoMonitorNoLeader', at: '5m', series: { ...leader('a', 0), ...leader('b', 1) }, firing: [] },
  {
    name: 'a failing scrape warns after 5m',
    alert: 'KaiwoMonitorScrapeFailing',
    at: '10m',
    series: { ...up('kaiwo-monitor-metrics', 0), ...up('node-exporter', 0) },
    firing: [{ job: 'kaiwo-monitor-metrics', instance: '10.0.0.7:8443' }],
  },
  { name: 'a working scrape does not', alert: 'KaiwoMonitorScrapeFailing', at: '10m', series: up('kaiwo-monitor-metrics', 1), firing: [] },
  { name: 'no kaiwo-monitor target for 10m warns', alert: 'KaiwoMonitorAbsent', at: '15m', series: up('node-exporter', 1), firing: [{}] },
  {
    name: 'a target, even a down one, is not absent',
    alert: 'KaiwoMonitorAbsent',
    at: '15m',
    series: up('kaiwo-monitor-metrics', 0),
    firing: [],
  },
  {
    name: '0.5 reconcile errors/s for 10m warns',
    alert: 'KaiwoMonitorReconcileErrors',
    at: '15m',
    value: '500m',
    series: errors('kaiwomonitor', 30),
    firing: [{}],
  },
  {
    name: '0.05 errors/s, or errors of another controller, do not',
    alert: 'KaiwoMonitorReconcileErrors',
    at: '15m',
    series: { ...errors('kaiwomonitor', 3), ...errors('other', 600) },
    firing: [],
  },
];

describe('integration: alert rules (promtool test rules, promtool built from its Go module)', function () {
  this.timeout(300_000);
  let promtool: string;
  const dir = mkdtempSync(join(tmpdir(), 'kaiwo-monitor-alerts-'));

  before(async () => {
    promtool = await toolBinary('prometheus', 'promtool');
    writeFileSync(join(dir, 'rules.yaml'), stringify(rules));
  });

  it('has a firing and a not-firing test for every alert', () => {
    for (const alert of byName.keys()) {
      expect(
        cases.filter((c) => c.alert === alert && c.firing.length > 0),
        `${alert} firing`,
      ).to.not.be.empty;
      expect(
        cases.filter((c) => c.alert === alert && c.firing.length === 0),
        `${alert} not firing`,
      ).to.not.be.empty;
    }
  });

  it('every case passes promtool test rules (labels and rendered annotations compared exactly)', async () => {
    const tests = cases.map((c) => ({
      name: c.name,
      interval: '1m',
      input_series: Object.entries(c.series).map(([series, values]) => ({ series, values })),
      alert_rule_test: [
        {
          eval_time: c.at,
          alertname: c.alert,
          exp_alerts: c.firing.map((labels) => {
            const all = { ...labels, ...byName.get(c.alert)?.labels };
            return { exp_labels: all, exp_annotations: annotations(c.alert, all, c.value) };
          }),
        },
      ],
    }));
    writeFileSync(join(dir, 'tests.yaml'), stringify({ rule_files: ['rules.yaml'], evaluation_interval: '1m', tests }));
    const r = await run(promtool, ['test', 'rules', join(dir, 'tests.yaml')], { cwd: dir }).catch(
      (e: unknown) => e as { stdout: string; stderr: string; code: number },
    );
    expect('code' in r ? r.code : 0, `${r.stdout}\n${r.stderr}`).to.equal(0);
    expect(r.stdout).to.include('SUCCESS');
  });

  it('a broken rule makes promtool fail (the test above can fail)', async () => {
    const broken = structuredClone(rules);
    const stale = broken.groups[0]?.rules.find((r) => r.alert === 'KaiwoMonitorStale');
    if (!stale) throw new Error('no KaiwoMonitorStale');
    stale.expr = 'time() - max by (monitor) (kaiwo_monitor_last_check_timestamp_seconds) > 300';
    writeFileSync(join(dir, 'broken.yaml'), stringify(broken));
    const c = cases.find((x) => x.name.startsWith('a monitor with a 1h interval'));
    const test = {
      rule_files: ['broken.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: Object.entries(c?.series ?? {}).map(([series, values]) => ({ series, values })),
          alert_rule_test: [{ eval_time: '20m', alertname: 'KaiwoMonitorStale', exp_alerts: [] }],
        },
      ],
    };
    writeFileSync(join(dir, 'broken-tests.yaml'), stringify(test));
    const r = await run(promtool, ['test', 'rules', join(dir, 'broken-tests.yaml')], { cwd: dir }).then(
      () => undefined,
      (e: unknown) => e as { stdout: string; stderr: string },
    );
    expect(r ? `${r.stdout}${r.stderr}` : 'passed', 'the fixed 300s threshold fires for an hourly monitor').to.include('FAILED');
  });

  it('every alert has a summary, a description and a runbook in docs/runbooks/ with diagnosis commands', () => {
    for (const [alert, rule] of byName) {
      expect(Object.keys(rule.annotations).sort(), alert).to.deep.equal(['description', 'runbook_url', 'summary']);
      expect(rule.annotations.runbook_url).to.equal(`https://github.com/silogen/kaiwo-monitor/blob/main/docs/runbooks/${alert}.md`);
      const page = join(repoRoot, 'docs', 'runbooks', `${alert}.md`);
      expect(existsSync(page), page).to.equal(true);
      const text = readFileSync(page, 'utf8');
      expect(text.split('\n')[0], page).to.equal(`# ${alert}`);
      for (const section of ['## Meaning', '## Impact', '## Diagnosis', '## Mitigation'])
        expect(text, `${alert}: ${section}`).to.include(section);
      expect(text, `${alert}: a kubectl command`).to.match(/^\s*kubectl /m);
    }
  });

  describe('the operator exports what the rules, the dashboard and the README name', () => {
    before(skipWithoutBackend);
    let op: OperatorProcess;
    let monitors: Monitors;
    let exported: Set<string>;
    const monitor = 'alerts-metrics';

    before(async () => {
      const cluster = await sharedCluster();
      monitors = new Monitors(cluster.kubeConfig());
      await monitors.create(monitor, {
        interval: '45s',
        operator: { namespace: 'alerts-no-such-namespace' },
        kueue: { enabled: false },
        gpuNodes: { enabled: false },
        workloads: { enabled: false },
      });
      op = await OperatorProcess.start(cluster.kubeconfigPath, [], { metrics: 'plain' });
      // Until the metrics server listens and the first evaluation is exported.
      await waitFor(
        () => `finding reasons to be exported; log:\n${op.raw.slice(-10).join('\n')}`,
        async () => ((await op.metric('kaiwo_monitor_finding_reasons', { monitor })) ?? 0) !== 0,
        60_000,
        200,
      );
      const text = await new Promise<string>((resolve, reject) => {
        get(`http://127.0.0.1:${op.metricsPort ?? 0}/metrics`, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => {
            resolve(body);
          });
        }).on('error', reject);
      });
      exported = new Set([...text.matchAll(/^# HELP ([a-z_]+) /gm)].map((m) => m[1] ?? ''));
    });

    after(async () => {
      await op.stop();
      await monitors.delete(monitor);
    });

    it("exports each monitor's interval (for KaiwoMonitorStale) and findings by reason (for the dashboard)", async () => {
      expect(await op.metric('kaiwo_monitor_interval_seconds', { monitor })).to.equal(45);
      expect(await op.metric('kaiwo_monitor_finding_reasons', { monitor, component: 'operator' })).to.equal(
        await op.metric('kaiwo_monitor_findings', { monitor, component: 'operator' }),
      );
    });

    it('every kaiwo-monitor metric the alert rules and the dashboard query exists', () => {
      const dashboard =
        (parse(readFileSync(join(repoRoot, 'config/grafana/dashboard.yaml'), 'utf8')) as { data: Record<string, string> }).data[
          'kaiwo-monitor.json'
        ] ?? '';
      const used = new Set(
        [
          ...`${JSON.stringify(rules)}\n${dashboard}`.matchAll(
            /\b((?:kaiwo_monitor|controller_runtime|workqueue|leader_election)_[a-z_]+)/g,
          ),
        ].map((m) => (m[1] ?? '').replace(/_(bucket|sum|count)$/, '')),
      );
      expect([...used].filter((n) => !exported.has(n))).to.deep.equal([]);
    });

    it('the dashboard has a condition panel and a top-findings panel per registered check', () => {
      const json = JSON.parse(
        (parse(readFileSync(join(repoRoot, 'config/grafana/dashboard.yaml'), 'utf8')) as { data: Record<string, string> }).data[
          'kaiwo-monitor.json'
        ] ?? '{}',
      ) as { panels: { type: string; title: string; targets?: { expr: string }[] }[] };
      for (const [component, type] of Object.entries(CONDITION_TYPES)) {
        const exprs = json.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ type: p.type, expr: t.expr })));
        expect(
          exprs.filter((e) => e.type === 'stat' && e.expr.includes(`kaiwo_monitor_condition{monitor=~"$monitor", type="${type ?? ''}"}`)),
          type,
        ).to.have.length(1);
        expect(
          exprs.filter(
            (e) => e.type === 'bargauge' && e.expr.includes(`kaiwo_monitor_finding_reasons{monitor=~"$monitor", component="${component}"}`),
          ),
          component,
        ).to.have.length(1);
      }
    });

    it("the README's metrics list names every metric the operator exports (and no others)", () => {
      const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
      const section = readme.slice(readme.indexOf('### Metrics\n'), readme.indexOf('\n### ', readme.indexOf('### Metrics\n') + 5));
      const listed = new Set(
        [...section.matchAll(/`((?:kaiwo_monitor|controller_runtime|workqueue|leader_election)_[a-z_]+)/g)].map((m) => m[1] ?? ''),
      );
      const ours = [...exported].filter((n) => /^(kaiwo_monitor|controller_runtime|workqueue|leader_election)_/.test(n));
      expect(
        ours.filter((n) => !listed.has(n)),
        'exported but not in the README',
      ).to.deep.equal([]);
      expect(
        [...listed].filter((n) => !exported.has(n)),
        'in the README but not exported',
      ).to.deep.equal([]);
    });
  });
});
