# Graft — set-up, build, tests, demo, fuzzing and benchmarks.
# `make demo` and `make test` work on a fresh Debian machine: they install the -dev packages they
# need (as root) and then build.

SHELL := /bin/bash
APT_PACKAGES := libzip-dev libhdf5-dev libopenblas-dev libjpeg-dev libpng-dev pkg-config
SWIFT ?= swift
GRAFT := .build/release/graft

.PHONY: all deps build test demo fuzz bench fixtures clean

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
	$(SWIFT) build -c release --product graft

## The whole test suite on a release build (full-size ../shared/fixtures tests included when present).
test: deps
	$(SWIFT) build -c release --build-tests
	$(SWIFT) test -c release --skip-build

## The main job on the bundled default (see tools/demo.sh).
demo: build
	./tools/demo.sh

clean:
	rm -rf .build .build-*
