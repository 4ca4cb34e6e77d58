#!/usr/bin/env bash
# Rewrites the test bed's wrapper modules (hack/testbed/*/go.mod) from hack/versions.env, then `go mod tidy`.
#   kube          kube-controller-manager + kube-scheduler: k8s.io/kubernetes with the same staging replaces as
#                 hack/controlplane/apiserver (run hack/controlplane/build.sh --regen first when K8S_VERSION moves)
#   kwok          sigs.k8s.io/kwok/cmd/kwok
#   kueue         sigs.k8s.io/kueue/cmd/kueue at KUEUE_VERSION (the newest served release)
#   kueue-legacy  sigs.k8s.io/kueue/cmd/kueue at KUEUE_LEGACY_VERSION (the line Kaiwo v0.1.9 is built against)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../common.sh
source "$here/../common.sh"

( cd "$here/kube"
  sed -e 's#^module .*#module kaiwo-monitor.invalid/testbed/kube#' \
      -e 's#k8s.io/kubernetes/cmd/kube-apiserver#k8s.io/kubernetes/cmd/kube-controller-manager#' \
      -e 's#k8s.io/kubernetes/cmd/kubectl#k8s.io/kubernetes/cmd/kube-scheduler#' \
      -e '1,3d' "$here/../controlplane/apiserver/go.mod" > go.mod.tmp
  { echo "// Wrapper module: builds kube-controller-manager and kube-scheduler from k8s.io/kubernetes (same version and"
    echo "// staging replaces as hack/controlplane/apiserver; regenerate with hack/testbed/regen.sh). Every staging module"
    echo "// that k8s.io/kubernetes replaces with ./staging/... is mapped to its published tag."
    cat go.mod.tmp; } > go.mod
  rm go.mod.tmp
  cp "$here/../controlplane/apiserver/go.sum" go.sum
  go mod tidy )

wrap() { # <dir> <module> <version> <main package>
  ( cd "$here/$1"
    { echo "// Wrapper module: builds the test bed's $1 binary from its Go module through the module proxy."
      echo "// Regenerate with hack/testbed/regen.sh from hack/versions.env."
      echo "module kaiwo-monitor.invalid/testbed/$1"; echo; echo "go 1.26.0"; echo
      echo "require $2 $3"; echo; echo "tool $4"; } > go.mod
    go mod tidy )
}
wrap kwok sigs.k8s.io/kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok
wrap kueue sigs.k8s.io/kueue "$KUEUE_VERSION" sigs.k8s.io/kueue/cmd/kueue
wrap kueue-legacy sigs.k8s.io/kueue "$KUEUE_LEGACY_VERSION" sigs.k8s.io/kueue/cmd/kueue
