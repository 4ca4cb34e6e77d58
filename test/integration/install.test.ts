import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import type { Cluster } from '../../src/localcluster/backend.js';
import { installCrds, prometheusOperatorCrds } from '../../src/localcluster/crds.js';
import { repoRoot } from '../../src/localcluster/paths.js';
import { toolBinary } from '../../src/localcluster/binaries.js';
import { SimulatedStack } from '../support/fakes/simulate.js';
import { loadKubeConfig } from '../../src/runtime/kubeconfig.js';
import { rawJson, rawRequest } from '../../src/runtime/rawrequest.js';
import { kubectl } from '../support/commands.js';
import { sharedCluster, skipWithoutBackend } from '../support/cluster.js';
import { Monitors } from '../support/fakes/monitors.js';
import { OperatorProcess } from '../support/operator.js';
import { MonitorRecorder } from '../support/fakes/scenarios.js';

const run = promisify(execFile);

const render = (dir: string) => run('kubectl', ['kustomize', join(repoRoot, 'config', dir)]).then((r) => r.stdout);

describe('integration: install manifests and least-privilege RBAC', function () {
  this.timeout(180_000);
  before(skipWithoutBackend);
  let cluster: Cluster;

  before(async () => {
    cluster = await sharedCluster();
  });

  it('renders config/default and applies it with server-side dry-run', async () => {
    const yaml = await render('default');
    const kinds = parseAllDocuments(yaml)
      .map((d) => d.toJS() as { kind: string; metadata: { name: string } })
      .map((o) => `${o.kind}/${o.metadata.name}`);
    expect(kinds).to.include.members([
      'Namespace/kaiwo-monitor-system',
      'ServiceAccount/kaiwo-monitor-controller-manager',
      'ClusterRole/kaiwo-monitor-manager-role',
      'ClusterRole/kaiwo-monitor-metrics-reader',
      'Role/kaiwo-monitor-leader-election-role',
      'Deployment/kaiwo-monitor-controller-manager',
      'PodDisruptionBudget/kaiwo-monitor-controller-manager',
      'Service/kaiwo-monitor-metrics-service',
      'CustomResourceDefinition/kaiwomonitors.monitoring.kaiwo.silogen.ai',
    ]);
    // A dry-run cannot create the Namespace its other objects go into: create that one for real first.
    const ns = parseAllDocuments(yaml)
      .filter((d) => (d.toJS() as { kind: string }).kind === 'Namespace')
      .map((d) => d.toString())
      .join('---\n');
    await kubectl(cluster.kubeconfigPath, ['apply', '--server-side', '-f', '-'], ns);
    const out = await kubectl(cluster.kubeconfigPath, ['apply', '--server-side', '--force-conflicts', '--dry-run=server', '-f', '-'], yaml);
    expect(out).to.include('deployment.apps/kaiwo-monitor-controller-manager serverside-applied (server dry run)');
  });

  it('hardens the Deployment: 2 replicas, leader election, secure metrics, probes, non-root, read-only, no capabilities', async () => {
    interface Deployment {
      kind: string;
      spec: {
        replicas: number;
        template: {
          spec: {
            securityContext: Record<string, unknown>;
            containers: {
              args: string[];
              securityContext: Record<string, unknown>;
              resources: Record<string, unknown>;
              livenessProbe: { httpGet: { port: number } };
            }[];
          };
        };
      };
    }
    const d = parseAllDocuments(await render('default'))
      .map((x) => x.toJS() as Deployment)
      .find((o) => o.kind === 'Deployment');
    if (!d) throw new Error('no Deployment rendered');
    const c = d.spec.template.spec.containers[0];
    expect(d.spec.replicas).to.equal(2);
    expect(c?.args).to.include.members(['--leader-elect', '--metrics-bind-address=:8443', '--health-probe-bind-address=:8081']);
    expect(c?.livenessProbe.httpGet.port).to.equal(8081);
    expect(c?.securityContext).to.deep.include({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(d.spec.template.spec.securityContext).to.deep.equal({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c?.resources).to.have.keys(['requests', 'limits']);
  });

  it('applies the ServiceMonitor, PrometheusRule and dashboard (dry-run), and promtool accepts the alert rules', async () => {
    await installCrds(cluster.kubeConfig(), (await prometheusOperatorCrds()).crds);
    for (const dir of ['prometheus', 'alerts', 'grafana']) {
      const out = await kubectl(cluster.kubeconfigPath, ['apply', '--server-side', '--dry-run=server', '-f', '-'], await render(dir));
      expect(out, dir).to.include('(server dry run)');
    }
    const rule = parseAllDocuments(await render('alerts'))[0]?.toJS() as { spec: unknown };
    const file = join(mkdtempSync(join(tmpdir(), 'kaiwo-monitor-rules-')), 'rules.yaml');
    writeFileSync(file, stringify(rule.spec));
    const check = await run(await toolBinary('prometheus', 'promtool'), ['check', 'rules', file]);
    expect(check.stdout).to.match(/SUCCESS: 8 rules found/);
    const dash = parseAllDocuments(await render('grafana'))[0]?.toJS() as {
      metadata: { labels: Record<string, string> };
      data: Record<string, string>;
    };
    expect(dash.metadata.labels.grafana_dashboard).to.equal('1');
    interface Panel {
      targets?: { expr: string }[];
      panels?: Panel[];
    }
    const queries = (panels: Panel[]): string[] =>
      panels.flatMap((p) => [...(p.targets ?? []).map((t) => t.expr), ...queries(p.panels ?? [])]);
    const exprs = queries((JSON.parse(dash.data['kaiwo-monitor.json'] ?? '{}') as { panels: Panel[] }).panels).join('\n');
    for (const m of [
      'kaiwo_monitor_condition',
      'kaiwo_monitor_findings',
      'kaiwo_monitor_summary',
      'kueue_pending_workloads',
      'kaiwo_monitor_event_to_status_seconds_bucket',
      'controller_runtime_reconcile_time_seconds_bucket',
    ]) {
      expect(exprs).to.include(m);
    }
  });

  describe('the operator running as its own ServiceAccount', () => {
    let sim: SimulatedStack;
    let op: OperatorProcess;
    let saKubeconfig: string;
    let recorder: MonitorRecorder;

    before(async () => {
      await kubectl(cluster.kubeconfigPath, ['apply', '--server-side', '--force-conflicts', '-f', '-'], await render('default'));
      const kc = cluster.kubeConfig();
      const tr = await rawJson<{ status: { token: string } }>(kc, {
        method: 'POST',
        path: '/api/v1/namespaces/kaiwo-monitor-system/serviceaccounts/kaiwo-monitor-controller-manager/token',
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
      });
      if (!cluster.local) throw new Error('needs the local control plane');
      saKubeconfig = join(mkdtempSync(join(tmpdir(), 'kaiwo-monitor-sa-')), 'kubeconfig');
      writeFileSync(saKubeconfig, cluster.local.tokenKubeconfigYaml(tr.status.token, 'kaiwo-monitor-controller-manager'), { mode: 0o600 });
      sim = new SimulatedStack(kc, { label: 'rbac', workloadNamespace: 'ml-rbac' });
      await sim.install();
      const metrics = await sim.startOperatorMetrics();
      await new Monitors(kc).create(
        'as-serviceaccount',
        sim.monitorSpec({
          operator: {
            metrics: {
              enabled: true,
              url: metrics.url,
              interval: '2s',
              timeout: '1s',
              tls: { insecureSkipVerify: true },
              bearerToken: { source: 'ServiceAccount' },
            },
          },
        }),
      );
      recorder = new MonitorRecorder(kc, 'as-serviceaccount');
      recorder.start();
      op = await OperatorProcess.start(saKubeconfig, ['--leader-elect', '--leader-election-namespace=kaiwo-monitor-system'], {
        metrics: true,
      });
    });

    after(async () => {
      await op.stop();
      await recorder.stop();
      await sim.stop();
      await new Monitors(cluster.kubeConfig()).delete('as-serviceaccount');
    });

    it('evaluates every check with only its RBAC (Kaiwo metrics scraped with its own token)', async () => {
      const ok = await recorder.when('Healthy', 'True', 0, 60_000).catch(() => undefined);
      const conds = recorder.seen.at(-1)?.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`) ?? [];
      expect(
        ok,
        `conditions: ${conds.join(', ')}; operator log: ${op.raw
          .filter((l) => /warn|error/.test(l))
          .slice(-5)
          .join('\n')}`,
      ).to.not.equal(undefined);
      expect(conds).to.include.members([
        'Ready=True/Reconciled',
        'KaiwoOperatorHealthy=True/OperatorHealthy',
        'KueueHealthy=True/KueueHealthy',
        'GPUNodesHealthy=True/GPUNodesHealthy',
        'WorkloadsHealthy=True/WorkloadsHealthy',
      ]);
      expect(
        op.lines.map((l) => l.msg),
        'operator log messages',
      ).to.include('acquired leader lease');
      expect(op.raw.join('\n')).to.not.match(/forbidden/i);
    });

    it('writes Events and status under RBAC when a fault appears', async () => {
      const t0 = Date.now();
      await sim.setClusterQueueActive(false);
      const hit = await recorder.when('KueueHealthy', 'False', t0);
      expect(hit.condition.reason).to.equal('ClusterQueueInactive');
      await sim.setClusterQueueActive(true);
      await recorder.when('KueueHealthy', 'True', Date.now());
      // The healing status comes from a later reconcile than the fault's, so the fault's Event is written by now.
      const events = await rawJson<{ items: { type: string; metadata: { creationTimestamp: string } }[] }>(cluster.kubeConfig(), {
        method: 'GET',
        path: `/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent('involvedObject.name=as-serviceaccount,reason=ClusterQueueInactive')}`,
      });
      expect(
        events.items.filter((e) => Date.parse(e.metadata.creationTimestamp) >= Math.floor(t0 / 1000) * 1000).map((e) => e.type),
      ).to.deep.equal(['Warning']);
      expect(op.lines.filter((l) => l.msg === 'failed to write event')).to.deep.equal([]);
    });

    it('is denied anything outside its rules', async () => {
      const kc = await loadKubeConfig(saKubeconfig);
      const denied = async (method: string, path: string, body?: unknown, contentType?: string) =>
        (await rawRequest(kc, { method, path, ...(body ? { body } : {}), ...(contentType ? { contentType } : {}) })).status;
      expect(await denied('GET', '/api/v1/namespaces/kaiwo-system/secrets')).to.equal(403);
      expect(await denied('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'x' } })).to.equal(403);
      expect(
        await denied('PATCH', '/api/v1/nodes/mi300x-0', { metadata: { labels: { x: 'y' } } }, 'application/merge-patch+json'),
      ).to.equal(403);
      expect(
        await denied(
          'PATCH',
          '/apis/monitoring.kaiwo.silogen.ai/v1alpha1/kaiwomonitors/as-serviceaccount',
          { spec: { interval: '1m' } },
          'application/merge-patch+json',
        ),
      ).to.equal(403);
      expect(
        await denied('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases', { metadata: { name: 'x' }, spec: {} }),
      ).to.equal(403);
      expect(await denied('DELETE', `/apis/kueue.x-k8s.io/v1beta2/clusterqueues/${sim.cq}`)).to.equal(403);
      // …while what it needs is allowed.
      expect(await denied('GET', '/apis/kueue.x-k8s.io/v1beta2/clusterqueues')).to.equal(200);
    });
  });
});
