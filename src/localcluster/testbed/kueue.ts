import type { KubeConfig } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { get } from 'node:http';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { LocalControlPlane } from '../controlplane.js';
import { goModuleDir } from '../gomod.js';
import { cacheRoot } from '../paths.js';
import { freePort } from '../ports.js';
import { ManagedProcess } from '../process.js';
import { rawJson } from '../../runtime/rawrequest.js';
import { apply, serviceAccountToken } from './apply.js';
import { LoopbackService, PodBackedProcesses } from './backing.js';
import { kustomize, type Manifest } from './kustomize.js';
import { b64, issueServing } from './pki.js';

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(url, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => {
      resolve(false);
    });
    req.on('timeout', () => req.destroy());
  });
}

export const KUEUE_NAMESPACE = 'kueue-system';
export const KUEUE_LEASE = 'c1f6bfd2.kueue.x-k8s.io';
const KUEUE_POD_SELECTOR = 'control-plane=controller-manager';
/** Kueue hard-codes its metrics certificate path when its internal cert management is off. */
const METRICS_CERT_DIR = '/etc/kueue/metrics/certs';

/** Pins a controller Deployment's pods to the test bed's CPU node (the GPU nodes are for workloads and faults). */
export const onSystemNode = {
  patch: JSON.stringify([{ op: 'add', path: '/spec/template/spec/nodeSelector', value: { 'node-role.kubernetes.io/system': '' } }]),
  target: { kind: 'Deployment' },
};

interface Webhook {
  name: string;
  clientConfig: { service?: { path?: string }; url?: string; caBundle?: string };
}

/**
 * Kueue's webhooks for its own API and batch/Job (the integrations this test bed enables), pointed at a loopback
 * URL. Kueue's CRD conversion webhook is not installed (the base CRDs have none): clients use the stored version.
 */
export function loopbackWebhooks(m: Manifest, baseUrl: string, caPem: string): Manifest {
  const hooks = ((m as { webhooks?: Webhook[] }).webhooks ?? []).filter((w) => {
    const path = w.clientConfig.service?.path ?? '';
    return path.includes('-kueue-x-k8s-io-') || path.endsWith('-batch-v1-job');
  });
  return {
    ...m,
    // matchPolicy Exact: the CRDs carry no conversion webhook here, so a v1beta1 hook must not be handed a v1beta2
    // object with only its apiVersion rewritten (Kueue 0.19's v1beta1 defaulting then writes v1beta1-only values).
    webhooks: hooks.map((w) => ({
      ...w,
      matchPolicy: 'Exact',
      clientConfig: { url: `${baseUrl}${w.clientConfig.service?.path ?? '/'}`, caBundle: b64(caPem) },
    })),
  };
}

/**
 * Kueue's metrics server reads its certificate from a fixed path unless Kueue manages certificates itself (which
 * needs kubelet to mount a Secret and a webhook Service DNS name). The test bed writes a self-signed pair there
 * once (root on dev machines and CI); the monitor scrapes it with insecureSkipVerify, like upstream's ServiceMonitor.
 */
async function ensureMetricsCert(pkiDir: string): Promise<void> {
  const crt = join(METRICS_CERT_DIR, 'tls.crt');
  if (existsSync(crt) && existsSync(join(METRICS_CERT_DIR, 'tls.key'))) return;
  const cached = join(cacheRoot(), 'testbed', 'kueue-metrics-certs');
  await mkdir(cached, { recursive: true });
  if (!existsSync(join(cached, 'tls.crt'))) {
    const c = await issueServing(pkiDir, 'kueue-metrics', 'kueue-metrics');
    await writeFile(join(cached, 'tls.key'), c.key, { mode: 0o600 });
    await writeFile(join(cached, 'tls.crt'), c.cert);
  }
  try {
    await mkdir(METRICS_CERT_DIR, { recursive: true });
    for (const f of ['tls.key', 'tls.crt']) {
      const tmp = join(METRICS_CERT_DIR, `.${f}.${process.pid}`);
      await writeFile(tmp, await readFile(join(cached, f)), { mode: 0o600 });
      await rename(tmp, join(METRICS_CERT_DIR, f));
    }
  } catch (err) {
    throw new Error(
      `Kueue reads its metrics certificate from ${METRICS_CERT_DIR} (hard-coded when its internal cert management is off): ` +
        `cannot write it (${(err as Error).message}); run as root or create that directory writable`,
      { cause: err },
    );
  }
}

