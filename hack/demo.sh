#!/usr/bin/env bash
# make demo: the local control plane with all CRDs, the operator running against it, and a sample KaiwoMonitor.
# Everything keeps running in the background until `make cluster-down`.
set -euo pipefail
cd "$(dirname "$0")/.."
kc=$(tsx src/dev/cluster.ts up)
export KUBECONFIG=$kc
state=$(dirname "$(dirname "$kc")")
pidfile=$state/operator.pid
if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "operator already running (pid $(cat "$pidfile"), log $state/operator.log)" >&2
else
  nohup node --import tsx src/cli/main.ts run --kubeconfig "$kc" --health-probe-bind-address=127.0.0.1:0 \
    --log-format=console >"$state/operator.log" 2>&1 &
  echo $! >"$pidfile"
  echo "operator started (pid $!, log $state/operator.log)" >&2
fi
kubectl apply -f config/samples/kaiwomonitor_minimal.yaml
kubectl wait kaiwomonitor/default --for=condition=Ready --timeout=60s
echo
kubectl get kaiwomonitors -o wide
cat <<MSG

The operator reconciles KaiwoMonitor/default on a local kube-apiserver. Try:
  export KUBECONFIG=$kc
  kubectl get kmon -o wide
  kubectl describe kmon default
  kubectl get events --field-selector involvedObject.kind=KaiwoMonitor
  tail -f $state/operator.log
Stop everything with: make cluster-down
MSG
