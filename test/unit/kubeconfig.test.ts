import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Agent as HttpsAgent, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiLimiter, RequestLimiter } from '../../src/runtime/api-limit.js';
import { LightKubeConfig, loadKubeConfig } from '../../src/runtime/kubeconfig.js';
import { rawJson } from '../../src/runtime/rawrequest.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const doc = (cluster: string, user: string, extra = '') => `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
${cluster}
users:
- name: u
  user:
${user}
contexts:
- name: ctx
  context: {cluster: c, user: u}
- name: other
  context: {cluster: c2, user: u}
${extra}current-context: ctx
`;

describe('kubeconfig: the light loader (no client-node import) and its fallback', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kc-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const apply = async (kc: { applyToHTTPSOptions(o: RequestOptions): Promise<void> }) => {
    const o: RequestOptions = { headers: { Accept: 'x' } };
    await kc.applyToHTTPSOptions(o);
    return o;
  };

  it('reads a token user and a CA file relative to the kubeconfig, and keeps other headers', async () => {
    write('ca.pem', 'CA-PEM');
    const kc = await loadKubeConfig(
      write('config', doc('    server: https://127.0.0.1:6443\n    certificate-authority: ca.pem', '    token: abc')),
    );
    expect(kc).to.be.instanceOf(LightKubeConfig);
    expect(kc.getCurrentCluster()?.server).to.equal('https://127.0.0.1:6443');
    expect(kc.getCurrentUser()?.token).to.equal('abc');
    const o = await apply(kc);
    expect(o.headers).to.deep.equal({ Accept: 'x', Authorization: 'Bearer abc' });
    expect(o.ca).to.equal('CA-PEM');
    expect(o.agent).to.be.instanceOf(HttpsAgent);
    expect((await apply(kc)).agent).to.equal(o.agent); // one agent while the TLS material stays
  });

  it('reads client certificates from data, honours insecure-skip-tls-verify and tls-server-name', async () => {
    const kc = await loadKubeConfig(
      write(
        'config',
        doc(
          '    server: https://127.0.0.1:6443\n    insecure-skip-tls-verify: true\n    tls-server-name: kubernetes',
          `    client-certificate-data: ${b64('CERT')}\n    client-key-data: ${b64('KEY')}`,
        ),
      ),
    );
    const o = await apply(kc);
    expect([o.cert, o.key, o.rejectUnauthorized, o.servername]).to.deep.equal(['CERT', 'KEY', false, 'kubernetes']);
    expect(o.headers).to.deep.equal({ Accept: 'x' });
  });

  it('switches contexts, refusing one that is not there', async () => {
    const text = doc('    server: https://a:1', '    token: t', 'extra: 1\n').replace(
      'clusters:\n',
      'clusters:\n- name: c2\n  cluster: {server: "https://b:2"}\n',
    );
    const kc = await loadKubeConfig(write('config', text));
    expect(kc.getContextObject('nope')).to.equal(null);
    expect(() => {
      kc.setCurrentContext('nope');
    }).to.throw(/not in the kubeconfig/);
    kc.setCurrentContext('other');
    expect(kc.getCurrentCluster()?.server).to.equal('https://b:2');
  });

  it('leaves exec plugins, basic auth, proxies and several $KUBECONFIG files to client-node', async () => {
    const exec = write(
      'exec',
      doc('    server: https://127.0.0.1:6443', '    exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/true}'),
    );
    const basic = write('basic', doc('    server: https://127.0.0.1:6443', '    username: a\n    password: b'));
    const proxy = write('proxy', doc('    server: https://127.0.0.1:6443\n    proxy-url: http://127.0.0.1:3128', '    token: t'));
    for (const f of [exec, basic, proxy]) {
      const kc = await loadKubeConfig(f);
      expect(kc, f).to.not.be.instanceOf(LightKubeConfig);
      expect(kc.getCurrentCluster()?.server).to.equal('https://127.0.0.1:6443');
    }
    const two = await loadKubeConfig(undefined, { KUBECONFIG: [proxy, basic].join(':'), HOME: dir });
    expect(two).to.not.be.instanceOf(LightKubeConfig);
  });

  it('says what is wrong with a file that is not a kubeconfig', async () => {
    let err: unknown;
    try {
      await loadKubeConfig(write('bad', '- just\n- a list\n'));
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.match(/not a kubeconfig/);
  });

  it('sets the API request limit it is given (none otherwise; qps 0: none)', async () => {
    const path = write('config', doc('    server: https://127.0.0.1:6443', '    token: t'));
    expect(apiLimiter(await loadKubeConfig(path))).to.equal(undefined);
    expect(apiLimiter(await loadKubeConfig(path, {}, { qps: 20, burst: 30 }))).to.be.instanceOf(RequestLimiter);
    expect(apiLimiter(await loadKubeConfig(path, {}, { qps: 0, burst: 0 }))).to.equal(undefined);
    const limited = await loadKubeConfig(path, {}, { qps: 1, burst: 2 });
    expect([await apiLimiter(limited)?.wait(), await apiLimiter(limited)?.wait(), apiLimiter(limited)?.waiting]).to.deep.equal([
      true,
      true,
      0,
    ]);
    const ac = new AbortController();
    const third = apiLimiter(limited)?.wait(ac.signal);
    expect(apiLimiter(limited)?.waiting).to.equal(1);
    ac.abort();
    expect(await third).to.equal(false);
  });

  it('refuses plain HTTP unless TLS verification is explicitly off', async () => {
    const kc = await loadKubeConfig(write('config', doc('    server: http://127.0.0.1:8080', '    token: t')));
    let err: unknown;
    try {
      await apply(kc);
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.match(/HTTP protocol is not allowed/);
  });

  it('runs in a Pod from the ServiceAccount mount, reading a rotated token again after a minute', async () => {
    write('token', 'one\n');
    write('ca.crt', 'SA-CA');
    let now = 1_000_000;
    expect(LightKubeConfig.inCluster({}, dir)).to.equal(undefined);
    const kc = LightKubeConfig.inCluster({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, dir, () => now);
    if (!kc) throw new Error('no in-cluster config with the ServiceAccount mounted');
    expect(kc.getCurrentCluster()?.server).to.equal('https://[fd00::1]:443');
    expect(kc.getCurrentUser()?.token).to.equal('one');
    write('token', 'two\n');
    now += 30_000;
    expect(kc.getCurrentUser()?.token).to.equal('one');
    now += 31_000;
    expect(kc.getCurrentUser()?.token).to.equal('two');
    const o = await apply(kc);
    expect([o.ca, (o.headers as Record<string, string>).Authorization]).to.deep.equal(['SA-CA', 'Bearer two']);
  });

  it('talks to a server over plain HTTP when allowed, sending the token', async () => {
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.end('{"gitVersion":"v1"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const kc = await loadKubeConfig(
        write('config', doc(`    server: http://127.0.0.1:${port}\n    insecure-skip-tls-verify: true`, '    token: t0k')),
      );
      expect(await rawJson<{ gitVersion: string }>(kc, { method: 'GET', path: '/version' })).to.deep.equal({ gitVersion: 'v1' });
      expect(seen).to.deep.equal(['Bearer t0k']);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
