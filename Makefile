# Two commands for a newcomer on a fresh Debian machine, as root:
#   make run    install what is missing, build, run Berth's main job with embedded defaults
#   make test   the same set-up, then every test
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Debian packages Berth needs to build, run and test.
APT_PACKAGES := build-essential pkg-config libseccomp-dev libcap-dev busybox-static zlib1g-dev libzstd-dev zstd \
                runc podman umoci skopeo file procps iproute2 python3 \
                containernetworking-plugins iptables curl rsync prometheus strace
SWIFT_FLAGS ?=
FIXTURES := Fixtures/.cache
ROOTFS := $(FIXTURES)/busybox-rootfs

.PHONY: help deps build release fixtures run test test-unit bench clean test-v2

help:
	@echo "make run    install what is missing, build, run Berth with embedded defaults"
	@echo "make test   install what is missing, build, run every test (then the cgroup and metrics tests on a pure-v2 kernel in a VM)"
	@echo "make bench  run the benchmarks (Benchmarks/)"

deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		if [ "$$(id -u)" != 0 ]; then echo "make: run as root to install:" $$missing >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@command -v swift >/dev/null || { echo "make: swift is not on PATH (expected under /opt/swift/usr/bin)" >&2; exit 1; }

build: deps
	swift build $(SWIFT_FLAGS)

release: deps
	swift build -c release $(SWIFT_FLAGS)

fixtures: deps
	@Fixtures/busybox-rootfs.sh $(ROOTFS)

# berthd in the foreground with its embedded defaults; Ctrl-C stops it (tasks keep running).
run: release fixtures
	@getent group berth >/dev/null || groupadd --system berth
	@echo "berthd: API on /run/berth/berth.sock; try: .build/release/berth agent info"
	exec .build/release/berthd

test: build fixtures
	BERTH_ROOTFS=$(CURDIR)/$(ROOTFS) BERTH_BINARY=$(CURDIR)/.build/debug/berth swift test $(SWIFT_FLAGS)
	$(MAKE) test-v2

bench: release fixtures
	Benchmarks/run.sh

clean:
	rm -rf .build $(FIXTURES)

# The cgroup tests, and the runtime's resource, GPU and bad-limit tests (real containers), again on
# a real pure-v2 kernel (cgroup_no_v1=all) in a vng VM, as root, CI=true. The metrics tests boot
# a VM of their own: run together with the others they once stalled for 15 minutes (never seen
# alone), so they also have a time limit.
test-v2: deps fixtures
	swift build --build-tests $(SWIFT_FLAGS)
	bin="$$(swift build --show-bin-path $(SWIFT_FLAGS))"; \
	BERTH_ROOTFS=$(CURDIR)/$(ROOTFS) BERTH_BINARY="$$bin/berth" Tests/vm/run-in-v2-vm.sh "$$bin/BerthPackageTests.xctest" \
		--testing-library swift-testing --filter 'BerthCgroupsTests|BerthRuntimeTests\.(ResourceTests|GPUTests|ResourceBadInputTests)' && \
	BERTH_ROOTFS=$(CURDIR)/$(ROOTFS) BERTH_BINARY="$$bin/berth" timeout 900 Tests/vm/run-in-v2-vm.sh "$$bin/BerthPackageTests.xctest" \
		--testing-library swift-testing --filter 'BerthMetricsTests'
