import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../src/localcluster/paths.js';
import { parseVersions, versions } from '../../src/localcluster/versions.js';

describe('versions.env', () => {
  it('parses KEY=vX.Y.Z lines and ignores comments', () => {
    const v = parseVersions(
      '# c\nK8S_VERSION=v1.36.3\nETCD_VERSION=v3.6.8\n\nKUEUE_VERSION=v0.19.2\nKUEUE_LEGACY_VERSION=v0.12.3\nKAIWO_VERSION=v0.1.9\nPROMETHEUS_VERSION=v0.316.0\nHELM_VERSION=v3.22.0\nPROMETHEUS_OPERATOR_VERSION=v0.85.0\n',
    );
    expect(v).to.deep.equal({
      K8S_VERSION: 'v1.36.3',
      ETCD_VERSION: 'v3.6.8',
      KUEUE_VERSION: 'v0.19.2',
      KUEUE_LEGACY_VERSION: 'v0.12.3',
      KAIWO_VERSION: 'v0.1.9',
      PROMETHEUS_VERSION: 'v0.316.0',
      HELM_VERSION: 'v3.22.0',
      PROMETHEUS_OPERATOR_VERSION: 'v0.85.0',
    });
  });

  it('rejects a missing key and an unparseable line', () => {
    expect(() => parseVersions('K8S_VERSION=v1.36.3\n')).to.throw(/ETCD_VERSION is missing/);
    expect(() => parseVersions('K8S_VERSION = 1.36\n')).to.throw(/cannot parse/);
  });

  it('matches the versions pinned in the Go wrapper modules', () => {
    const apiserver = readFileSync(join(repoRoot, 'hack', 'controlplane', 'apiserver', 'go.mod'), 'utf8');
    const etcd = readFileSync(join(repoRoot, 'hack', 'controlplane', 'etcd', 'go.mod'), 'utf8');
    const v = versions();
    const pinned = (mod: string, module: string) =>
      new RegExp(`^\\s*(require )?${module.replace(/\./g, '\\.')} (\\S+)`, 'm').exec(mod)?.[2];
    expect(pinned(apiserver, 'k8s.io/kubernetes')).to.equal(v.K8S_VERSION);
    const staging = `v0.${v.K8S_VERSION.split('.')[1] ?? ''}.${v.K8S_VERSION.split('.')[2] ?? ''}`;
    expect(apiserver).to.include(`k8s.io/api => k8s.io/api ${staging}`);
    expect(pinned(etcd, 'go.etcd.io/etcd/server/v3')).to.equal(v.ETCD_VERSION);
    const mod = (tool: string) => readFileSync(join(repoRoot, 'hack', tool, 'go.mod'), 'utf8');
    expect(pinned(mod('prometheus'), 'github.com/prometheus/prometheus')).to.equal(v.PROMETHEUS_VERSION);
    expect(pinned(mod('helm'), 'helm.sh/helm/v3')).to.equal(v.HELM_VERSION);
  });
});
