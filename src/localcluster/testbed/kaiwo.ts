import type { KubeConfig } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalControlPlane } from '../controlplane.js';
import { installCrds, kaiwoDependencyCrds, kaiwoUpstreamDir } from '../crds.js';
import { freePort } from '../ports.js';
import { ManagedProcess } from '../process.js';
import { rawJson } from '../../runtime/rawrequest.js';
import { apply, serviceAccountToken } from './apply.js';
import { LoopbackService, PodBackedProcesses } from './backing.js';
import { onSystemNode } from './kueue.js';
import { kustomize, type Manifest } from './kustomize.js';
import { b64, issueServing } from './pki.js';

export const KAIWO_NAMESPACE = 'kaiwo-system';
/** controller-runtime's leader election ID of the Kaiwo operator. */
export const KAIWO_LEASE = '83fc2279.silogen.ai';
export const KAIWO_PODS = 'control-plane=kaiwo-controller-manager';
/** Where controller-runtime reads the namespace of its leader-election Lease when it runs in a pod. */
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KaiwoOptions {
  /** Kaiwo release: its install layout from ../shared/upstream/kaiwo/<version> and its operator binary. */
  version: string;
  /** Directory with Kaiwo's `operator` binary built for `version` (hack/build-tool.sh kaiwo|kaiwo-next). */
  bin: string;
  log?: (m: string) => void;
}

interface PodSpec {
  spec?: { containers?: { name: string; env?: { name: string; value?: string }[] }[] };
}

/**
 * The real Kaiwo operator on the test bed. Kaiwo's own install layout from ../shared/upstream/kaiwo/<version>/config,
 * rendered like config/default (kaiwo-system, kaiwo- prefix, metrics on :8443 with the metrics-server-cert Secret)
 * without what needs cert-manager or the Prometheus Operator, plus kaiwo-scheduler's Deployment from
 * config/static/scheduler. The Deployment's pods run on kwok; each Ready pod is backed by one process of the real
 * `operator` binary, as kubelet would run its container:
 *  - as the pod's ServiceAccount (a token kubeconfig: real RBAC from Kaiwo's own Roles);
 *  - in a private mount and UTS namespace (`unshare -mu`) where the pod's hostname is the pod name (controller-runtime's
 *    leader identity is `<hostname>_<uuid>`) and the in-cluster namespace file says kaiwo-system (where
 *    controller-runtime puts the leader-election Lease; Kaiwo has no flag for it);
 *  - with the container's env from the pod and its args, the metrics and probe addresses moved to loopback ports;
 *  - with DISABLE_WEBHOOKS=true: Kaiwo's webhook server has a fixed port (9443, no flag) on every interface, so two
 *    replicas on one host (a rolling update) would collide; v0.2 and Kaiwo's Helm chart ship with webhooks off.
 * The metrics endpoint is reached through a loopback Service (TLS passes through, authn/authz by Kaiwo itself).
 */
export class Kaiwo {
  readonly backing: PodBackedProcesses;
  readonly metricsService: LoopbackService;
  readonly logFile: string;
  private token = '';
  private certDir = '';

  constructor(
    private readonly cp: LocalControlPlane,
    private readonly kc: KubeConfig,
    readonly opts: KaiwoOptions,
  ) {
    this.logFile = join(cp.dir, 'kaiwo.log');
    this.backing = new PodBackedProcesses(kc, {
      namespace: KAIWO_NAMESPACE,
      labelSelector: KAIWO_PODS,
      spawn: (pod) => this.spawn(pod),
      log: opts.log,
    });
    this.metricsService = new LoopbackService('kaiwo-controller-manager-metrics-service', this.backing, 'metrics');
  }

  get version(): string {
    return this.opts.version;
  }

  get metricsUrl(): string {
    return `https://127.0.0.1:${this.metricsService.port}/metrics`;
  }

