import { expect } from 'chai';
import { selectedBackend } from '../../src/localcluster/backend.js';
import { kaiwoStandInCrds } from '../../src/localcluster/kaiwo-crds.js';

describe('test backends', () => {
  it('defaults to the local control plane and accepts kubeconfig and k3s', () => {
    expect(selectedBackend({})).to.equal('local');
    expect(selectedBackend({ KAIWO_MONITOR_TEST_BACKEND: 'kubeconfig' })).to.equal('kubeconfig');
    expect(selectedBackend({ KAIWO_MONITOR_TEST_BACKEND: 'k3s' })).to.equal('k3s');
    expect(() => selectedBackend({ KAIWO_MONITOR_TEST_BACKEND: 'kind' })).to.throw(/expected one of local, kubeconfig, k3s/);
  });
});

describe('Kaiwo stand-in CRDs', () => {
  const crds = kaiwoStandInCrds();

  it('define the Kaiwo kinds with the upstream group, plural and scope', () => {
    const byKind = new Map(crds.map((c) => [(c.spec.names as { kind: string }).kind, c]));
    expect([...byKind.keys()]).to.have.members(['KaiwoJob', 'KaiwoService', 'KaiwoQueueConfig', 'KaiwoConfig']);
    expect(byKind.get('KaiwoJob')?.metadata.name).to.equal('kaiwojobs.kaiwo.silogen.ai');
    expect(byKind.get('KaiwoJob')?.spec.scope).to.equal('Namespaced');
    expect(byKind.get('KaiwoQueueConfig')?.spec.scope).to.equal('Cluster');
    expect(byKind.get('KaiwoConfig')?.metadata.name).to.equal('kaiwoconfigs.config.kaiwo.silogen.ai');
  });

  it('name is <plural>.<group> for every CRD (the API server rejects anything else)', () => {
    for (const c of crds) {
      const names = c.spec.names as { plural: string };
      expect(c.metadata.name).to.equal(`${names.plural}.${String(c.spec.group)}`);
    }
  });
});
