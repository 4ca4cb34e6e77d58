# kaiwo-monitor — see README.md. Everything runs on the Node 24 pinned in package.json (node_modules/.bin/node).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
# kube-apiserver, etcd and kubectl built from Go modules (hack/controlplane/build.sh) come first on PATH too.
CP_BIN := $(shell bash hack/controlplane/build.sh --bin-dir)
export PATH := $(CURDIR)/node_modules/.bin:$(CP_BIN):$(PATH)

# One version for the npm package, the image tag, the chart's appVersion and config/manager's newTag (a unit test
# checks they agree): package.json's "version".
VERSION := $(shell sed -nE 's/^  "version": "([^"]+)",?$$/\1/p' package.json)
IMAGE ?= ghcr.io/silogen/kaiwo-monitor:$(VERSION)
NPM_STAMP := node_modules/.package-lock.json

.PHONY: help deps controlplane tools testbed build generate bench-operator bench-detection bench-hostile bench-capacity bench-scale bench-why lint test test-unit test-integration cluster-up cluster-down cluster-status \
        demo clean clean-cache docker-build docker-push image pack krew test-alerts

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund >&2
	@touch $@

deps: $(NPM_STAMP) ## install npm dependencies (npm ci) when package-lock.json changed

controlplane: ## build kube-apiserver, kubectl and etcd from Go modules into ~/.cache/kaiwo-monitor (cached by version)
	@start=$$(date +%s); bash hack/controlplane/build.sh >/dev/null; \
	  echo "control-plane binaries ready in $$(( $$(date +%s) - start ))s" >&2

tools: ## build prometheus, promtool and helm from their Go modules (used by tests), cached by version
	@start=$$(date +%s); bash hack/build-tool.sh prometheus >/dev/null; bash hack/build-tool.sh helm >/dev/null; \
	  bash hack/build-tool.sh gitops >/dev/null; \
	  echo "test tools ready in $$(( $$(date +%s) - start ))s" >&2

build: deps ## compile TypeScript to dist/; links kaiwo-monitor and kubectl-kaiwo_monitor into node_modules/.bin (npx kaiwo-monitor)
	npm run --silent build
	@chmod +x dist/cli/main.js; for b in kaiwo-monitor kubectl-kaiwo_monitor; do ln -sf ../../dist/cli/main.js node_modules/.bin/$$b; done

generate: deps ## regenerate the KaiwoMonitor CRD (crds/, config/crd/bases/) from src/api/schema.ts
	tsx hack/generate.ts

lint: deps ## typecheck + eslint (strict) + prettier --check (format: npm run format)
	npm run --silent lint

testbed: ## build the test bed's parts from Go modules (controller-manager, scheduler, kwok, Kueue x2, the Kaiwo operator x2), cached by version
	@start=$$(date +%s); for p in kube kwok kueue kueue-legacy kaiwo kaiwo-next; do bash hack/build-tool.sh $$p >/dev/null; done; \
	  echo "test bed binaries ready in $$(( $$(date +%s) - start ))s" >&2

test: deps controlplane tools testbed ## unit + integration tests (integration on a kube-apiserver the tests start) with coverage
	@start=$$(date +%s); npm test; echo "make test finished in $$(( $$(date +%s) - start ))s"

test-unit: deps ## unit tests only (no cluster)
	npm run --silent test:unit

test-integration: deps controlplane tools testbed ## integration tests only
	npm run --silent test:integration

bench-operator: build controlplane ## measure operator start-up, idle status PATCHes and RSS on the local control plane
	tsx hack/bench/operator.ts

bench-detection: build controlplane ## detection latency per fault class, median and max over RUNS (default 5)
	tsx hack/bench/detection.ts

bench-why: build controlplane ## kaiwo-monitor why for one pending Workload at 5,000 nodes / 50,000 Workloads (SCALE=1, RUNS=5)
	tsx hack/bench/why.ts

bench-capacity: deps ## capacity evaluation time at 5,000 nodes / 50,000 Workloads (in memory; target <= 50 ms)
	tsx hack/bench/capacity.ts

bench-hostile: deps ## all hostile /metrics and PromQL peers at once (BENCH_SECONDS): peak RSS, event-loop delay, sockets, 100k-series eval
	tsx hack/bench/hostile.ts

bench-scale: build controlplane ## kaiwo-monitor vs kube-state-metrics on a loaded control plane (SCALE=0.2 of 5,000 nodes / 43,500 Workloads / 10,000 KaiwoJobs; PROFILE=1, KSM=0)
	tsx hack/bench/scale.ts

cluster-up: deps controlplane ## start the local control plane in the background; prints its kubeconfig path (FULL=1: the test bed with real Kaiwo v0.1.9 on Kueue v0.12.3; KAIWO=next for Kaiwo v0.2.0-rc12, KUEUE=<version>)
	@if [ "$${FULL:-}" = 1 ]; then $(MAKE) -s testbed && tsx src/localcluster/testbed/cli.ts up $${KUEUE:-}; else tsx src/localcluster/cluster.ts up; fi

cluster-down: deps ## stop the local control plane (and the FULL=1 test bed)
	@tsx src/localcluster/testbed/cli.ts down >/dev/null; tsx src/localcluster/cluster.ts down

cluster-status: deps ## is the local control plane (or the FULL=1 test bed) running?
	@tsx src/localcluster/testbed/cli.ts status || tsx src/localcluster/cluster.ts status

demo: deps controlplane $(if $(filter 1,$(SIM)),,testbed) ## the full story on the test bed: real Kueue admits a Job, operator, a KaiwoMonitor, one fault per area, why is it pending (DEMO_ONCE=1 exits; SIM=1: the older simulated stack)
	@tsx hack/$(if $(filter 1,$(SIM)),demo-sim,demo).ts

clean: ## remove build output
	rm -rf dist coverage out

clean-cache: cluster-down ## wipe ~/.cache/kaiwo-monitor (control-plane binaries, cluster state)
	rm -rf "$${KAIWO_MONITOR_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/kaiwo-monitor}"

docker-build: ## build the operator image (needs a container engine)
	docker build -t $(IMAGE) .

docker-push: ## push the operator image
	docker push $(IMAGE)

image: ## print the image reference (tag = package.json version, like the chart's appVersion and config/manager)
	@echo $(IMAGE)

pack: deps ## npm pack into out/ from a fresh dist/ (install with: npm i -g ./out/kaiwo-monitor-$(VERSION).tgz; Node >= 24)
	@rm -rf dist && mkdir -p out && npm pack --silent --pack-destination out >/dev/null && echo out/kaiwo-monitor-$(VERSION).tgz

krew: pack ## krew archive + filled-in manifest in out/ (kubectl krew install --manifest=... --archive=...)
	@bash hack/krew.sh out/kaiwo-monitor-$(VERSION).tgz out

test-alerts: deps ## promtool test rules: every alert in config/alerts firing and not firing (also part of make test)
	npx mocha --forbid-only test/integration/alerts.test.ts