  async install(): Promise<void> {
    const config = join(kaiwoUpstreamDir(this.opts.version), 'config');
    if (!existsSync(config)) throw new Error(`Kaiwo's install layout is missing: ${config} (the test bed reads ../shared/upstream)`);
    // The kinds Kaiwo's controllers watch besides its own (KubeRay, AppWrapper; KServe and HTTPRoute for v0.2).
    await installCrds(
      this.kc,
      (await kaiwoDependencyCrds(this.opts.version)).flatMap((s) => s.crds),
      120_000,
    );
    const manifests = await kustomize(
      join(this.cp.dir, 'kaiwo-kustomize'),
      {
        namespace: KAIWO_NAMESPACE,
        namePrefix: 'kaiwo-',
        // The image a release install runs (Kaiwo's release manifests tag it with the version; its config says v-e2e):
        // the monitor reads Kaiwo's version from the tag. No image is pulled here.
        images: [{ name: 'ghcr.io/silogen/kaiwo-operator', newTag: this.opts.version }],
        resources: ['@CONFIG@/rbac', '@CONFIG@/manager', '@CONFIG@/default/metrics_service.yaml'],
        patches: [
          { path: '@CONFIG@/default/manager_metrics_patch.yaml', target: { kind: 'Deployment' } },
          { path: '@CONFIG@/default/cert_metrics_manager_patch.yaml', target: { kind: 'Deployment' } },
          onSystemNode,
        ],
      },
      { '@CONFIG@': config },
    );
    const scheduler = await kustomize(
      join(this.cp.dir, 'kaiwo-scheduler-kustomize'),
      {
        resources: ['@STATIC@/scheduler/kaiwo-scheduler.yaml'],
        patches: [onSystemNode],
      },
      { '@STATIC@': join(config, 'static') },
    );

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
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name: 'metrics-server-cert', namespace: KAIWO_NAMESPACE },
      data: { 'tls.crt': b64(serving.cert), 'tls.key': b64(serving.key), 'ca.crt': b64(ca) },
    } as Manifest;
    await apply(this.kc, [...manifests, ...scheduler.filter((m) => m.kind !== 'Namespace'), secret]);
    await this.metricsService.start();
    this.token = await serviceAccountToken(this.kc, KAIWO_NAMESPACE, 'kaiwo-controller-manager');
    this.backing.start();
  }

  /** The `manager` container's literal env of the pod (what kubelet would pass). */
  private async podEnv(pod: string): Promise<Record<string, string>> {
    const p = await rawJson<PodSpec>(this.kc, { method: 'GET', path: `/api/v1/namespaces/${KAIWO_NAMESPACE}/pods/${pod}` });
    const c = p.spec?.containers?.find((x) => x.name === 'manager');
    return Object.fromEntries((c?.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value ?? '']));
  }

  private async spawn(pod: string): Promise<{ process: ManagedProcess; ports: Record<string, number> }> {
    const ports = { metrics: await freePort(), health: await freePort() };
    const dir = join(this.cp.dir, 'kaiwo', pod);
    await mkdir(dir, { recursive: true });
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, this.cp.tokenKubeconfigYaml(this.token, 'kaiwo-controller-manager'), { mode: 0o600 });
    const env = {
      ...(await this.podEnv(pod)),
      KUBECONFIG: kubeconfig,
      DISABLE_WEBHOOKS: 'true',
      POD_NAME: pod,
      POD_NAMESPACE: KAIWO_NAMESPACE,
    };
    // The pod's view of the machine: its hostname and the in-cluster namespace file, private to this process.
    const inPod =
      `mkdir -p ${SA_DIR} && mount -t tmpfs -o size=64k tmpfs ${SA_DIR} && printf %s "$POD_NAMESPACE" > ${SA_DIR}/namespace ` +
      '&& hostname "$POD_NAME" && exec "$@"';
    const process = new ManagedProcess(
      `kaiwo ${pod}`,
      'unshare',
      [
        '--mount',
        '--uts',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        inPod,
        'kaiwo-pod',
        join(this.opts.bin, 'operator'),
        '--leader-elect',
        `--health-probe-bind-address=127.0.0.1:${ports.health}`,
        `--metrics-bind-address=127.0.0.1:${ports.metrics}`,
        `--metrics-cert-path=${this.certDir}`,
        '--zap-log-level=info',
      ],
      this.logFile,
      env,
    );
    return { process, ports };
  }

  /** Resolves when a Kaiwo process of a current pod holds the leader Lease and renews it. */
  async waitLeader(timeoutMs = 120_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lease = await rawJson<{ spec?: { holderIdentity?: string; renewTime?: string } }>(this.kc, {
        method: 'GET',
        path: `/apis/coordination.k8s.io/v1/namespaces/${KAIWO_NAMESPACE}/leases/${KAIWO_LEASE}`,
      }).catch(() => undefined);
      const holder = lease?.spec?.holderIdentity?.split('_')[0] ?? '';
      const renewed = lease?.spec?.renewTime ? Date.parse(lease.spec.renewTime) : 0;
      if (this.backing.backends.has(holder) && Date.now() - renewed < 5000) return holder;
      if (Date.now() > deadline)
        throw new Error(`the Kaiwo operator took no leader Lease within ${timeoutMs / 1000}s; see ${this.logFile}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async stop(): Promise<void> {
    await this.backing.stop();
    await this.metricsService.stop();
  }
}
