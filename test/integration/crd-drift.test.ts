import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PatchStrategy } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { crdFiles } from '../../hack/gen/generated.js';
import type { Cluster } from '../../src/localcluster/backend.js';
import type { RawCrd } from '../../src/localcluster/crds.js';
import { repoRoot } from '../../src/localcluster/paths.js';
import { rawJson, rawRequest } from '../../src/runtime/rawrequest.js';
import { sharedCluster, skipWithoutBackend, uniqueName } from '../support/cluster.js';

const BASE = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/** Paths where a and b differ (JSON values), for a readable failure message. */
function diffPaths(a: unknown, b: unknown, path = ''): string[] {
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => diffPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [`${path}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`];
}

/**
 * A CRD that differs from what the API server stores (a field it drops as a default, say) never reads back equal
 * to its file: GitOps tools show it out of sync forever, and a second server-side applier conflicts on the atomic
 * parts (additionalPrinterColumns) owned by the first one.
 */
describe('integration: the generated CRD is stored as generated (no drift)', function () {
  this.timeout(60_000);
  before(skipWithoutBackend);
  let cluster: Cluster;
  const file = parse(readFileSync(join(repoRoot, crdFiles[0] ?? ''), 'utf8')) as RawCrd;

  before(async () => {
    cluster = await sharedCluster();
  });

  const apply = (crd: RawCrd, manager: string) =>
    rawRequest(cluster.kubeConfig(), {
      method: 'PATCH',
      path: `${BASE}/${crd.metadata.name}?fieldManager=${manager}`,
      body: crd,
      contentType: PatchStrategy.ServerSideApply,
    });
  const stored = (name: string) => rawJson<RawCrd>(cluster.kubeConfig(), { method: 'GET', path: `${BASE}/${name}` });

  /** Applies `crd` with two field managers (no force) and returns their answers and the spec read back. */
  async function applyTwice(crd: RawCrd): Promise<{ statuses: number[]; bodies: string[]; spec: unknown }> {
    const first = await apply(crd, 'crd-drift-a');
    const second = await apply(crd, 'crd-drift-b');
    return { statuses: [first.status, second.status], bodies: [first.body, second.body], spec: (await stored(crd.metadata.name)).spec };
  }

  it('every committed copy of the CRD is the same', () => {
    for (const f of crdFiles) expect(parse(readFileSync(join(repoRoot, f), 'utf8')), f).to.deep.equal(file);
  });

  it('a second field manager applies the CRD without conflict, and the stored spec equals the file', async () => {
    // The harness installed this CRD already (server-side apply, manager kaiwo-monitor-dev): apply onto it, as
    // `kubectl apply --server-side -k config/default` or a GitOps tool would.
    const { statuses, bodies, spec } = await applyTwice(file);
    const want = JSON.parse(JSON.stringify(file.spec)) as unknown;
    expect(diffPaths(spec, want), 'stored spec vs file').to.deep.equal([]);
    expect(spec).to.deep.equal(want);
    expect(statuses, bodies.join('\n')).to.deep.equal([200, 200]);
  });

  it('catches drift: the same CRD with priority: 0 on a printer column conflicts and reads back different', async () => {
    const group = `${uniqueName('drift')}.kaiwo.test`;
    const drifted = structuredClone(file);
    const spec = drifted.spec as {
      group: string;
      names: { plural: string };
      versions: { additionalPrinterColumns: Record<string, unknown>[] }[];
    };
    drifted.metadata = { name: `${spec.names.plural}.${group}` };
    spec.group = group;
    for (const c of spec.versions[0]?.additionalPrinterColumns ?? []) c.priority ??= 0;
    try {
      const got = await applyTwice(drifted);
      expect(got.statuses).to.deep.equal([201, 409]);
      expect((JSON.parse(got.bodies[1] ?? '{}') as { message?: string }).message).to.include('conflict with "crd-drift-a": .spec.versions');
      expect(diffPaths(got.spec, JSON.parse(JSON.stringify(drifted.spec)))).to.not.deep.equal([]);
    } finally {
      await rawRequest(cluster.kubeConfig(), { method: 'DELETE', path: `${BASE}/${drifted.metadata.name}` });
    }
  });
});
