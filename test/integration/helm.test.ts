import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { Cluster } from '../../src/dev/backend.js';
import { installCrds, prometheusOperatorCrds } from '../../src/dev/crds.js';
import { repoRoot } from '../../src/dev/paths.js';
import { toolBinary } from '../../src/dev/binaries.js';
import { kubectl } from '../support/commands.js';
import { sharedCluster, skipWithoutBackend } from '../support/cluster.js';

const run = promisify(execFile);
const chart = join(repoRoot, 'charts', 'kaiwo-monitor');
interface Obj { kind: string; metadata: { name: string; namespace?: string }; spec?: Record<string, unknown>; rules?: unknown; data?: Record<string, string> }

/** kubectl apply --server-side, for real or as a server dry-run. */
const kubectlApply = (kubeconfig: string, yaml: string, dryRun: boolean) =>
  kubectl(kubeconfig, ['apply', '--server-side', '--force-conflicts', ...(dryRun ? ['--dry-run=server'] : []), '-f', '-'], yaml);

describe('integration: Helm chart rendered by a real helm (built from its Go module)', function () {
  this.timeout(300_000);
  before(skipWithoutBackend);
  let cluster: Cluster;
  let helm: string;
  const ns = 'kaiwo-monitor-helm';
  const template = async (values?: object) => {
    const args = ['template', 'kmon', chart, '-n', ns];
    if (values) {
      const f = join(mkdtempSync(join(tmpdir(), 'kaiwo-monitor-values-')), 'values.yaml');
      writeFileSync(f, stringify(values));
      args.push('-f', f);
    }
    const { stdout } = await run(helm, args);
    return { yaml: stdout, objects: parseAllDocuments(stdout).map((d) => d.toJS() as Obj).filter(Boolean) };
  };

  before(async () => {
    cluster = await sharedCluster();
    helm = await toolBinary('helm');
    await installCrds(cluster.kubeConfig(), (await prometheusOperatorCrds()).crds);
    await kubectlApply(cluster.kubeconfigPath, stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }), false);
  });

  it('renders the defaults like config/default and they apply (server-side dry-run)', async () => {
    const { yaml, objects } = await template();
    const kinds = objects.map((o) => o.kind).sort();
    expect(kinds).to.deep.equal(['ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'Deployment', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'ServiceAccount']);
    const d = objects.find((o) => o.kind === 'Deployment') as unknown as { spec: { replicas: number; template: { spec: { containers: { args: string[] }[] } } } };
    expect(d.spec.replicas).to.equal(2);
    expect(d.spec.template.spec.containers[0]?.args).to.include.members(['run', '--leader-elect=true', '--metrics-bind-address=:8443', '--metrics-secure=true', '--health-probe-bind-address=:8081']);
    const role = objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name.endsWith('-manager'));
    const kustomizeRules = (parse(readFileSync(join(repoRoot, 'config/rbac/role.yaml'), 'utf8')) as { rules: unknown }).rules;
    expect(role?.rules, 'same least-privilege rules as config/rbac').to.deep.equal(kustomizeRules);
    expect(await kubectlApply(cluster.kubeconfigPath, yaml, true)).to.include('deployment.apps/kmon-kaiwo-monitor serverside-applied (server dry run)');
  });

  it('honours non-default values: monitoring toggles, a default KaiwoMonitor, token Secret access, no leader election', async () => {
    const { yaml, objects } = await template({
      replicaCount: 1, image: { tag: 'v9.9.9' }, leaderElection: { enabled: false },
      serviceMonitor: { enabled: true }, prometheusRule: { enabled: true }, dashboard: { enabled: true },
      defaultMonitor: { create: true, name: 'prod', spec: { gpuNodes: { minReadyPercent: 95 } } },
      metricsTokenSecret: { namespace: 'kaiwo-system', name: 'metrics-token' }, logFormat: 'console',
    });
    const byKind = (k: string) => objects.filter((o) => o.kind === k);
    expect(byKind('ServiceMonitor')).to.have.length(1);
    expect(byKind('PrometheusRule')).to.have.length(1);
    expect(byKind('ConfigMap')[0]?.data?.['kaiwo-monitor.json']).to.include('kaiwo_monitor_condition');
    expect(byKind('KaiwoMonitor').map((m) => [m.metadata.name, m.spec])).to.deep.equal([['prod', { gpuNodes: { minReadyPercent: 95 } }]]);
    const secretRole = byKind('Role').find((r) => r.metadata.namespace === 'kaiwo-system');
    expect(secretRole?.rules).to.deep.equal([{ apiGroups: [''], resources: ['secrets'], resourceNames: ['metrics-token'], verbs: ['get'] }]);
    expect(byKind('Role').some((r) => r.metadata.name.endsWith('leader-election'))).to.equal(false);
    const d = byKind('Deployment')[0] as unknown as { spec: { replicas: number; template: { spec: { containers: { image: string; args: string[] }[] } } } };
    expect(d.spec.replicas).to.equal(1);
    expect(d.spec.template.spec.containers[0]?.image).to.equal('ghcr.io/silogen/kaiwo-monitor:v9.9.9');
    expect(d.spec.template.spec.containers[0]?.args).to.include.members(['--leader-elect=false', '--log-format=console']);
    await kubectlApply(cluster.kubeconfigPath, stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kaiwo-system' } }), false);
    expect(await kubectlApply(cluster.kubeconfigPath, yaml, true)).to.include('kaiwomonitor.monitoring.kaiwo.silogen.ai/prod serverside-applied (server dry run)');
  });

  it('installs and uninstalls with helm on the local control plane', async () => {
    const env = { ...process.env, KUBECONFIG: cluster.kubeconfigPath };
    const install = await run(helm, ['install', 'kmon', chart, '-n', ns, '--set', 'defaultMonitor.create=true'], { env });
    expect(install.stdout).to.include('STATUS: deployed');
    const list = await run(helm, ['list', '-n', ns, '-o', 'json'], { env });
    expect((JSON.parse(list.stdout) as { name: string; status: string }[]).map((r) => `${r.name}=${r.status}`)).to.deep.equal(['kmon=deployed']);
    await run(helm, ['uninstall', 'kmon', '-n', ns], { env });
  });
});
