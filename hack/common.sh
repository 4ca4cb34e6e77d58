# Sourced by the build scripts: pinned versions, Go settings (no toolchain downloads, no cgo) and the cache
# root outside the repo.
# shellcheck source=versions.env
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/versions.env"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
cache_root=${KAIWO_MONITOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kaiwo-monitor}
