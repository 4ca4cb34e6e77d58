import { expect } from 'chai';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binariesFromEnv } from '../../src/localcluster/binaries.js';
import { cacheRoot } from '../../src/localcluster/paths.js';

function fakeBin(dir: string, name: string): string {
  const p = join(dir, name);
  writeFileSync(p, '#!/bin/sh\n');
  chmodSync(p, 0o755);
  return p;
}

describe('control-plane binary resolution', () => {
  const assets = mkdtempSync(join(tmpdir(), 'kaiwo-monitor-assets-'));
  fakeBin(assets, 'kube-apiserver');
  fakeBin(assets, 'etcd');

  it('uses nothing from the environment when neither KUBEBUILDER_ASSETS nor TEST_ASSET_* is set', () => {
    expect(binariesFromEnv({})).to.equal(undefined);
  });

  it('honours KUBEBUILDER_ASSETS', () => {
    expect(binariesFromEnv({ KUBEBUILDER_ASSETS: assets })).to.deep.equal({
      kubeApiServer: join(assets, 'kube-apiserver'),
      etcd: join(assets, 'etcd'),
      source: 'KUBEBUILDER_ASSETS',
    });
  });

  it('lets TEST_ASSET_* override single binaries', () => {
    const other = mkdtempSync(join(tmpdir(), 'kaiwo-monitor-assets-'));
    const etcd = fakeBin(other, 'etcd');
    const got = binariesFromEnv({ KUBEBUILDER_ASSETS: assets, TEST_ASSET_ETCD: etcd });
    expect(got?.etcd).to.equal(etcd);
    expect(got?.kubeApiServer).to.equal(join(assets, 'kube-apiserver'));
    expect(got?.source).to.equal('TEST_ASSET_*');
  });

  it('fails clearly when KUBEBUILDER_ASSETS lacks a binary', () => {
    const empty = mkdtempSync(join(tmpdir(), 'kaiwo-monitor-assets-'));
    expect(() => binariesFromEnv({ KUBEBUILDER_ASSETS: empty })).to.throw(/kube-apiserver .* missing or not executable/);
  });

  it('keeps the cache outside the repo, overridable by KAIWO_MONITOR_CACHE', () => {
    expect(cacheRoot({ HOME: '/home/u' })).to.match(/\/\.cache\/kaiwo-monitor$/);
    expect(cacheRoot({ XDG_CACHE_HOME: '/x' })).to.equal('/x/kaiwo-monitor');
    expect(cacheRoot({ KAIWO_MONITOR_CACHE: '/c' })).to.equal('/c');
  });
});