export interface KueueOptions {
  version: string;
  /** Directory with the `kueue` binary built for `version`. */
  bin: string;
  log?: (m: string) => void;
  /** Fields merged into Kueue's Configuration (config.kueue.x-k8s.io/v1beta1), e.g. `waitForPodsReady`. */
  config?: Record<string, unknown>;
}

/**
 * The real Kueue manager on the test bed: its RBAC, Deployment, metrics Service and webhooks from its own module
 * (config/components, rendered with kustomize as config/default does: kueue-system, kueue- prefix, its labels);
 * the Deployment's pods run on kwok, and for each Ready pod one `kueue` process runs on loopback with that pod's
 * ServiceAccount token (real RBAC), leader election on the c1f6bfd2.kueue.x-k8s.io Lease, HTTPS metrics behind
 * TokenReview/SubjectAccessReview and its webhooks (for Kueue's API and batch/Job) reached through a loopback
 * Service with a caBundle from the test bed's CA.
 */
export class Kueue {
  readonly backing: PodBackedProcesses;
  readonly webhookService: LoopbackService;
  readonly metricsService: LoopbackService;
  /** v1beta1 up to Kueue 0.15, v1beta2 (storage) after. */
  readonly apiVersion: 'v1beta1' | 'v1beta2';
  readonly logFile: string;

  constructor(
    private readonly cp: LocalControlPlane,
    private readonly kc: KubeConfig,
    private readonly opts: KueueOptions,
  ) {
    const minor = Number(/^v0\.(\d+)\./.exec(opts.version)?.[1] ?? '0');
    this.apiVersion = minor >= 16 ? 'v1beta2' : 'v1beta1';
    this.logFile = join(cp.dir, 'kueue.log');
    this.backing = new PodBackedProcesses(kc, {
      namespace: KUEUE_NAMESPACE,
      labelSelector: KUEUE_POD_SELECTOR,
      spawn: (pod) => this.spawn(pod),
      log: opts.log,
    });
    this.webhookService = new LoopbackService('kueue-webhook-service', this.backing, 'webhook');
    this.metricsService = new LoopbackService('kueue-controller-manager-metrics-service', this.backing, 'metrics');
  }

  get metricsUrl(): string {
    return `https://127.0.0.1:${this.metricsService.port}/metrics`;
  }

  private token = '';
  private certDir = '';

