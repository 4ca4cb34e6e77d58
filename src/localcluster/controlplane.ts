import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { type ControlPlaneBinaries, resolveBinaries } from './binaries.js';
import { generatePki, type Pki } from './certs.js';
import { freePort } from './ports.js';
import { ManagedProcess } from './process.js';

export interface LocalControlPlaneOptions {
  binaries?: ControlPlaneBinaries;
  /** State directory (certs, etcd data, logs, kubeconfig). Default: a new temp dir, removed on stop. */
  dir?: string;
  /** Give up when /readyz is not OK after this long. Default $KUBEBUILDER_CONTROLPLANE_START_TIMEOUT or 90 s. */
  startTimeoutMs?: number;
  log?: (msg: string) => void;
  /** Extra kube-apiserver flags (`--name=value`), appended after the defaults. */
  apiServerFlags?: string[];
}

const live = new Set<LocalControlPlane>();
let processHooked = false;

/** Kill every live control plane when this process ends, however it ends (test failure, Ctrl-C, exit). */
function hookProcess(): void {
  if (processHooked) return;
  processHooked = true;
  process.once('exit', () => {
    for (const cp of live) cp.killNow();
  });
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.once(signal, () => {
      void Promise.allSettled([...live].map((cp) => cp.stop())).finally(() => process.exit(code));
    });
  }
}

