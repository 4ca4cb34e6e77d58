import { expect } from 'chai';
import { applyDefaults } from '../../../src/api/defaults.js';
import { fitFindings, fitSources, kaiwoVersion, slimCrd } from '../../../src/checks/kaiwo-kueue-fit.js';
import { operatorCheck } from '../../../src/checks/operator.js';
import { type KaiwoMonitorSpec, managerRules, specSchema } from '../../../src/checks/registry.js';
import type { SourceView } from '../../../src/checks/types.js';
import type { KubeObject } from '../../../src/runtime/objects.js';
import { deployment, lease, NOW, view } from '../../support/fixtures.js';

const spec = applyDefaults<KaiwoMonitorSpec>(specSchema, {}).operator;

/** Kaiwo's Deployment with its manager container's image. */
function kaiwo(image: string): KubeObject {
  const d = deployment('kaiwo-system', 'kaiwo-controller-manager');
  return {
    ...d,
    spec: {
      ...(d.spec as object),
      template: {
        spec: {
          containers: [
            { name: 'kube-rbac-proxy', image: 'x:v9.9.9' },
            { name: 'manager', image },
          ],
        },
      },
    },
  };
}

/** A CRD as the API server answers it (big schemas included), through the source's transform. */
function crd(name: string, served: Record<string, boolean>): KubeObject {
  return slimCrd({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name, resourceVersion: '3' },
    spec: {
      group: 'kueue.x-k8s.io',
      versions: Object.entries(served).map(([v, s]) => ({
        name: v,
        served: s,
        storage: false,
        schema: { openAPIV3Schema: { big: 'x'.repeat(100) } },
      })),
    },
  });
}

const KUEUE_12 = {
  crd0: view([crd('workloads.kueue.x-k8s.io', { v1beta1: true })]),
  crd1: view([crd('topologies.kueue.x-k8s.io', { v1alpha1: true })]),
};
const KUEUE_19 = {
  crd0: view([crd('workloads.kueue.x-k8s.io', { v1beta1: true, v1beta2: true })]),
  crd1: view([crd('topologies.kueue.x-k8s.io', { v1beta1: true, v1beta2: true })]),
};
/** Kueue v0.19.2's CRDs with v1beta1 no longer served: what Kueue v0.20 ships (kubernetes-sigs/kueue#14558). */
const KUEUE_20 = {
  crd0: view([crd('workloads.kueue.x-k8s.io', { v1beta1: false, v1beta2: true })]),
  crd1: view([crd('topologies.kueue.x-k8s.io', { v1beta1: false, v1beta2: true })]),
};

