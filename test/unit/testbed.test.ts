import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CriLogMirror } from '../../src/localcluster/testbed/crilog.js';
import { loopbackWebhooks } from '../../src/localcluster/testbed/kueue.js';
import { faultStages, FAULT_ANNOTATION } from '../../src/localcluster/testbed/stages.js';

describe('test bed: Kueue webhooks on loopback', () => {
  const hook = (name: string, path: string) => ({
    name,
    clientConfig: { service: { name: 'kueue-webhook-service', namespace: 'kueue-system', path } },
    failurePolicy: 'Fail',
  });
  const config = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'kueue-mutating-webhook-configuration' },
    webhooks: [
      hook('mjob.kb.io', '/mutate-batch-v1-job'),
      hook('mpod.kb.io', '/mutate--v1-pod'),
      hook('mrayjob.kb.io', '/mutate-ray-io-v1-rayjob'),
      hook('mworkload.kb.io', '/mutate-kueue-x-k8s-io-v1beta2-workload'),
    ],
  };

  it("keeps only the webhooks for Kueue's API and batch/Job, each with a 127.0.0.1 URL and the CA bundle, no Service", () => {
    const out = loopbackWebhooks(config, 'https://127.0.0.1:9443', 'PEM') as unknown as {
      webhooks: { name: string; clientConfig: Record<string, string> }[];
    };
    expect(out.webhooks.map((w) => w.name)).to.deep.equal(['mjob.kb.io', 'mworkload.kb.io']);
    expect(out.webhooks.map((w) => (w as unknown as { matchPolicy: string }).matchPolicy)).to.deep.equal(['Exact', 'Exact']);
    expect(out.webhooks[0]?.clientConfig).to.deep.equal({
      url: 'https://127.0.0.1:9443/mutate-batch-v1-job',
      caBundle: Buffer.from('PEM').toString('base64'),
    });
    for (const w of out.webhooks) expect(w.clientConfig).to.not.have.property('service');
  });
});

describe('test bed: kwok fault stages', () => {
  it('select pods by the fault annotation and never a pod being deleted', () => {
    const stages = faultStages(3000) as unknown as {
      metadata: { name: string };
      spec: { selector: { matchExpressions: { key: string; values?: string[] }[] }; next: { statusTemplate: string } };
    }[];
    expect(stages.map((s) => s.metadata.name)).to.deep.equal([
      'kaiwo-monitor-crashloop',
      'kaiwo-monitor-oomkilled',
      'kaiwo-monitor-imagepull',
    ]);
    const wanted = ['CrashLoopBackOff', 'OOMKilled', 'ImagePullBackOff'];
    stages.forEach((s, i) => {
      const keys = s.spec.selector.matchExpressions.map((e) => e.key);
      expect(keys).to.include('.metadata.deletionTimestamp');
      expect(s.spec.selector.matchExpressions.find((e) => e.key.includes(FAULT_ANNOTATION))?.values).to.deep.equal([wanted[i]]);
    });
    expect(stages[0]?.spec.next.statusTemplate).to.match(/restartCount: \{\{ add \(or \.restartCount 0\) 1 \}\}/);
    expect(stages[1]?.spec.next.statusTemplate).to.match(/reason: OOMKilled[\s\S]*exitCode: 137|exitCode: 137[\s\S]*reason: OOMKilled/);
  });
});

describe('test bed: CRI log mirror (what kwok serves for kubectl logs)', () => {
  it('copies complete lines as "<time> stdout F <line>" and keeps a partial line until it ends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crilog-'));
    try {
      const src = join(dir, 'raw.log');
      const dst = join(dir, 'cri.log');
      const m = new CriLogMirror(src, dst);
      await m.start();
      appendFileSync(src, 'first line\nsecond');
      const read = async (n: number) => {
        for (let i = 0; i < 50; i++) {
          const lines = readFileSync(dst, 'utf8').split('\n').filter(Boolean);
          if (lines.length >= n) return lines;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`fewer than ${n} lines`);
      };
      expect((await read(1))[0]).to.match(/^\d{4}-\d\d-\d\dT[\d:.]+Z stdout F first line$/);
      appendFileSync(src, ' half\n');
      const lines = await read(2);
      expect(lines[1]).to.match(/ stdout F second half$/);
      m.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
