#!/usr/bin/env bash
# Builds the Prometheus server from its Go module (hack/prometheus/go.mod, -tags remove_all_sd) into
#   ${KAIWO_MONITOR_CACHE:-~/.cache/kaiwo-monitor}/prometheus/<version>/bin/prometheus
# and prints that path on the last line. --bin prints it without building.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../common.sh
source "$here/../common.sh"
bin="$cache_root/prometheus/${PROMETHEUS_VERSION}/bin/prometheus"
[[ ${1:-} == --bin ]] && { echo "$bin"; exit 0; }
if [[ -x $bin ]]; then
  echo "[build-prometheus] cached: $bin" >&2
  echo "$bin"; exit 0
fi
pinned=$(cd "$here" && go list -m -f '{{.Version}}' github.com/prometheus/prometheus)
[[ $pinned == "$PROMETHEUS_VERSION" ]] || { echo "[build-prometheus] go.mod pins $pinned, versions.env says $PROMETHEUS_VERSION" >&2; exit 1; }
mkdir -p "$(dirname "$bin")"
tmp=$(mktemp -d "$(dirname "$bin")/.build.XXXXXX"); trap 'rm -rf "$tmp"' EXIT
t0=$(date +%s)
echo "[build-prometheus] building prometheus ${PROMETHEUS_VERSION} ..." >&2
# Module v0.MNN.P is Prometheus M.NN.P.
version=$(sed -E 's/^v0\.([0-9])([0-9]+)\.([0-9]+)$/\1.\2.\3/' <<<"$PROMETHEUS_VERSION")
( cd "$here" && go build -tags remove_all_sd -trimpath \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=${version}" \
    -o "$tmp/prometheus" github.com/prometheus/prometheus/cmd/prometheus )
mv "$tmp/prometheus" "$bin"
echo "[build-prometheus] built in $(( $(date +%s) - t0 ))s -> $bin" >&2
echo "$bin"
