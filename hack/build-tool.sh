#!/usr/bin/env bash
# Builds a test tool from its Go module (wrapper module in hack/<tool>/) into
#   ${KAIWO_MONITOR_CACHE:-~/.cache/kaiwo-monitor}/<tool>/<version>/bin/
# and prints that directory on the last line; --bin-dir only prints it.
#
#   hack/build-tool.sh prometheus   prometheus + promtool (GPU-utilization tests, rule checks)
#   hack/build-tool.sh helm         helm (chart rendering tests)
#   hack/build-tool.sh gitops       gitops-health: kstatus (sigs.k8s.io/cli-utils) + Argo CD's Lua (gopher-lua),
#                                   our own small main package in hack/gitops, cached by a hash of its source
# The test bed's parts (wrapper modules in hack/testbed/<tool>/, rewritten by hack/testbed/regen.sh):
#   hack/build-tool.sh kube           kube-controller-manager + kube-scheduler (k8s.io/kubernetes, K8S_VERSION)
#   hack/build-tool.sh kwok           kwok (sigs.k8s.io/kwok, KWOK_VERSION)
#   hack/build-tool.sh kueue          the Kueue manager at KUEUE_VERSION (newest served release)
#   hack/build-tool.sh kueue-legacy   the Kueue manager at KUEUE_LEGACY_VERSION (Kaiwo v0.1.9's line)
#   hack/build-tool.sh kaiwo          the real Kaiwo operator at KAIWO_VERSION (cmd/operator)
#   hack/build-tool.sh kaiwo-next     the real Kaiwo operator at KAIWO_NEXT_VERSION (the newest release candidate)
#     Kaiwo: the module github.com/silogen/kaiwo@<version> first (what users elsewhere can `go install`); where
#     the module proxy refuses it (here), the operator source kept in ../shared/upstream/kaiwo/<version>/src,
#     built in a writable copy. Its dependencies come from the module proxy either way.
# Benchmarks only:
#   hack/build-tool.sh ksm            kube-state-metrics (k8s.io/kube-state-metrics/v2, KSM_VERSION) for make bench-scale
set -euo pipefail
hack=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
source "$hack/common.sh"
tool=${1:-}
case $tool in
  prometheus)
    module=github.com/prometheus/prometheus version=$PROMETHEUS_VERSION tags=remove_all_sd
    cmds=(prometheus promtool)
    # Module v0.MNN.P is Prometheus M.NN.P.
    ldflags="-X github.com/prometheus/common/version.Version=$(sed -E 's/^v0\.([0-9])([0-9]+)\.([0-9]+)$/\1.\2.\3/' <<<"$version")" ;;
  helm)
    module=helm.sh/helm/v3 version=$HELM_VERSION tags=""
    cmds=(helm)
    ldflags="-X helm.sh/helm/v3/internal/version.version=$version" ;;
  gitops)
    module=local version=$(cat "$hack/gitops/go.mod" "$hack/gitops/go.sum" "$hack/gitops/main.go" | sha256sum | cut -c1-16) tags=""
    cmds=(gitops-health)
    ldflags="" ;;
  kube)
    module=k8s.io/kubernetes version=$K8S_VERSION tags="" dir=$hack/testbed/kube
    cmds=(kube-controller-manager kube-scheduler)
    minor=${version#v1.}; minor=${minor%%.*}; ldflags=""
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags="$ldflags -X $p.gitVersion=$version -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
      ldflags="$ldflags -X $p.gitCommit=module-$version"
    done ;;
  kwok)
    module=sigs.k8s.io/kwok version=$KWOK_VERSION tags="" dir=$hack/testbed/kwok
    cmds=(kwok)
    ldflags="" ;;  # pkg/consts.Version already says 0.8.0
  kueue|kueue-legacy)
    module=sigs.k8s.io/kueue tags="" dir=$hack/testbed/$tool
    version=$KUEUE_VERSION; [[ $tool == kueue-legacy ]] && version=$KUEUE_LEGACY_VERSION
    cmds=(kueue)
    ldflags="-X sigs.k8s.io/kueue/pkg/version.GitVersion=$version -X sigs.k8s.io/kueue/pkg/version.GitCommit=module-$version" ;;
  kaiwo|kaiwo-next)
    module=github.com/silogen/kaiwo tags=""
    version=$KAIWO_VERSION; [[ $tool == kaiwo-next ]] && version=$KAIWO_NEXT_VERSION
    cmds=(operator)
    ldflags="" ;;
  ksm)
    module=k8s.io/kube-state-metrics/v2 version=$KSM_VERSION tags="" main_pkg=k8s.io/kube-state-metrics/v2
    cmds=(kube-state-metrics)
    ldflags="-X github.com/prometheus/common/version.Version=${version#v}" ;;
  *) echo "usage: $0 prometheus|helm|gitops|kube|kwok|kueue|kueue-legacy|kaiwo|kaiwo-next|ksm [--bin-dir]" >&2; exit 2 ;;
esac
dir=${dir:-$hack/$tool}
bin_dir="$cache_root/$tool/$version/bin"
[[ ${2:-} == --bin-dir ]] && { echo "$bin_dir"; exit 0; }
missing=()
for b in "${cmds[@]}"; do [[ -x $bin_dir/$b ]] || missing+=("$b"); done
if (( ${#missing[@]} == 0 )); then
  echo "[build-$tool] cached: $bin_dir" >&2
  echo "$bin_dir"; exit 0
fi
if [[ $module == github.com/silogen/kaiwo ]]; then
  # A throwaway module that requires Kaiwo's: `go mod download` answers at once (the proxy refuses it here).
  scratch=$(mktemp -d); dir=$scratch; trap 'rm -rf "$scratch"' EXIT
  if ( cd "$dir" && go mod init kaiwo-build >/dev/null 2>&1 && go mod download "$module@$version" >/dev/null 2>&1 ); then
    echo "[build-$tool] building from the module $module@$version" >&2
    ( cd "$dir" && go get "$module@$version" >/dev/null 2>&1 )
  else
    src=$(cd "$hack/../.." && pwd)/shared/upstream/kaiwo/$version/src
    [[ -f $src/go.mod ]] || { echo "[build-$tool] the module proxy refuses $module@$version and $src is missing" >&2; exit 1; }
    echo "[build-$tool] the module proxy refuses $module@$version: building its source from ${src}" >&2
    rm -rf "$dir"; mkdir -p "$dir"; cp -R "$src/." "$dir/"; chmod -R u+w "$dir"
    main_pkg=./cmd/operator
  fi
elif [[ $module != local ]]; then
  pinned=$(cd "$dir" && go list -m -f '{{.Version}}' "$module")
  [[ $pinned == "$version" ]] || { echo "[build-$tool] ${dir#"$hack"/}/go.mod pins $pinned, versions.env says $version" >&2; exit 1; }
fi
mkdir -p "$bin_dir"
tmp=$(mktemp -d "$bin_dir/.build.XXXXXX"); trap 'rm -rf "$tmp" ${scratch:+"$scratch"}' EXIT
for b in "${missing[@]}"; do
  t0=$(date +%s)
  echo "[build-$tool] building $b $version ..." >&2
  pkg=${main_pkg:-$module/cmd/$b}; [[ $module == local ]] && pkg=.
  ( cd "$dir" && go build ${tags:+-tags "$tags"} -trimpath -ldflags "-s -w $ldflags" -o "$tmp/$b" "$pkg" )
  mv "$tmp/$b" "$bin_dir/$b"
  echo "[build-$tool] built $b in $(( $(date +%s) - t0 ))s" >&2
done
echo "$bin_dir"
