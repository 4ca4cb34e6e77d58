import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type KubeConfig, PatchStrategy } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { rawJson } from '../runtime/rawrequest.js';
import { goModuleDir } from './gomod.js';
import { kaiwoStandInCrds } from './kaiwo-crds.js';
import { repoRoot } from './paths.js';
import { versions } from './versions.js';

/**
 * A CRD exactly as its YAML says (wire-form keys such as x-kubernetes-preserve-unknown-fields). Kept untyped on
 * purpose: client-node's typed serializer would drop keys it does not model when re-encoding.
 */
export interface RawCrd {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [k: string]: unknown };
  spec: Record<string, unknown>;
}

export interface CrdSet {
  /** e.g. "kueue v0.19.2" */
  name: string;
  /** where the YAML came from, for logs */
  source: string;
  crds: RawCrd[];
}

async function loadDir(dir: string, only?: (file: string) => boolean): Promise<RawCrd[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml') && (!only || only(f))).sort();
  const out: RawCrd[] = [];
  for (const f of files) {
    for (const parsed of parseAllDocuments(await readFile(join(dir, f), 'utf8'))) {
      const doc = parsed.toJS({ maxAliasCount: 100 }) as Partial<RawCrd> | null;
      if (doc?.kind === 'CustomResourceDefinition') out.push(doc as RawCrd);
    }
  }
  return out;
}

/** Kueue's 11 base CRDs (no conversion webhook) from the sigs.k8s.io/kueue module in the Go module cache. */
export async function kueueCrds(version = versions().KUEUE_VERSION): Promise<CrdSet> {
  const dir = join(await goModuleDir('sigs.k8s.io/kueue', version), 'config', 'components', 'crd', 'bases');
  return { name: `kueue ${version}`, source: dir, crds: await loadDir(dir) };
}

/** ../shared/upstream/kaiwo/<version>: Kaiwo's real CRDs and install layout, beside the repository (never copied in). */
export function kaiwoUpstreamDir(version: string): string {
  return join(repoRoot, '..', 'shared', 'upstream', 'kaiwo', version);
}

let fallbackNoted = false;

/**
 * Kaiwo's real CRDs (strict structural schemas, as generated upstream): the files config/crd/kustomization.yaml
 * installs, read from ../shared/upstream/kaiwo/<version>/crds, else from the github.com/silogen/kaiwo module when
 * the module proxy serves it. Only when neither is there: the open stand-ins of kaiwo-crds.ts, said loudly on
 * stderr and in the set's name, since tests then prove nothing about Kaiwo's real schemas.
 */
export async function kaiwoCrds(version = versions().KAIWO_VERSION): Promise<CrdSet> {
  const upstream = kaiwoUpstreamDir(version);
  const listedIn = async (root: string) => {
    const kustomization = await readFile(join(root, 'config', 'crd', 'kustomization.yaml'), 'utf8');
    return new Set([...kustomization.matchAll(/^\s*-\s*bases\/(\S+\.yaml)\s*$/gm)].map((m) => m[1]));
  };
  if (existsSync(join(upstream, 'crds'))) {
    const listed = await listedIn(upstream);
    const dir = join(upstream, 'crds');
    return { name: `kaiwo ${version}`, source: dir, crds: await loadDir(dir, (f) => listed.has(f)) };
  }
  let root: string;
  try {
    root = await goModuleDir('github.com/silogen/kaiwo', version);
  } catch (err) {
    const why = `${upstream} is missing and ${(err as Error).message.split('\n')[0] ?? ''}`;
    if (!fallbackNoted)
      process.stderr.write(
        `\n  WARNING: Kaiwo's real CRDs are not available (${why}); using the open STAND-IN schemas of src/localcluster/kaiwo-crds.ts\n\n`,
      );
    fallbackNoted = true;
    return {
      name: `kaiwo ${version} (STAND-IN, real CRDs missing)`,
      source: `stand-in schemas from src/localcluster/kaiwo-crds.ts (${why})`,
      crds: kaiwoStandInCrds(),
    };
  }
  const listed = await listedIn(root);
  const dir = join(root, 'config', 'crd', 'bases');
  return { name: `kaiwo ${version}`, source: dir, crds: await loadDir(dir, (f) => listed.has(f)) };
}