function parseStartTimeout(): number {
  const raw = process.env.KUBEBUILDER_CONTROLPLANE_START_TIMEOUT;
  if (!raw) return 90_000;
  const m = /^(\d+)(ms|s|m)?$/.exec(raw.trim());
  if (!m?.[1]) return 90_000;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * etcd + kube-apiserver on free 127.0.0.1 ports, with a throwaway PKI, RBAC authorization and an admin
 * (system:masters) client certificate: a real API server, the way controller-runtime's envtest runs one.
 */
export class LocalControlPlane {
  readonly dir: string;
  private readonly ownsDir: boolean;
  private readonly log: (msg: string) => void;
  private readonly startTimeoutMs: number;
  private pki: Pki | undefined;
  private etcd: ManagedProcess | undefined;
  private apiserver: ManagedProcess | undefined;
  private apiPort = 0;
  /** `gitVersion` from /version once started, e.g. v1.36.3. */
  serverVersion = '';
  /** Wall time of the last start(), in milliseconds. */
  startupMs = 0;

  constructor(private readonly opts: LocalControlPlaneOptions = {}) {
    this.ownsDir = !opts.dir;
    this.dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'kaiwo-monitor-cp-'));
    this.log = opts.log ?? (() => undefined);
    this.startTimeoutMs = opts.startTimeoutMs ?? parseStartTimeout();
  }

  get server(): string {
    return `https://127.0.0.1:${this.apiPort}`;
  }

  get kubeconfigPath(): string {
    return join(this.dir, 'kubeconfig');
  }

  get pids(): number[] {
    return [this.etcd?.pid, this.apiserver?.pid].filter((p): p is number => p !== undefined);
  }

  async start(): Promise<void> {
    const t0 = Date.now();
    hookProcess();
    live.add(this);
    try {
      const bins = this.opts.binaries ?? (await resolveBinaries(this.log));
      await mkdir(join(this.dir, 'pki'), { recursive: true });
      this.pki = await generatePki(join(this.dir, 'pki'));
      const [etcdPort, peerPort] = [await freePort(), await freePort()];
      this.apiPort = await freePort();
      const etcdUrl = `http://127.0.0.1:${etcdPort}`;
      this.etcd = new ManagedProcess(
        'etcd',
        bins.etcd,
        [
          `--data-dir=${join(this.dir, 'etcd-data')}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
          `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
          '--unsafe-no-fsync=true',
          '--log-level=warn',
        ],
        join(this.dir, 'etcd.log'),
      );
      this.etcd.start();
      await this.waitFor(this.etcd, () => this.etcdHealthy(etcdUrl));

      this.apiserver = new ManagedProcess(
        'kube-apiserver',
        bins.kubeApiServer,
        [
          `--etcd-servers=${etcdUrl}`,
          `--secure-port=${this.apiPort}`,
          '--bind-address=127.0.0.1',
          '--advertise-address=127.0.0.1',
          '--endpoint-reconciler-type=none',
          `--cert-dir=${join(this.dir, 'apiserver-certs')}`,
          `--tls-cert-file=${this.pki.servingCertFile}`,
          `--tls-private-key-file=${this.pki.servingKeyFile}`,
          `--client-ca-file=${this.pki.caCertFile}`,
          '--service-cluster-ip-range=10.0.0.0/24',
          `--service-account-issuer=https://127.0.0.1:${this.apiPort}`,
          `--service-account-key-file=${this.pki.saPublicKeyFile}`,
          `--service-account-signing-key-file=${this.pki.saPrivateKeyFile}`,
          '--authorization-mode=RBAC',
          '--allow-privileged=true',
          '--disable-admission-plugins=ServiceAccount',
          '--profiling=false',
          ...(this.opts.apiServerFlags ?? []),
        ],
        join(this.dir, 'kube-apiserver.log'),
      );
      await this.startApiServer();
      await this.writeKubeconfig();
      this.startupMs = Date.now() - t0;
      this.log(
        `local control plane ready in ${(this.startupMs / 1000).toFixed(1)}s: kube-apiserver ${this.serverVersion} at ${this.server}, kubeconfig ${this.kubeconfigPath}`,
      );
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Kills and restarts only kube-apiserver, on the same port and etcd: clients see a real outage. */
  async restartApiServer(): Promise<void> {
    if (!this.apiserver) throw new Error('control plane not started');
    await this.apiserver.stop();
    await this.startApiServer();
  }

  /** Stops kube-apiserver without restarting it (for outage tests); `startApiServer` brings it back. */
  async stopApiServer(): Promise<void> {
    await this.apiserver?.stop();
  }

  async startApiServer(): Promise<void> {
    if (!this.apiserver) throw new Error('control plane not started');
    this.apiserver.start();
    await this.waitFor(this.apiserver, () => this.apiReady());
    const version = JSON.parse(await this.get('/version')) as { gitVersion?: string };
    this.serverVersion = version.gitVersion ?? 'unknown';
  }

  async stop(): Promise<void> {
    await this.apiserver?.stop(3000);
    await this.etcd?.stop(3000);
    live.delete(this);
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Synchronous teardown for process 'exit' handlers. */
  killNow(): void {
    this.apiserver?.killNow();
    this.etcd?.killNow();
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** A client-node KubeConfig for the admin user. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromString(this.kubeconfigYaml());
    return kc;
  }

  /** A kubeconfig that authenticates with a bearer token (e.g. a ServiceAccount token from TokenRequest). */
  tokenKubeconfigYaml(token: string, user = 'token-user'): string {
    return this.kubeconfigYaml({ name: user, user: { token } });
  }

  kubeconfigYaml(user?: { name: string; user: Record<string, string> }): string {
    if (!this.pki) throw new Error('control plane not started');
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const u = user ?? {
      name: 'admin',
      user: { 'client-certificate-data': b64(this.pki.clientCert), 'client-key-data': b64(this.pki.clientKey) },
    };
    return JSON.stringify(
      {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'kaiwo-monitor-local', cluster: { server: this.server, 'certificate-authority-data': b64(this.pki.caCert) } }],
        users: [u],
        contexts: [{ name: 'kaiwo-monitor-local', context: { cluster: 'kaiwo-monitor-local', user: u.name } }],
        'current-context': 'kaiwo-monitor-local',
      },
      null,
      2,
    );
  }

  private async writeKubeconfig(): Promise<void> {
    await writeFile(this.kubeconfigPath, this.kubeconfigYaml(), { mode: 0o600 });
  }

  private async waitFor(proc: ManagedProcess, ready: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    for (;;) {
      if (!proc.running) {
        throw new Error(`${proc.name} exited with code ${proc.exitCode} during start-up; last log lines:\n${await proc.tail()}`);
      }
      if (await ready()) return;
      if (Date.now() > deadline) {
        throw new Error(`${proc.name} not ready after ${this.startTimeoutMs / 1000}s; last log lines:\n${await proc.tail()}`);
      }
      await sleep(100);
    }
  }

  private etcdHealthy(url: string): Promise<boolean> {
    return new Promise((resolveHealth) => {
      const req = httpRequest(`${url}/health`, { timeout: 1000 }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          resolveHealth(res.statusCode === 200 && body.includes('"health":"true"'));
        });
      });
      req.on('error', () => {
        resolveHealth(false);
      });
      req.on('timeout', () => req.destroy());
      req.end();
    });
  }

  private async apiReady(): Promise<boolean> {
    try {
      return (await this.get('/readyz')) === 'ok';
    } catch {
      return false;
    }
  }

  /** GET a path on the API server as admin; rejects on non-2xx. */
  get(path: string): Promise<string> {
    const pki = this.pki;
    if (!pki) return Promise.reject(new Error('control plane not started'));
    return new Promise((resolveGet, reject) => {
      const req = httpsRequest(
        `${this.server}${path}`,
        {
          ca: pki.caCert,
          cert: pki.clientCert,
          key: pki.clientKey,
          timeout: 2000,
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => {
            const code = res.statusCode ?? 0;
            if (code >= 200 && code < 300) resolveGet(body);
            else reject(new Error(`GET ${path}: HTTP ${code}: ${body.slice(0, 200)}`));
          });
        },
      );
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error(`GET ${path}: timeout`)));
      req.end();
    });
  }
}
