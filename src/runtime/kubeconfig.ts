import { existsSync, readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, type RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { type ApiLimit, limitApiRequests } from './api-limit.js';
import { isRecord } from './objects.js';

/**
 * What the operator needs of a client configuration. `@kubernetes/client-node`'s KubeConfig satisfies it too: it
 * is what the tests pass, and what `loadKubeConfig` falls back to for credentials the light loader does not read.
 */
export interface KubeConfig {
  getCurrentCluster(): { readonly server: string } | null;
  getCurrentUser(): { readonly token?: string } | null;
  getContextObject(name: string): unknown;
  setCurrentContext(name: string): void;
  /** Sets TLS material, the Authorization header and an agent on Node request options. */
  applyToHTTPSOptions(opts: RequestOptions): Promise<void>;
}

/** Where a Pod's ServiceAccount credentials are mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Files (token, CA, client certificate) are read again when older than this: kubelet rotates bound tokens. */
const REREAD_MS = 60_000;

interface Context {
  server: string;
  skipTLSVerify: boolean;
  tlsServerName?: string;
  ca?: Source;
  cert?: Source;
  key?: Source;
  token?: Source;
}
/** Inline data, or a file read again every REREAD_MS. */
type Source = { data: string } | { file: string };

/**
 * The light loader: a kubeconfig file whose users authenticate with a token, a token file or a client
 * certificate (the in-cluster ServiceAccount included). It avoids importing client-node at run time, whose
 * generated models cost ≈ 85 MiB RSS and ≈ 0.7 s of start-up. Anything else — exec plugins, auth providers,
 * basic auth, impersonation, proxies, several files in $KUBECONFIG — is left to client-node (see loadKubeConfig).
 */
export class LightKubeConfig implements KubeConfig {
  private current: string;
  private readonly files = new Map<string, { at: number; text: string }>();
  /** The agent and the context and TLS material it was made for. */
  private agent?: { context: string; ca?: string; cert?: string; key?: string; agent: HttpAgent | HttpsAgent };

  constructor(
    private readonly contexts: Map<string, Context>,
    current: string,
    private readonly now: () => number = Date.now,
  ) {
    this.current = current;
  }

  /** undefined when the file uses something only client-node reads; throws when it is not a kubeconfig. */
  static fromFile(path: string): LightKubeConfig | undefined {
    return LightKubeConfig.fromText(readFileSync(path, 'utf8'), dirname(path), path);
  }

  static fromText(text: string, dir: string, what = 'kubeconfig'): LightKubeConfig | undefined {
    const doc: unknown = parse(text);
    if (!isRecord(doc)) throw new Error(`${what} is not a kubeconfig (not a YAML mapping)`);
    const named = (key: string, inner: string) => {
      const out = new Map<string, Record<string, unknown>>();
      for (const item of Array.isArray(doc[key]) ? doc[key] : []) {
        if (isRecord(item) && typeof item.name === 'string' && isRecord(item[inner])) out.set(item.name, item[inner]);
      }
      return out;
    };
    const clusters = named('clusters', 'cluster');
    const users = named('users', 'user');
    const contexts = new Map<string, Context>();
    const file = (v: unknown): Source | undefined =>
      typeof v === 'string' && v !== '' ? { file: isAbsolute(v) ? v : join(dir, v) } : undefined;
    const data = (v: unknown): Source | undefined =>
      typeof v === 'string' && v !== '' ? { data: Buffer.from(v, 'base64').toString('utf8') } : undefined;
    for (const [name, ctx] of named('contexts', 'context')) {
      const cluster = clusters.get(String(ctx.cluster));
      const user = users.get(String(ctx.user)) ?? {};
      if (!cluster || typeof cluster.server !== 'string') continue;
      if (cluster['proxy-url'] !== undefined) return undefined;
      if (Object.keys(user).some((k) => !LIGHT_USER_KEYS.has(k))) return undefined;
      const c: Context = { server: cluster.server, skipTLSVerify: cluster['insecure-skip-tls-verify'] === true };
      if (typeof cluster['tls-server-name'] === 'string') c.tlsServerName = cluster['tls-server-name'];
      const ca = data(cluster['certificate-authority-data']) ?? file(cluster['certificate-authority']);
      const cert = data(user['client-certificate-data']) ?? file(user['client-certificate']);
      const key = data(user['client-key-data']) ?? file(user['client-key']);
      const token = typeof user.token === 'string' && user.token !== '' ? { data: user.token } : file(user.tokenFile);
      if (ca) c.ca = ca;
      if (cert) c.cert = cert;
      if (key) c.key = key;
      if (token) c.token = token;
      contexts.set(name, c);
    }
    const current = doc['current-context'];
    if (typeof current !== 'string' || !contexts.has(current)) return undefined;
    return new LightKubeConfig(contexts, current);
  }

  /** The Pod's ServiceAccount (client-go's rest.InClusterConfig), or undefined outside a Pod. */
  static inCluster(
    env: NodeJS.ProcessEnv = process.env,
    dir = SERVICE_ACCOUNT_DIR,
    now: () => number = Date.now,
  ): LightKubeConfig | undefined {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT;
    if (!host || !port || !existsSync(join(dir, 'token'))) return undefined;
    const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return new LightKubeConfig(
      new Map([['inCluster', { server, skipTLSVerify: false, ca: { file: join(dir, 'ca.crt') }, token: { file: join(dir, 'token') } }]]),
      'inCluster',
      now,
    );
  }

  getCurrentCluster(): { readonly server: string; readonly name: string } | null {
    const c = this.contexts.get(this.current);
    return c ? { name: this.current, server: c.server } : null;
  }

  getCurrentUser(): { readonly token?: string } | null {
    const c = this.contexts.get(this.current);
    if (!c) return null;
    const token = this.read(c.token)?.trim();
    return token ? { token } : {};
  }

  getContextObject(name: string): unknown {
    return this.contexts.has(name) ? { name } : null;
  }

  setCurrentContext(name: string): void {
    if (!this.contexts.has(name)) throw new Error(`context ${JSON.stringify(name)} is not in the kubeconfig`);
    this.current = name;
  }

  applyToHTTPSOptions(opts: RequestOptions): Promise<void> {
    const c = this.contexts.get(this.current);
    if (!c) return Promise.reject(new Error('kubeconfig has no current context'));
    const tls: { rejectUnauthorized?: boolean; servername?: string; ca?: string; cert?: string; key?: string } = {};
    const ca = this.read(c.ca);
    const cert = this.read(c.cert);
    const key = this.read(c.key);
    if (c.skipTLSVerify) tls.rejectUnauthorized = false;
    if (c.tlsServerName) tls.servername = c.tlsServerName;
    if (ca) tls.ca = ca;
    if (cert) tls.cert = cert;
    if (key) tls.key = key;
    Object.assign(opts, tls);
    const token = this.getCurrentUser()?.token;
    if (token) opts.headers = { ...(opts.headers as Record<string, string> | undefined), Authorization: `Bearer ${token}` };
    // One agent per context and TLS material, like client-node's (sockets are not kept alive between requests).
    // Files are read again only every REREAD_MS, so unchanged material is the same string: compared, not serialised.
    let a = this.agent;
    if (a?.context !== this.current || a.ca !== ca || a.cert !== cert || a.key !== key) {
      // The old agent is dropped, not destroyed: watches still on it end on their own (no socket is kept alive).
      if (c.server.startsWith('http:') && !c.skipTLSVerify)
        return Promise.reject(new Error('HTTP protocol is not allowed when skipTLSVerify is not set or false'));
      a = { context: this.current, ca, cert, key, agent: c.server.startsWith('http:') ? new HttpAgent() : new HttpsAgent(tls) };
      this.agent = a;
    }
    opts.agent = a.agent;
    return Promise.resolve();
  }

  private read(src: Source | undefined): string | undefined {
    if (!src) return undefined;
    if ('data' in src) return src.data;
    const seen = this.files.get(src.file);
    if (seen && this.now() - seen.at < REREAD_MS) return seen.text;
    try {
      const text = readFileSync(src.file, 'utf8');
      this.files.set(src.file, { at: this.now(), text });
      return text;
    } catch (e) {
      if (seen) return seen.text; // keep the last good copy through a rotation's brief gap
      throw e;
    }
  }
}

const LIGHT_USER_KEYS = new Set(['token', 'tokenFile', 'client-certificate', 'client-certificate-data', 'client-key', 'client-key-data']);

/**
 * Loads client configuration: an explicit --kubeconfig path, else $KUBECONFIG, ~/.kube/config or the in-cluster
 * ServiceAccount (client-node's loadFromDefault order). Token, token-file and client-certificate users (the
 * ServiceAccount a Deployment runs as) are read by LightKubeConfig; anything else by client-node, imported only then.
 * Requests made with it are rate limited by `limit` when given (the operator's --kube-api-qps/--kube-api-burst).
 */
export async function loadKubeConfig(path?: string, env: NodeJS.ProcessEnv = process.env, limit?: ApiLimit): Promise<KubeConfig> {
  const files = path ? [path] : (env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== '');
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  if (!path && files.length === 0 && existsSync(home)) files.push(home);
  let kc: KubeConfig | undefined;
  if (files.length === 1 && files[0]) kc = LightKubeConfig.fromFile(files[0]);
  else if (files.length === 0) kc = LightKubeConfig.inCluster(env);
  if (!kc) {
    const { KubeConfig: Full } = await import('@kubernetes/client-node');
    const full = new Full();
    if (path) full.loadFromFile(path);
    else full.loadFromDefault();
    kc = full;
  }
  if (!kc.getCurrentCluster())
    throw new Error(path ? `kubeconfig ${path} has no current cluster` : 'no kubeconfig found and not running in a cluster');
  if (limit) limitApiRequests(kc, limit);
  return kc;
}
