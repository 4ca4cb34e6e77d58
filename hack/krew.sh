#!/usr/bin/env bash
# Builds the krew archive for `kubectl kaiwo-monitor` from an `npm pack` tarball and renders the manifest
# template deploy/krew/kaiwo-monitor.yaml for it (version and sha256). Prints the manifest path last.
#
#   hack/krew.sh <kaiwo-monitor-X.Y.Z.tgz> <out dir>
#
# The archive holds the installed package (compiled dist/ and production dependencies, plain JavaScript, so
# one archive serves linux and darwin on any CPU) as kaiwo-monitor/; krew links its dist/cli/main.js as
# kubectl-kaiwo_monitor.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[[ $# -eq 2 && -f $1 ]] || { echo "usage: $0 <kaiwo-monitor-X.Y.Z.tgz> <out dir>" >&2; exit 2; }
tgz=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
mkdir -p "$2"; out=$(cd "$2" && pwd)
version=$(tar -xzOf "$tgz" package/package.json | sed -nE 's/^  "version": "([^"]+)",?$/\1/p')
[[ -n $version ]] || { echo "no version in $tgz" >&2; exit 1; }
stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
npm install --global --prefix "$stage" --omit=dev --no-audit --no-fund --prefer-offline "$tgz" >&2
mv "$stage/lib/node_modules/kaiwo-monitor" "$stage/kaiwo-monitor"
archive="$out/kubectl-kaiwo_monitor-$version.tar.gz"
tar -C "$stage" -czf "$archive" kaiwo-monitor
sha=$(sha256sum "$archive" | cut -d' ' -f1)
sed -e "s/{{VERSION}}/$version/g" -e "s/{{SHA256}}/$sha/g" "$root/deploy/krew/kaiwo-monitor.yaml" > "$out/kaiwo-monitor.yaml"
echo "krew archive $archive ($(du -h "$archive" | cut -f1)), sha256 $sha" >&2
echo "$out/kaiwo-monitor.yaml"