  async install(): Promise<void> {
    const root = await goModuleDir('sigs.k8s.io/kueue', this.opts.version);
    const def = parse(await readFile(join(root, 'config', 'default', 'kustomization.yaml'), 'utf8')) as Record<string, unknown>;
    const patches = ['manager_config_patch.yaml', 'manager_webhook_patch.yaml']
      .filter((f) => existsSync(join(root, 'config', 'default', f)))
      .map((f) => ({ path: `@DEFAULT@/${f}` }));
    const configurations = existsSync(join(root, 'config', 'default', 'webhook_name_reference.yaml'))
      ? ['@DEFAULT@/webhook_name_reference.yaml']
      : [];
    const manifests = await kustomize(
      join(this.cp.dir, 'kueue-kustomize'),
      {
        namespace: KUEUE_NAMESPACE,
        namePrefix: 'kueue-',
        images: def.images,
        labels: def.labels,
        resources: ['@COMPONENTS@/rbac', '@COMPONENTS@/manager', '@COMPONENTS@/webhook', '@DEFAULT@/metrics_service.yaml'],
        patches: [...patches, onSystemNode],
        configurations,
      },
      { '@COMPONENTS@': join(root, 'config', 'components'), '@DEFAULT@': join(root, 'config', 'default') },
    );

    const pki = join(this.cp.dir, 'pki');
    const serving = await issueServing(pki, 'kueue-webhook', 'kueue-webhook-service.kueue-system.svc');
    this.certDir = join(this.cp.dir, 'kueue-webhook-certs');
    await mkdir(this.certDir, { recursive: true });
    await writeFile(join(this.certDir, 'tls.crt'), serving.cert);
    await writeFile(join(this.certDir, 'tls.key'), serving.key, { mode: 0o600 });
    await ensureMetricsCert(pki);

    await this.webhookService.start();
    await this.metricsService.start();
    const ca = await readFile(join(pki, 'ca.crt'), 'utf8');
    const base = `https://127.0.0.1:${this.webhookService.port}`;
    const rendered = manifests.map((m) => (m.kind.endsWith('WebhookConfiguration') ? loopbackWebhooks(m, base, ca) : m));
    // What cert-manager would create for the Deployment's volume.
    rendered.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'kueue-webhook-server-cert', namespace: KUEUE_NAMESPACE },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64(serving.cert), 'tls.key': b64(serving.key), 'ca.crt': b64(ca) },
    });
    await apply(this.kc, rendered);
    if (this.apiVersion === 'v1beta2') await this.conversionWebhook(root, base, ca);
    this.token = await serviceAccountToken(this.kc, KUEUE_NAMESPACE, 'kueue-controller-manager');
    this.backing.start();
  }

  /**
   * Kueue >= 0.16 stores v1beta2 and still serves v1beta1 through its CRD conversion webhook (the CRDs its
   * config/components/crd patches name, `/convert` on its webhook server): what a v1beta1 client such as Kaiwo
   * needs. Pointed at the loopback webhook Service with the test bed CA, as cert-manager's CA injection would.
   */
  private async conversionWebhook(root: string, baseUrl: string, caPem: string): Promise<void> {
    const k = parse(await readFile(join(root, 'config', 'components', 'crd', 'kustomization.yaml'), 'utf8')) as {
      patches?: { path?: string }[];
    };
    const plurals = (k.patches ?? []).map((p) => /webhook_in_([a-z]+)\.yaml$/.exec(p.path ?? '')?.[1]).filter((x): x is string => !!x);
    for (const plural of plurals) {
      await rawJson(this.kc, {
        method: 'PATCH',
        path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${plural}.kueue.x-k8s.io`,
        contentType: 'application/merge-patch+json',
        body: {
          spec: {
            conversion: {
              strategy: 'Webhook',
              webhook: { conversionReviewVersions: ['v1'], clientConfig: { url: `${baseUrl}/convert`, caBundle: b64(caPem) } },
            },
          },
        },
      });
    }
  }

  private async spawn(pod: string): Promise<{ process: ManagedProcess; ports: Record<string, number> }> {
    const ports = { health: await freePort(), metrics: await freePort(), webhook: await freePort() };
    const dir = join(this.cp.dir, 'kueue', pod);
    await mkdir(dir, { recursive: true });
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, this.cp.tokenKubeconfigYaml(this.token, 'kueue-controller-manager'), { mode: 0o600 });
    const config = join(dir, 'config.yaml');
    await writeFile(
      config,
      JSON.stringify(
        {
          apiVersion: 'config.kueue.x-k8s.io/v1beta1',
          kind: 'Configuration',
          namespace: KUEUE_NAMESPACE,
          health: { healthProbeBindAddress: `127.0.0.1:${ports.health}` },
          metrics: { bindAddress: `127.0.0.1:${ports.metrics}`, enableClusterQueueResources: true },
          webhook: { host: '127.0.0.1', port: ports.webhook, certDir: this.certDir },
          leaderElection: {
            leaderElect: true,
            resourceName: KUEUE_LEASE,
            resourceNamespace: KUEUE_NAMESPACE,
            leaseDuration: '15s',
            renewDeadline: '10s',
            retryPeriod: '2s',
          },
          internalCertManagement: { enable: false },
          integrations: { frameworks: ['batch/job'] },
          ...this.opts.config,
        },
        null,
        2,
      ),
    );
    const process = new ManagedProcess(
      `kueue ${pod}`,
      join(this.opts.bin, 'kueue'),
      [`--config=${config}`, `--kubeconfig=${kubeconfig}`, '--feature-gates=VisibilityOnDemand=false', '--zap-log-level=info'],
      this.logFile,
    );
    return { process, ports };
  }

  /** Resolves when a Kueue process runs and holds the leader Lease. */
  async waitLeader(timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const [b] = await this.backing.waitFor(1, timeoutMs);
    for (;;) {
      if (b?.ports.health && (await httpOk(`http://127.0.0.1:${b.ports.health}/readyz`))) break;
      if (Date.now() > deadline) throw new Error(`Kueue not ready within ${timeoutMs / 1000}s; see ${this.logFile}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    for (;;) {
      const lease = await rawJson<{ spec?: { holderIdentity?: string; renewTime?: string } }>(this.kc, {
        method: 'GET',
        path: `/apis/coordination.k8s.io/v1/namespaces/${KUEUE_NAMESPACE}/leases/${KUEUE_LEASE}`,
      }).catch(() => undefined);
      const renewed = lease?.spec?.renewTime ? Date.parse(lease.spec.renewTime) : 0;
      if (lease?.spec?.holderIdentity && Date.now() - renewed < 5000) return;
      if (Date.now() > deadline) throw new Error(`Kueue took no leader Lease within ${timeoutMs / 1000}s; see ${this.logFile}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async stop(): Promise<void> {
    await this.backing.stop();
    await this.webhookService.stop();
    await this.metricsService.stop();
  }
}
