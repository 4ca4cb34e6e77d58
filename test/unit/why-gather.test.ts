import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LightKubeConfig } from '../../src/runtime/kubeconfig.js';
import { explain } from '../../src/why/explain.js';
import { gather, parseTarget, WhyError } from '../../src/why/gather.js';

/** An API server that answers each path with what `routes` says (a status and a raw body); 404 otherwise. */
async function peer(routes: Record<string, [number, string]>): Promise<{ server: Server; kc: LightKubeConfig; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    hits.push(path);
    const [status, body] = routes[path] ?? [404, '{"kind":"Status","code":404,"message":"not found"}'];
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const text = `clusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {token: t}}]\ncurrent-context: x\n`;
  const kc = LightKubeConfig.fromText(text, '/');
  if (!kc) throw new Error('kubeconfig');
  return { server, kc, hits };
}

const JOB = '/apis/batch/v1/namespaces/ml/jobs/train-7';
const CRD = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/resourceflavors.kueue.x-k8s.io';
const job = JSON.stringify({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'train-7', namespace: 'ml', uid: 'u1', labels: { 'kueue.x-k8s.io/queue-name': 'team' } },
});

describe('why: gather against a hostile API server', () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  it('an answer that is not a Kubernetes object for the job: one clear error (exit 2), no crash', async () => {
    for (const body of ['[1,2]', 'null', '{"metadata":"x"}', '{"kind":"Job"}', 'not json']) {
      const p = await peer({ [JOB]: [200, body] });
      servers.push(p.server);
      let err: unknown;
      await gather(p.kc, parseTarget('job/train-7', 'ml')).catch((e: unknown) => (err = e));
      expect(err, body).to.be.instanceOf(WhyError);
      expect(String(err)).to.match(/^Error: cannot read Job ml\/train-7: /);
    }
  });

  it('odd shapes elsewhere (versions not a list, items that are not objects, a 500, a huge message) give an answer', async () => {
    const p = await peer({
      [JOB]: [200, job],
      [CRD]: [200, '{"spec":{"versions":[{"name":"v1beta2","served":true,"storage":true},7,null]}}'],
      '/apis/kueue.x-k8s.io/v1beta2/namespaces/ml/workloads': [200, '{"items":[null,5,"x",{"metadata":{}},{"metadata":{"name":7}}]}'],
      '/apis/kueue.x-k8s.io/v1beta2/namespaces/ml/localqueues/team': [500, `{"message":"${'boom '.repeat(100_000)}"}`],
    });
    servers.push(p.server);
    const snap = await gather(p.kc, parseTarget('job/train-7', 'ml'));
    expect(snap.kueue).to.deep.equal({ served: ['v1beta2'], version: 'v1beta2' });
    expect(snap.workloads).to.deep.equal([]);
    expect(snap.errors.map((e) => e.step)).to.deep.equal(['LocalQueue']);
    const a = explain(snap);
    expect(a.exitCode).to.equal(2);
    expect(a.links.map((l) => `${l.step}:${l.state}`)).to.deep.equal(['Workload:unknown', 'LocalQueue:unknown']);
    expect(a.links[1]?.details[0])
      .to.match(/^could not be read: GET .*HTTP 500: .*boom/)
      .and.have.length.below(320);
    expect(JSON.stringify(a).length).to.be.lessThan(10_000);
  });

  it('Kueue not installed: the chain says so and holds there', async () => {
    const p = await peer({ [JOB]: [200, job] });
    servers.push(p.server);
    const a = explain(await gather(p.kc, parseTarget('job/train-7', 'ml')));
    expect(a).to.deep.include({ exitCode: 1, heldBy: 'Workload' });
    expect(a.cause).to.match(/^Kueue is not installed/);
  });
});
