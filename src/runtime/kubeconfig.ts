import { KubeConfig } from '@kubernetes/client-node';

/**
 * Loads client configuration: an explicit --kubeconfig path, else $KUBECONFIG, ~/.kube/config or the in-cluster
 * ServiceAccount (client-node's loadFromDefault order).
 */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error(path ? `kubeconfig ${path} has no current cluster` : 'no kubeconfig found and not running in a cluster');
  return kc;
}
