import type { KubeConfig } from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalControlPlane } from '../controlplane.js';
import { kaiwoUpstreamDir } from '../crds.js';
import { repoRoot } from '../paths.js';
import { freePort } from '../ports.js';
import { ManagedProcess } from '../process.js';
import { rawJson } from '../../runtime/rawrequest.js';
import { apply, serviceAccountToken } from './apply.js';
import { LoopbackService, PodBackedProcesses } from './backing.js';
import { onSystemNode } from './kueue.js';
import { kustomize, type Manifest } from './kustomize.js';
import { b64, issueServing } from './pki.js';

export const KAIWO_NAMESPACE = 'kaiwo-system';
/** tsx's ESM loader (works whether this module was loaded as ESM or by tsx's CommonJS hook under mocha). */
const TSX_LOADER = pathToFileURL(createRequire(join(repoRoot, 'package.json')).resolve('tsx')).href;
/** controller-runtime's leader election ID of the Kaiwo operator. */
export const KAIWO_LEASE = '83fc2279.silogen.ai';


export interface KaiwoOptions {
  /** Kaiwo version whose config/ layout is installed (default v0.1.9). */
  version?: string;
  /** Kueue API version the stand-in writes (what the installed Kueue stores). */
  kueueApiVersion: 'v1beta1' | 'v1beta2';
  log?: (m: string) => void;
}

/**
 * Kaiwo's own install layout from ../shared/upstream/kaiwo/<version>/config, rendered like config/default
 * (kaiwo-system, kaiwo- prefix, metrics on :8443 with the metrics-server-cert Secret) without the parts that
 * need cert-manager, Prometheus Operator or a webhook Service; plus kaiwo-scheduler's Deployment from
 * config/static/scheduler. The Deployment's pods run on kwok; each Ready pod is backed by one stand-in operator
 * process (kaiwo-operator.ts) with the pod's ServiceAccount token, reached through a loopback metrics Service.
 */
export class Kaiwo {
  readonly backing: PodBackedProcesses;
  readonly metricsService: LoopbackService;
  readonly logFile: string;
  private token = '';
  private certDir = '';

  constructor(private readonly cp: LocalControlPlane, private readonly kc: KubeConfig, private readonly opts: KaiwoOptions) {
    this.logFile = join(cp.dir, 'kaiwo.log');
    this.backing = new PodBackedProcesses(kc, {
      namespace: KAIWO_NAMESPACE, labelSelector: 'control-plane=kaiwo-controller-manager', spawn: (pod) => this.spawn(pod), log: opts.log,
    });
    this.metricsService = new LoopbackService('kaiwo-controller-manager-metrics-service', this.backing, 'metrics');
  }

  get metricsUrl(): string {
    return `https://127.0.0.1:${this.metricsService.port}/metrics`;
  }

  async install(): Promise<void> {
    const upstream = kaiwoUpstreamDir(this.opts.version ?? 'v0.1.9');
    const config = join(upstream, 'config');
    if (!existsSync(config)) throw new Error(`Kaiwo's install layout is missing: ${config} (the test bed reads ../shared/upstream)`);
    const manifests = await kustomize(join(this.cp.dir, 'kaiwo-kustomize'), {
      namespace: KAIWO_NAMESPACE, namePrefix: 'kaiwo-',
      resources: ['@CONFIG@/rbac', '@CONFIG@/manager', '@CONFIG@/default/metrics_service.yaml'],
      patches: [
        { path: '@CONFIG@/default/manager_metrics_patch.yaml', target: { kind: 'Deployment' } },
        { path: '@CONFIG@/default/cert_metrics_manager_patch.yaml', target: { kind: 'Deployment' } },
        onSystemNode,
      ],
    }, { '@CONFIG@': config });
    const scheduler = await kustomize(join(this.cp.dir, 'kaiwo-scheduler-kustomize'), {
      resources: ['@STATIC@/scheduler/kaiwo-scheduler.yaml'], patches: [onSystemNode],
    }, { '@STATIC@': join(config, 'static') });

    // What cert-manager's Certificate metrics-certs would put in Secret metrics-server-cert.
    const pki = join(this.cp.dir, 'pki');
    const serving = await issueServing(pki, 'kaiwo-metrics', 'kaiwo-controller-manager-metrics-service.kaiwo-system.svc');
    const ca = await readFile(join(pki, 'ca.crt'), 'utf8');
    this.certDir = join(this.cp.dir, 'kaiwo-metrics-certs');
    await mkdir(this.certDir, { recursive: true });
    await writeFile(join(this.certDir, 'tls.crt'), serving.cert);
    await writeFile(join(this.certDir, 'tls.key'), serving.key, { mode: 0o600 });
    await writeFile(join(this.certDir, 'ca.crt'), ca);
    const secret = {
      apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'metrics-server-cert', namespace: KAIWO_NAMESPACE },
      data: { 'tls.crt': b64(serving.cert), 'tls.key': b64(serving.key), 'ca.crt': b64(ca) },
    } as Manifest;
    await apply(this.kc, [...manifests, ...scheduler.filter((m) => m.kind !== 'Namespace'), secret]);
    await this.metricsService.start();
    this.token = await serviceAccountToken(this.kc, KAIWO_NAMESPACE, 'kaiwo-controller-manager');
    this.backing.start();
  }

  private async spawn(pod: string): Promise<{ process: ManagedProcess; ports: Record<string, number> }> {
    const ports = { metrics: await freePort() };
    const dir = join(this.cp.dir, 'kaiwo', pod);
    await mkdir(dir, { recursive: true });
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, this.cp.tokenKubeconfigYaml(this.token, 'kaiwo-controller-manager'), { mode: 0o600 });
    const process = new ManagedProcess(`kaiwo ${pod}`, globalThis.process.execPath, [
      `--import=${TSX_LOADER}`, join(repoRoot, 'src', 'dev', 'testbed', 'kaiwo-operator.ts'),
      `--kubeconfig=${kubeconfig}`, `--identity=${pod}_${randomUUID()}`, `--metrics-bind-address=127.0.0.1:${ports.metrics}`,
      `--metrics-cert-path=${this.certDir}`, `--kueue-version=${this.opts.kueueApiVersion}`,
    ], this.logFile);
    return { process, ports };
  }

  /** Resolves when a stand-in process of a current pod holds the Kaiwo leader Lease and renews it. */
  async waitLeader(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lease = await rawJson<{ spec?: { holderIdentity?: string; renewTime?: string } }>(this.kc, {
        method: 'GET', path: `/apis/coordination.k8s.io/v1/namespaces/${KAIWO_NAMESPACE}/leases/${KAIWO_LEASE}`,
      }).catch(() => undefined);
      const holder = lease?.spec?.holderIdentity?.split('_')[0] ?? '';
      const renewed = lease?.spec?.renewTime ? Date.parse(lease.spec.renewTime) : 0;
      if (this.backing.backends.has(holder) && Date.now() - renewed < 5000) return;
      if (Date.now() > deadline) throw new Error(`the Kaiwo stand-in took no leader Lease within ${timeoutMs / 1000}s; see ${this.logFile}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async stop(): Promise<void> {
    await this.backing.stop();
    await this.metricsService.stop();
  }
}