describe('check: does the installed Kaiwo fit the installed Kueue (served API versions)', () => {
  it('reads the version from the manager container image tag; none from latest, e2e tags or digests', () => {
    expect(kaiwoVersion(kaiwo('ghcr.io/silogen/kaiwo-operator:v0.1.9'))).to.deep.equal({ tag: 'v0.1.9', major: 0, minor: 1 });
    expect(kaiwoVersion(kaiwo('registry:5000/silogen/kaiwo-operator:0.2.0-rc12'))).to.deep.equal({ tag: '0.2.0-rc12', major: 0, minor: 2 });
    expect(kaiwoVersion(kaiwo('ghcr.io/silogen/kaiwo-operator:v-e2e'))).to.deep.equal({ tag: 'v-e2e' });
    expect(kaiwoVersion(kaiwo('ghcr.io/silogen/kaiwo-operator'))).to.deep.equal({ tag: 'latest' });
    expect(kaiwoVersion(kaiwo('registry:5000/kaiwo-operator'))).to.deep.equal({ tag: 'latest' });
    expect(kaiwoVersion(kaiwo('ghcr.io/silogen/kaiwo-operator@sha256:abc'))?.tag).to.equal('@sha256:abc');
    expect(kaiwoVersion(deployment('kaiwo-system', 'kaiwo-controller-manager'))).to.equal(undefined);
    expect(kaiwoVersion(undefined)).to.equal(undefined);
  });

  it('fits: Kaiwo v0.1.9 on Kueue v0.12 (v1beta1, Topology v1alpha1) gives nothing', () => {
    expect(fitFindings(kaiwo('ghcr.io/silogen/kaiwo-operator:v0.1.9'), KUEUE_12, 'kaiwo-system')).to.deep.equal([]);
  });

  it('Kueue v0.19 dropped Topology v1alpha1: Critical KueueAPINotServed naming both versions and what Kaiwo cannot do', () => {
    const f = fitFindings(kaiwo('ghcr.io/silogen/kaiwo-operator:v0.1.9'), KUEUE_19, 'kaiwo-system');
    expect(f.map((x) => [x.severity, x.reason, x.object?.name])).to.deep.equal([
      ['Critical', 'KueueAPINotServed', 'topologies.kueue.x-k8s.io'],
    ]);
    expect(f[0]?.message).to.equal(
      "Kaiwo v0.1.9 (Deployment kaiwo-system/kaiwo-controller-manager) reads Kueue's Topology as kueue.x-k8s.io/v1alpha1, which this " +
        "cluster's Kueue does not serve (topologies.kueue.x-k8s.io serves v1beta1, v1beta2): Kaiwo cannot sync its queues or create " +
        'Workloads; run a Kueue that serves it, or a Kaiwo built for these versions',
    );
  });

  it('v1beta1 no longer served (Kueue v0.20): the Workloads too', () => {
    const f = fitFindings(kaiwo('ghcr.io/silogen/kaiwo-operator:0.2.0-rc12'), KUEUE_20, 'kaiwo-system');
    expect(f.map((x) => x.object?.name)).to.deep.equal(['workloads.kueue.x-k8s.io', 'topologies.kueue.x-k8s.io']);
    expect(f[0]?.message)
      .to.include('Kaiwo v0.2.0-rc12 (Deployment kaiwo-system/kaiwo-controller-manager)')
      .and.include("reads Kueue's Workloads, ClusterQueues, LocalQueues and ResourceFlavors as kueue.x-k8s.io/v1beta1")
      .and.include('workloads.kueue.x-k8s.io serves v1beta2)');
  });

  it('says nothing it cannot know: no version in the tag, a Kaiwo past the table, no Deployment, CRDs absent, unreadable or not listed yet', () => {
    for (const image of [
      'ghcr.io/silogen/kaiwo-operator:v-e2e',
      'ghcr.io/silogen/kaiwo-operator',
      'example.invalid/manager:v1',
      'k@sha256:ab',
    ])
      expect(fitFindings(kaiwo(image), KUEUE_20, 'kaiwo-system'), image).to.deep.equal([]);
    expect(fitFindings(kaiwo('ghcr.io/silogen/kaiwo-operator:v0.3.0'), KUEUE_20, 'kaiwo-system')).to.deep.equal([]);
    expect(fitFindings(kaiwo('ghcr.io/silogen/kaiwo-operator:v1.0.0'), KUEUE_20, 'kaiwo-system')).to.deep.equal([]);
    expect(fitFindings(undefined, KUEUE_20, 'kaiwo-system')).to.deep.equal([]);
    const d = kaiwo('ghcr.io/silogen/kaiwo-operator:v0.2.0');
    expect(fitFindings(d, { crd0: view([]), crd1: view([]) }, 'kaiwo-system')).to.deep.equal([]);
    const forbidden: SourceView = { state: 'pending', error: 'forbidden', objects: [] };
    expect(fitFindings(d, { crd0: forbidden, crd1: forbidden }, 'kaiwo-system')).to.deep.equal([]);
    expect(fitFindings(d, {}, 'kaiwo-system')).to.deep.equal([]);
    // A watch failing after its first list keeps judging by the last list.
    const failing: SourceView = { ...KUEUE_20.crd0, state: 'failing', error: 'watch closed' };
    expect(fitFindings(d, { crd0: failing }, 'kaiwo-system').map((x) => x.reason)).to.deep.equal(['KueueAPINotServed']);
  });

  it('watches only the two CRDs by name, keeps their served versions only, and its RBAC names them', () => {
    expect(Object.values(fitSources()).map((s) => [s.fieldSelector, s.optional])).to.deep.equal([
      ['metadata.name=workloads.kueue.x-k8s.io', true],
      ['metadata.name=topologies.kueue.x-k8s.io', true],
    ]);
    const c = crd('workloads.kueue.x-k8s.io', { v1beta1: true });
    expect(c.spec).to.deep.equal({ versions: [{ name: 'v1beta1', served: true }] });
    const rule = managerRules().find((r) => r.resources?.includes('customresourcedefinitions') && r.verbs.includes('watch'));
    expect(rule?.resourceNames).to.include.members(['workloads.kueue.x-k8s.io', 'topologies.kueue.x-k8s.io']);
  });

  it('in the operator check: Critical before the KaiwoQueueConfig (the cause first); an unreadable CRD source is not waited for', () => {
    const base = {
      deployments: view([kaiwo('ghcr.io/silogen/kaiwo-operator:v0.1.9')]),
      pods: view([]),
      leases: view([lease('kaiwo-system', '83fc2279.silogen.ai', 3000)]),
      queueConfigs: view([
        { apiVersion: 'kaiwo.silogen.ai/v1alpha1', kind: 'KaiwoQueueConfig', metadata: { name: 'kaiwo' }, status: { status: 'READY' } },
      ]),
      scheduler: view([deployment('kube-system', 'kaiwo-scheduler')]),
    };
    const run = (data: Record<string, SourceView>) => operatorCheck.evaluate({ spec, data, scrapes: {}, now: NOW, env: {} });
    expect(run({ ...base, ...KUEUE_19 })).to.include({ status: 'False', reason: 'KueueAPINotServed' });
    expect(run({ ...base, ...KUEUE_12 })).to.include({ status: 'True' });
    const forbidden: SourceView = { state: 'pending', error: 'forbidden', objects: [] };
    expect(run({ ...base, crd0: forbidden, crd1: forbidden })).to.include({ status: 'True' });
    expect(run({ ...base, crd0: { state: 'pending', objects: [] }, crd1: KUEUE_12.crd1 })).to.include({
      status: 'Unknown',
      reason: 'NotObserved',
    });
  });
});
