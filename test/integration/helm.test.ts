import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { Cluster } from '../../src/localcluster/backend.js';
import { installCrds, prometheusOperatorCrds } from '../../src/localcluster/crds.js';
import { repoRoot } from '../../src/localcluster/paths.js';
import { toolBinary } from '../../src/localcluster/binaries.js';
import { kubectl } from '../support/commands.js';
import { sharedCluster, skipWithoutBackend } from '../support/cluster.js';

const chart = join(repoRoot, 'charts', 'kaiwo-monitor');
interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  rules?: unknown;
  data?: Record<string, string>;
  subjects?: { name: string }[];
}
interface Container {
  args: string[];
  env?: unknown[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: unknown;
  readinessProbe?: unknown;
  image: string;
}
interface PodSpec {
  serviceAccountName: string;
  priorityClassName?: string;
  topologySpreadConstraints?: Record<string, unknown>[];
  containers: Container[];
}
interface Deployment {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
  };
}
interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const sh = (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) =>
  new Promise<Result>((resolve) => {
    execFile(cmd, args, { cwd: repoRoot, env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 99) : 0, stdout, stderr });
    });
  });

/** kubectl apply --server-side, for real or as a server dry-run. */
const kubectlApply = (kubeconfig: string, yaml: string, dryRun: boolean) =>
  kubectl(kubeconfig, ['apply', '--server-side', '--force-conflicts', ...(dryRun ? ['--dry-run=server'] : []), '-f', '-'], yaml);

/** The ```sh block of the README that contains `needle`. */
function readmeBlock(needle: string): string {
  const block = [...readFileSync(join(repoRoot, 'README.md'), 'utf8').matchAll(/```sh\n([\s\S]*?)```/g)]
    .map((m) => m[1] ?? '')
    .find((b) => b.includes(needle));
  if (!block) throw new Error(`no README sh block with ${needle}`);
  return block;
}

