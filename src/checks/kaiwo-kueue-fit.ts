import { isRecord, type KubeObject } from '../runtime/objects.js';
import type { PolicyRule, SourceSpec, SourceView } from './types.js';
import type { F } from './util.js';

/**
 * Does the installed Kaiwo fit the installed Kueue? Kaiwo talks to Kueue through Kueue's Go client at fixed API
 * versions; a Kueue that stops serving one of them (Kueue v0.19 dropped Topology v1alpha1, v0.20 drops v1beta1,
 * kubernetes-sigs/kueue#14558) leaves every Deployment, pod and Lease healthy while Kaiwo cannot create a Workload or
 * sync a queue. The versions each Kaiwo release uses, from its source (`sigs.k8s.io/kueue/apis/kueue/...` imports in
 * ../shared/upstream/kaiwo/<version>/src: pkg/k8s/kueue.go, internal/controller/utils/kueue.go):
 *
 * | Kaiwo | Workloads, ClusterQueues, LocalQueues, ResourceFlavors | Topology |
 * |---|---|---|
 * | v0.1.x, v0.2.x | kueue.x-k8s.io/v1beta1 | kueue.x-k8s.io/v1alpha1 |
 *
 * A Kaiwo whose image tag names no version (`latest`, `v-e2e`, a digest) is not judged (never a guess: a stand-in or
 * a fork may use other versions), nor is a version past the table (v0.3 and later).
 */

interface Need {
  /** The CRD that says which versions Kueue serves (Kueue serves one set of versions for all its queue kinds). */
  crd: string;
  version: string;
  what: string;
}

const NEEDS: readonly Need[] = [
  { crd: 'workloads.kueue.x-k8s.io', version: 'v1beta1', what: 'Workloads, ClusterQueues, LocalQueues and ResourceFlavors' },
  { crd: 'topologies.kueue.x-k8s.io', version: 'v1alpha1', what: 'Topology' },
];
/** The newest Kaiwo line the table covers (major, minor). */
const COVERED = [0, 2] as const;

export const FIT_RBAC: PolicyRule = {
  apiGroups: ['apiextensions.k8s.io'],
  resources: ['customresourcedefinitions'],
  resourceNames: NEEDS.map((n) => n.crd),
  verbs: ['get', 'list', 'watch'],
};

/** A CRD as the fit rule reads it: its name and the versions it serves (a Workload CRD is 1.4 MB; this is bytes). */
export function slimCrd(c: KubeObject): KubeObject {
  const spec = isRecord(c.spec) ? c.spec : {};
  const versions = (Array.isArray(spec.versions) ? spec.versions : [])
    .filter(isRecord)
    .slice(0, 16)
    .map((v) => ({ name: typeof v.name === 'string' ? v.name.slice(0, 63) : '', served: v.served === true }));
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: c.metadata.name, ...(c.metadata.resourceVersion ? { resourceVersion: c.metadata.resourceVersion } : {}) },
    spec: { versions },
  };
}

/** One optional source per CRD of the table (`crd0`, `crd1`): a field-selected watch, allowed by resourceNames. */
export function fitSources(): Record<string, SourceSpec> {
  return Object.fromEntries(
    NEEDS.map((n, i) => [
      `crd${i}`,
      {
        apiVersion: 'apiextensions.k8s.io/v1',
        plural: 'customresourcedefinitions',
        kind: 'CustomResourceDefinition',
        fieldSelector: `metadata.name=${n.crd}`,
        transform: slimCrd,
        optional: true,
      },
    ]),
  );
}

/** Kaiwo's version from its Deployment's image tag ("v0.1.9", "0.2.0-rc12"); undefined when the tag names none. */
export function kaiwoVersion(deployment: KubeObject | undefined): { tag: string; major?: number; minor?: number } | undefined {
  const tpl = isRecord(deployment?.spec) && isRecord(deployment.spec.template) ? deployment.spec.template : undefined;
  const containers = isRecord(tpl?.spec) && Array.isArray(tpl.spec.containers) ? tpl.spec.containers.filter(isRecord) : [];
  const c = containers.find((x) => x.name === 'manager') ?? containers[0];
  const image = typeof c?.image === 'string' ? c.image : '';
  if (!image) return undefined;
  const at = image.indexOf('@');
  const name = at >= 0 ? image.slice(0, at) : image;
  const colon = name.lastIndexOf(':');
  const tag = (at >= 0 ? image.slice(at) : colon > name.lastIndexOf('/') ? name.slice(colon + 1) : 'latest').slice(0, 80);
  const m = /^v?(\d+)\.(\d+)\.\d+(?:-[0-9A-Za-z.-]+)?$/.exec(tag);
  return m ? { tag, major: Number(m[1]), minor: Number(m[2]) } : { tag };
}

/**
 * Critical `KueueAPINotServed` for each API version the installed Kaiwo uses that the cluster's Kueue does not serve
 * (its CRD is there, the version is not served); nothing when the CRDs cannot be read or are absent (the Kueue check
 * says whether Kueue is installed), or Kaiwo's version is not in its image tag or newer than the table.
 */
export function fitFindings(
  deployment: KubeObject | undefined,
  data: Readonly<Record<string, SourceView | undefined>>,
  namespace: string,
): F[] {
  const v = kaiwoVersion(deployment);
  if (!deployment || !v) return [];
  if (v.major === undefined || v.minor === undefined || v.major * 1000 + v.minor > COVERED[0] * 1000 + COVERED[1]) return [];
  const kaiwo = `Kaiwo ${v.tag.startsWith('v') ? v.tag : `v${v.tag}`}`;
  const out: F[] = [];
  NEEDS.forEach((n, i) => {
    const view = data[`crd${i}`];
    if (view?.state !== 'synced' && view?.state !== 'failing') return;
    const crd = view.objects.find((c) => c.metadata.name === n.crd);
    if (!crd) return;
    const versions = ((crd.spec as { versions?: { name: string; served: boolean }[] } | undefined)?.versions ?? []).filter((x) => x.served);
    if (versions.some((x) => x.name === n.version)) return;
    out.push({
      severity: 'Critical',
      reason: 'KueueAPINotServed',
      object: { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: n.crd },
      message:
        `${kaiwo} (Deployment ${namespace}/${deployment.metadata.name}) reads Kueue's ${n.what} as kueue.x-k8s.io/${n.version}, ` +
        `which this cluster's Kueue does not serve (${n.crd} serves ${versions.map((x) => x.name).join(', ') || 'nothing'}): ` +
        'Kaiwo cannot sync its queues or create Workloads; run a Kueue that serves it, or a Kaiwo built for these versions',
    });
  });
  return out;
}