/**
 * The CRDs of the kinds the real Kaiwo operator watches besides its own and Kueue's (its controllers fail to start
 * without them): KubeRay's RayJob/RayService/RayCluster and AppWrapper, and for v0.2 KServe's InferenceService,
 * ServingRuntime and ClusterServingRuntime, and Gateway API's HTTPRoute (its AIM controllers). Each from its Go
 * module at the version Kaiwo's go.mod requires (../shared/upstream/kaiwo/<version>/src/go.mod), so they fit the
 * operator that watches them.
 */
export async function kaiwoDependencyCrds(version: string): Promise<CrdSet[]> {
  const goMod = await readFile(join(kaiwoUpstreamDir(version), 'src', 'go.mod'), 'utf8');
  const required = (module: string) => new RegExp(`^\\s*${module.replace(/[./]/g, '\\$&')}\\s+(v\\S+)`, 'm').exec(goMod)?.[1];
  const deps: { module: string; dir: string; files: string[] }[] = [
    {
      module: 'github.com/ray-project/kuberay/ray-operator',
      dir: 'config/crd/bases',
      files: ['ray.io_rayclusters.yaml', 'ray.io_rayjobs.yaml', 'ray.io_rayservices.yaml'],
    },
    { module: 'github.com/project-codeflare/appwrapper', dir: 'config/crd/bases', files: ['workload.codeflare.dev_appwrappers.yaml'] },
    {
      module: 'github.com/kserve/kserve',
      dir: 'config/crd/full',
      // ClusterServingRuntime too: without it v0.2's manager exits when its cache sync times out (2 min) and restarts.
      files: [
        'serving.kserve.io_inferenceservices.yaml',
        'serving.kserve.io_servingruntimes.yaml',
        'serving.kserve.io_clusterservingruntimes.yaml',
      ],
    },
    { module: 'sigs.k8s.io/gateway-api', dir: 'config/crd/standard', files: ['gateway.networking.k8s.io_httproutes.yaml'] },
  ];
  const out: CrdSet[] = [];
  for (const d of deps) {
    const v = required(d.module);
    if (!v) continue;
    const dir = join(await goModuleDir(d.module, v), d.dir);
    out.push({ name: `${d.module.split('/').pop() ?? d.module} ${v}`, source: dir, crds: await loadDir(dir, (f) => d.files.includes(f)) });
  }
  return out;
}

/** The Prometheus Operator's ServiceMonitor and PrometheusRule CRDs, from its Go module (for dry-run installs). */
export async function prometheusOperatorCrds(version = versions().PROMETHEUS_OPERATOR_VERSION): Promise<CrdSet> {
  const dir = join(await goModuleDir('github.com/prometheus-operator/prometheus-operator', version), 'example', 'prometheus-operator-crd');
  const wanted = new Set(['monitoring.coreos.com_servicemonitors.yaml', 'monitoring.coreos.com_prometheusrules.yaml']);
  return { name: `prometheus-operator ${version}`, source: dir, crds: await loadDir(dir, (f) => wanted.has(f)) };
}

/** This project's own CRDs (crds/*.yaml). */
export async function ownCrds(): Promise<CrdSet> {
  const dir = join(repoRoot, 'crds');
  let crds: RawCrd[] = [];
  try {
    crds = await loadDir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { name: 'kaiwo-monitor', source: dir, crds };
}

/**
 * Creates or updates CRDs with server-side apply (Kueue's Workload CRD is over 1 MB, too big for client-side
 * apply's last-applied annotation) and waits until each is Established. YAML is parsed with `yaml`, not
 * client-node's loadAllYaml, which turns known kinds into typed models with camelCase keys.
 */
export async function installCrds(kc: KubeConfig, crds: RawCrd[], timeoutMs = 60_000): Promise<void> {
  const base = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
  for (const crd of crds) {
    await rawJson(kc, {
      method: 'PATCH',
      path: `${base}/${crd.metadata.name}?fieldManager=kaiwo-monitor-dev&force=true`,
      body: crd,
      contentType: PatchStrategy.ServerSideApply,
    });
  }
  const deadline = Date.now() + timeoutMs;
  for (const crd of crds) {
    const name = crd.metadata.name;
    for (;;) {
      const got = await rawJson<{ status?: { conditions?: { type: string; status: string }[] } }>(kc, {
        method: 'GET',
        path: `${base}/${name}`,
      });
      if (got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established after ${timeoutMs / 1000}s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
