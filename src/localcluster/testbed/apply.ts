import { type KubeConfig, PatchStrategy } from '@kubernetes/client-node';
import { rawJson } from '../../runtime/rawrequest.js';
import type { Manifest } from './kustomize.js';

/** API path prefix and plural of the kinds the test bed installs. */
const KINDS: Record<string, { prefix: string; plural: string; namespaced: boolean }> = {
  Namespace: { prefix: '/api/v1', plural: 'namespaces', namespaced: false },
  ServiceAccount: { prefix: '/api/v1', plural: 'serviceaccounts', namespaced: true },
  Service: { prefix: '/api/v1', plural: 'services', namespaced: true },
  ConfigMap: { prefix: '/api/v1', plural: 'configmaps', namespaced: true },
  Secret: { prefix: '/api/v1', plural: 'secrets', namespaced: true },
  Deployment: { prefix: '/apis/apps/v1', plural: 'deployments', namespaced: true },
  DaemonSet: { prefix: '/apis/apps/v1', plural: 'daemonsets', namespaced: true },
  Role: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'roles', namespaced: true },
  RoleBinding: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'rolebindings', namespaced: true },
  ClusterRole: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterrolebindings', namespaced: false },
  MutatingWebhookConfiguration: {
    prefix: '/apis/admissionregistration.k8s.io/v1',
    plural: 'mutatingwebhookconfigurations',
    namespaced: false,
  },
  ValidatingWebhookConfiguration: {
    prefix: '/apis/admissionregistration.k8s.io/v1',
    plural: 'validatingwebhookconfigurations',
    namespaced: false,
  },
};

export function objectPath(m: Pick<Manifest, 'kind' | 'metadata'>): string {
  const k = KINDS[m.kind];
  if (!k) throw new Error(`test bed cannot apply kind ${m.kind}`);
  const ns = k.namespaced ? `/namespaces/${m.metadata.namespace ?? 'default'}` : '';
  return `${k.prefix}${ns}/${k.plural}/${m.metadata.name}`;
}

/** Server-side apply, namespaces first. */
export async function apply(kc: KubeConfig, manifests: Manifest[], fieldManager = 'kaiwo-monitor-testbed'): Promise<void> {
  const ordered = [...manifests.filter((m) => m.kind === 'Namespace'), ...manifests.filter((m) => m.kind !== 'Namespace')];
  for (const m of ordered) {
    await rawJson(kc, {
      method: 'PATCH',
      path: `${objectPath(m)}?fieldManager=${fieldManager}&force=true`,
      body: m,
      contentType: PatchStrategy.ServerSideApply,
    });
  }
}

/** A ServiceAccount token (TokenRequest, 24 h) and a kubeconfig using it: how a pod's process authenticates. */
export async function serviceAccountToken(kc: KubeConfig, namespace: string, name: string): Promise<string> {
  const tr = await rawJson<{ status: { token: string } }>(kc, {
    method: 'POST',
    path: `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 86_400 } },
  });
  return tr.status.token;
}