describe('integration: Helm chart rendered by a real helm (built from its Go module)', function () {
  this.timeout(300_000);
  before(skipWithoutBackend);
  let cluster: Cluster;
  let helm: string;
  const ns = 'kaiwo-monitor-helm';
  const values = (v: object) => {
    const f = join(mkdtempSync(join(tmpdir(), 'kaiwo-monitor-values-')), 'values.yaml');
    writeFileSync(f, stringify(v));
    return ['-f', f];
  };
  /** `helm template` with a values file and/or `--set`s (as users type them: `--set metrics.bindAddress=0` is a number). */
  const render = (v: object = {}, sets: string[] = []) =>
    sh(helm, ['template', 'kmon', chart, '-n', ns, ...values(v), ...sets.flatMap((s) => ['--set', s])]);
  const template = async (v: object = {}, sets: string[] = []) => {
    const r = await render(v, sets);
    if (r.code !== 0) throw new Error(`helm template failed: ${r.stderr}`);
    return {
      yaml: r.stdout,
      objects: parseAllDocuments(r.stdout)
        .map((d) => d.toJS() as Obj)
        .filter(Boolean),
    };
  };
  const deployment = (objects: Obj[]) => objects.find((o) => o.kind === 'Deployment') as unknown as Deployment;
  const container = (objects: Obj[]) => {
    const c = deployment(objects).spec.template.spec.containers[0];
    if (!c) throw new Error('no container');
    return c;
  };

  before(async () => {
    cluster = await sharedCluster();
    helm = await toolBinary('helm');
    await installCrds(cluster.kubeConfig(), (await prometheusOperatorCrds()).crds);
    await kubectlApply(cluster.kubeconfigPath, stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }), false);
  });

  it('passes helm lint --strict, with defaults and with every toggle on', async () => {
    for (const v of [
      {},
      {
        serviceMonitor: { enabled: true },
        prometheusRule: { enabled: true },
        dashboard: { enabled: true },
        defaultMonitor: { create: true },
        prometheusRelease: 'kps',
      },
    ]) {
      const r = await sh(helm, ['lint', '--strict', chart, ...values(v)]);
      expect(r.code, `${r.stdout}${r.stderr}`).to.equal(0);
      expect(r.stdout).to.include('1 chart(s) linted, 0 chart(s) failed');
    }
  });

  it('renders the defaults like config/default and they apply (server-side dry-run)', async () => {
    const { yaml, objects } = await template();
    const kinds = objects.map((o) => o.kind).sort();
    expect(kinds).to.deep.equal([
      'ClusterRole',
      'ClusterRole',
      'ClusterRoleBinding',
      'Deployment',
      'PodDisruptionBudget',
      'Role',
      'RoleBinding',
      'Service',
      'ServiceAccount',
    ]);
    const d = deployment(objects);
    expect(d.spec.replicas).to.equal(2);
    expect(container(objects).args).to.include.members([
      'run',
      '--leader-elect=true',
      '--metrics-bind-address=:8443',
      '--metrics-secure=true',
      '--health-probe-bind-address=:8081',
    ]);
    expect(container(objects).ports).to.deep.equal([
      { name: 'https-metrics', containerPort: 8443, protocol: 'TCP' },
      { name: 'probes', containerPort: 8081, protocol: 'TCP' },
    ]);
    expect(container(objects).image).to.equal(
      `ghcr.io/silogen/kaiwo-monitor:${(parse(readFileSync(join(chart, 'Chart.yaml'), 'utf8')) as { appVersion: string }).appVersion}`,
    );
    const role = objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name.endsWith('-manager'));
    const kustomizeRules = (parse(readFileSync(join(repoRoot, 'config/rbac/role.yaml'), 'utf8')) as { rules: unknown }).rules;
    expect(role?.rules, 'same least-privilege rules as config/rbac').to.deep.equal(kustomizeRules);
    expect(await kubectlApply(cluster.kubeconfigPath, yaml, true)).to.include(
      'deployment.apps/kmon-kaiwo-monitor serverside-applied (server dry run)',
    );
  });

  it('values.schema.json rejects bad values at template and install time, naming the value', async () => {
    for (const [set, field] of [
      ['replicaCount=two', 'replicaCount'],
      ['logLevel=verbose', 'logLevel'],
      ['metrics.bindAddress=8443', 'bindAddress'],
      ['replicas=3', 'replicas'],
    ]) {
      const r = await render({}, [set!]);
      expect(r.code, set).to.not.equal(0);
      expect(r.stderr, set).to.include("values don't meet the specifications of the schema");
      expect(r.stderr, set).to.include(field);
    }
    const env = { ...process.env, KUBECONFIG: cluster.kubeconfigPath };
    const install = await sh(helm, ['install', 'kmon-bad', chart, '-n', ns, '--set', 'replicaCount=two'], env);
    expect(install.code).to.not.equal(0);
    expect(install.stderr).to.include('replicaCount');
    expect((await sh(helm, ['list', '-n', ns, '-q'], env)).stdout).to.not.include('kmon-bad');
  });

  it('metrics.bindAddress=0 turns metrics off: no port, no Service; a ServiceMonitor then fails with a reason', async () => {
    const { objects } = await template({}, ['metrics.bindAddress=0']);
    expect(container(objects).args).to.include('--metrics-bind-address=0');
    expect(container(objects).ports?.map((p) => p.name)).to.deep.equal(['probes']);
    expect(objects.filter((o) => o.kind === 'Service')).to.deep.equal([]);
    const sm = await render({}, ['metrics.bindAddress=0', 'serviceMonitor.enabled=true']);
    expect(sm.code).to.not.equal(0);
    expect(sm.stderr).to.include('serviceMonitor.enabled needs the metrics endpoint');
  });

  it('healthProbeBindAddress=0 drops the probes and their port', async () => {
    const { objects, yaml } = await template({}, ['healthProbeBindAddress=0']);
    const c = container(objects);
    expect(c.args).to.include('--health-probe-bind-address=0');
    expect(c.ports?.map((p) => p.name)).to.deep.equal(['https-metrics']);
    expect([c.livenessProbe, c.readinessProbe]).to.deep.equal([undefined, undefined]);
    expect(yaml).to.not.include('containerPort: 0');
  });

  it('metrics.secure=false serves http-metrics and the ServiceMonitor scrapes plain HTTP', async () => {
    const { objects } = await template({ metrics: { secure: false }, serviceMonitor: { enabled: true } });
    expect(container(objects).ports?.[0]?.name).to.equal('http-metrics');
    const svc = objects.find((o) => o.kind === 'Service');
    expect(svc?.spec?.ports).to.deep.equal([{ name: 'http-metrics', port: 8443, targetPort: 'http-metrics', protocol: 'TCP' }]);
    const endpoints = objects.find((o) => o.kind === 'ServiceMonitor')?.spec?.endpoints as Record<string, unknown>[];
    expect(endpoints).to.deep.equal([{ port: 'http-metrics', path: '/metrics', interval: '30s', scheme: 'http' }]);
    const secure = await template({ serviceMonitor: { enabled: true } });
    expect((secure.objects.find((o) => o.kind === 'ServiceMonitor')?.spec?.endpoints as Record<string, unknown>[])[0]).to.include({
      port: 'https-metrics',
      scheme: 'https',
    });
  });

  it('a custom bind port is the container and Service port', async () => {
    const { objects } = await template({ metrics: { bindAddress: '0.0.0.0:9443' }, healthProbeBindAddress: ':9081' });
    expect(container(objects).ports?.map((p) => [p.name, p.containerPort])).to.deep.equal([
      ['https-metrics', 9443],
      ['probes', 9081],
    ]);
    expect((objects.find((o) => o.kind === 'Service')?.spec?.ports as { port: number }[])[0]?.port).to.equal(9443);
  });

  it('honours the conventions: name overrides, pod labels/annotations, extraArgs, env, priorityClassName, spread, ServiceAccount', async () => {
    const named = await template({ nameOverride: 'kmonitor' });
    expect(deployment(named.objects).spec.selector.matchLabels['app.kubernetes.io/name']).to.equal('kmonitor');
    expect(named.objects.find((o) => o.kind === 'Deployment')?.metadata.name).to.equal('kmon-kmonitor');
    const full = await template({ fullnameOverride: 'gpu-health' });
    expect(
      full.objects
        .filter((o) => o.kind !== 'Namespace' && !o.metadata.name.startsWith('gpu-health'))
        .map((o) => `${o.kind}/${o.metadata.name}`),
      'objects not named after fullnameOverride',
    ).to.deep.equal([]);

    const { objects, yaml } = await template({
      podAnnotations: { 'example.com/team': 'ml-platform' },
      podLabels: { team: 'ml', 'control-plane': 'hijack' },
      extraArgs: ['--leader-election-id=my-lease'],
      env: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=384' }],
      priorityClassName: 'system-cluster-critical',
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' }],
      serviceAccount: { create: false, name: 'existing-sa' },
    });
    const d = deployment(objects);
    const pod = d.spec.template;
    expect(pod.metadata.annotations).to.deep.equal({ 'example.com/team': 'ml-platform' });
    expect(pod.metadata.labels).to.include({
      team: 'ml',
      'control-plane': 'kaiwo-monitor',
      'app.kubernetes.io/part-of': 'kaiwo-monitor',
      'app.kubernetes.io/managed-by': 'Helm',
    });
    expect(pod.metadata.labels).to.include.keys('helm.sh/chart', 'app.kubernetes.io/version');
    expect(container(objects).args.at(-1)).to.equal('--leader-election-id=my-lease');
    expect(container(objects).env).to.deep.equal([{ name: 'NODE_OPTIONS', value: '--max-old-space-size=384' }]);
    expect(pod.spec.priorityClassName).to.equal('system-cluster-critical');
    expect(pod.spec.topologySpreadConstraints).to.deep.equal([
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: d.spec.selector.matchLabels },
      },
    ]);
    expect(pod.spec.serviceAccountName).to.equal('existing-sa');
    expect(objects.filter((o) => o.kind === 'ServiceAccount')).to.deep.equal([]);
    expect(objects.filter((o) => o.kind.endsWith('Binding')).flatMap((b) => b.subjects?.map((s) => s.name))).to.deep.equal([
      'existing-sa',
      'existing-sa',
    ]);
    await kubectlApply(
      cluster.kubeconfigPath,
      stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'existing-sa', namespace: ns } }),
      false,
    );
    expect(await kubectlApply(cluster.kubeconfigPath, yaml, true)).to.include('serverside-applied (server dry run)');

    const sa = await template({
      serviceAccount: { name: 'kmon-sa', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/x' } },
    });
    expect(sa.objects.find((o) => o.kind === 'ServiceAccount')?.metadata).to.deep.include({
      name: 'kmon-sa',
      annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/x' },
    });
    expect((await render({ serviceAccount: { create: false } })).stderr).to.include(
      'serviceAccount.name is required when serviceAccount.create is false',
    );
  });

  it('monitoring objects: kube-prometheus-stack release label, the alert rules of config/alerts, runbook base URL, dashboard', async () => {
    const { yaml, objects } = await template({
      replicaCount: 1,
      image: { tag: 'v9.9.9' },
      leaderElection: { enabled: false },
      prometheusRelease: 'kube-prometheus-stack',
      serviceMonitor: { enabled: true, labels: { extra: 'x' } },
      prometheusRule: { enabled: true, runbookBaseURL: 'https://wiki.example.com/runbooks/' },
      dashboard: { enabled: true },
      defaultMonitor: { create: true, name: 'prod', spec: { gpuNodes: { minReadyPercent: 95 } } },
      metricsTokenSecret: { namespace: 'kaiwo-system', name: 'metrics-token' },
      logFormat: 'console',
    });
    const byKind = (k: string) => objects.filter((o) => o.kind === k);
    expect(byKind('ServiceMonitor')[0]?.metadata.labels).to.include({ release: 'kube-prometheus-stack', extra: 'x' });
    const rule = byKind('PrometheusRule')[0];
    expect(rule?.metadata.labels).to.include({ release: 'kube-prometheus-stack' });
    const configRules = (parse(readFileSync(join(repoRoot, 'config/alerts/rules.yaml'), 'utf8')) as { spec: unknown }).spec;
    const expected = parse(
      JSON.stringify(configRules).replaceAll(
        'https://github.com/silogen/kaiwo-monitor/blob/main/docs/runbooks/',
        'https://wiki.example.com/runbooks/',
      ),
    ) as unknown;
    expect(rule?.spec, 'the same rules as config/alerts, runbook links rebased').to.deep.equal(expected);
    const dashboard = (parse(readFileSync(join(repoRoot, 'config/grafana/dashboard.yaml'), 'utf8')) as { data: Record<string, string> })
      .data['kaiwo-monitor.json'];
    expect(byKind('ConfigMap')[0]?.data?.['kaiwo-monitor.json'], 'the dashboard of config/grafana').to.equal(dashboard);
    expect(byKind('KaiwoMonitor').map((m) => [m.metadata.name, m.spec])).to.deep.equal([['prod', { gpuNodes: { minReadyPercent: 95 } }]]);
    const secretRole = byKind('Role').find((r) => r.metadata.namespace === 'kaiwo-system');
    expect(secretRole?.rules).to.deep.equal([
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['metrics-token'], verbs: ['get'] },
    ]);
    expect(
      byKind('Role')
        .map((r) => r.metadata.name)
        .filter((n) => n.endsWith('leader-election')),
      'leader-election Roles',
    ).to.deep.equal([]);
    const d = deployment(objects);
    expect(d.spec.replicas).to.equal(1);
    expect(container(objects).image).to.equal('ghcr.io/silogen/kaiwo-monitor:v9.9.9');
    expect(container(objects).args).to.include.members(['--leader-elect=false', '--log-format=console']);
    await kubectlApply(
      cluster.kubeconfigPath,
      stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kaiwo-system' } }),
      false,
    );
    expect(await kubectlApply(cluster.kubeconfigPath, yaml, true)).to.include(
      'kaiwomonitor.monitoring.kaiwo.silogen.ai/prod serverside-applied (server dry run)',
    );
  });

  it("the README's install and upgrade recipes work as written, and NOTES.txt tells how to read status", async () => {
    const env = { ...process.env, KUBECONFIG: cluster.kubeconfigPath, PATH: `${dirname(helm)}:${process.env.PATH ?? ''}` };
    try {
      const install = await sh('bash', ['-euo', 'pipefail', '-c', readmeBlock('helm install kaiwo-monitor')], env);
      expect(install.code, install.stderr).to.equal(0);
      expect(install.stdout).to.include('STATUS: deployed');
      for (const line of [
        'kubectl get kaiwomonitors',
        'kubectl describe kmon default',
        'kubectl events -n default --for kaiwomonitor/default',
        'helm upgrade',
      ]) {
        expect(install.stdout, `NOTES: ${line}`).to.include(line);
      }
      const upgrade = await sh('bash', ['-euo', 'pipefail', '-c', readmeBlock('helm upgrade kaiwo-monitor')], env);
      expect(upgrade.code, upgrade.stderr).to.equal(0);
      expect(upgrade.stdout).to.include(
        'customresourcedefinition.apiextensions.k8s.io/kaiwomonitors.monitoring.kaiwo.silogen.ai serverside-applied',
      );
      expect(upgrade.stdout).to.include('REVISION: 2');
      const list = await sh(helm, ['list', '-n', 'kaiwo-monitor-system', '-o', 'json'], env);
      expect((JSON.parse(list.stdout) as { name: string; status: string }[]).map((r) => `${r.name}=${r.status}`)).to.deep.equal([
        'kaiwo-monitor=deployed',
      ]);
      expect(await kubectl(cluster.kubeconfigPath, ['get', 'kaiwomonitor', 'default', '-o', 'name'])).to.equal(
        'kaiwomonitor.monitoring.kaiwo.silogen.ai/default\n',
      );
    } finally {
      await sh(helm, ['uninstall', 'kaiwo-monitor', '-n', 'kaiwo-monitor-system'], env);
    }
    const off = await sh(helm, ['install', 'kmon-off', chart, '-n', ns, '--set', 'metrics.bindAddress=0', '--dry-run'], env);
    expect(off.stdout).to.include('Metrics are off (metrics.bindAddress=0)');
  });
});
