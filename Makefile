# otelcol-chroma: build, run and test. Everything it needs it installs into
# .tools/ (ignored by git) and reuses on the next run.

SHELL := /bin/bash
ROOT  := $(abspath .)
TOOLS := $(ROOT)/.tools
BIN   := $(TOOLS)/bin
GO    ?= go
# chroma.sqlite3 is read with SQLite's C library, through cgo: a C compiler (gcc) is needed.
export CGO_ENABLED := 1

MDATAGEN  := $(BIN)/mdatagen
BUILDER   := $(BIN)/builder
CHROMA    := $(TOOLS)/npm/node_modules/.bin/chroma
VERSITYGW := $(BIN)/versitygw
FAKE_GCS_SERVER := $(BIN)/fake-gcs-server
AZURITE   := $(TOOLS)/azurite/node_modules/.bin/azurite-blob

# Tests that need a real Chroma, S3, GCS or Azure server fail instead of skipping.
TEST_ENV := AWS_EC2_METADATA_DISABLED=true REQUIRE_REAL_COMPONENTS=1 CHROMA_BIN=$(CHROMA) VERSITYGW_BIN=$(VERSITYGW) FAKE_GCS_SERVER_BIN=$(FAKE_GCS_SERVER) AZURITE_BIN=$(AZURITE) OTELCOL_CHROMA_BIN=$(ROOT)/bin/otelcol-chroma
FUZZTIME ?= 20s

.PHONY: all build run test unit-test rules-test fuzz vet check-generated generate tools restic bench bench-compare clean

all: build

## build: compile bin/otelcol-chroma
build:
	$(GO) build -trimpath -o bin/otelcol-chroma ./cmd/otelcol-chroma

## run: build and run the collector on the embedded default config against a
## scratch copy of the demo Chroma persist directory, snapshotting it into a
## folder bucket at start and every SNAPSHOT_INTERVAL. Ctrl-C stops it.
SNAPSHOT_INTERVAL ?= 5m
run: build
	@rm -rf .scratch/demo/persist && mkdir -p .scratch/demo/bucket
	@cp -a testdata/chroma-demo .scratch/demo/persist
	@echo "otelcol-chroma: probing .scratch/demo/persist every 10s; snapshots into .scratch/demo/bucket at start and every $(SNAPSHOT_INTERVAL)"
	@echo "  (otelcol-chroma snapshot list --bucket .scratch/demo/bucket); OTLP on 127.0.0.1:4317 (gRPC) and :4318 (HTTP); Ctrl-C stops"
	CHROMA_PERSIST_DIR=$(ROOT)/.scratch/demo/persist CHROMA_PROBE_INTERVAL=10s CHROMA_INSTANCE=demo \
	  SNAPSHOT_BUCKET_URL=file://$(ROOT)/.scratch/demo/bucket SNAPSHOT_INTERVAL=$(SNAPSHOT_INTERVAL) \
	  DEBUG_VERBOSITY=detailed exec ./bin/otelcol-chroma

## test: vet, generated-code check, every test with -race against real
## Chroma and S3 servers, and a short fuzz run
test: tools vet check-generated unit-test fuzz

unit-test: tools build
	$(TEST_ENV) $(GO) test -race -count=1 -timeout 30m ./...

## rules-test: only the alert rules' tests (promtool check/test rules, amtool,
## a real Alertmanager and Prometheus, the bucket outage end to end with the
## collector and versitygw); `make test` runs them with every other test
rules-test: prometheus-tools $(VERSITYGW) build
	$(TEST_ENV) $(GO) test -count=1 ./rules/

fuzz:
	@if [ -d processor/scrubprocessor ]; then \
	  $(GO) test -run '^$$' -fuzz '^FuzzVendorPolicy$$' -fuzztime $(FUZZTIME) ./processor/scrubprocessor; \
	fi

vet:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

## generate: reproduce every generated file (OCB sources, mdatagen output)
generate: $(MDATAGEN) $(BUILDER) generate-deploy
	scripts/generate.sh

## generate-deploy: the PrometheusRule and the rules ConfigMap of deploy/kubernetes from rules/*.yml
generate-deploy:
	$(GO) run ./deploy/kubernetes/genrule

## image: the container image (deploy/Dockerfile; IMAGE names it)
IMAGE ?= otelcol-chroma:latest
image:
	docker build -f deploy/Dockerfile -t $(IMAGE) .

## check-generated: fail when the committed generated code differs from what
## `make generate` produces
check-generated: generate
	@if [ -n "$$(git status --porcelain -- cmd receiver processor exporter extension deploy)" ]; then \
	  echo "generated code is out of date: run 'make generate' and commit the result"; \
	  git status --short -- cmd receiver processor exporter extension deploy; \
	  git --no-pager diff --stat; exit 1; \
	fi

tools: $(MDATAGEN) $(BUILDER) $(CHROMA) $(VERSITYGW) $(FAKE_GCS_SERVER) $(AZURITE) restore-by-hand-tools restic prometheus-tools

# promtool, amtool, Prometheus and Alertmanager for the tests of rules/ and
# of the alertrules exporter (Debian packages; installed only when one is
# missing).
.PHONY: prometheus-tools
prometheus-tools:
	scripts/install-prometheus.sh

# The command-line tools of FORMAT.md's "restore by hand", which a test runs
# (Debian packages; installed only when one is missing).
RESTORE_BY_HAND_TOOLS := age zstd jq openssl xxd

.PHONY: restore-by-hand-tools
restore-by-hand-tools:
	@missing=; for t in $(RESTORE_BY_HAND_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	  if [ -n "$$missing" ]; then \
	    echo "installing$$missing for the restore-by-hand test"; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends $(RESTORE_BY_HAND_TOOLS); \
	  fi

## restic: the reference the retention tests compare with (Debian package)
restic:
	scripts/install-restic.sh

$(MDATAGEN): internal/tools/go.mod
	@mkdir -p $(BIN)
	cd internal/tools && $(GO) build -o $@ go.opentelemetry.io/collector/cmd/mdatagen

$(BUILDER): internal/tools/go.mod
	@mkdir -p $(BIN)
	cd internal/tools && $(GO) build -o $@ go.opentelemetry.io/collector/cmd/builder

$(CHROMA):
	scripts/install-chroma.sh

$(VERSITYGW):
	scripts/install-versitygw.sh

$(FAKE_GCS_SERVER):
	scripts/install-fake-gcs-server.sh

$(AZURITE):
	scripts/install-azurite.sh

## bench: Go benchmarks of every component (figures go to BENCHMARKS.md)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench-compare: the side-by-side runs: scrub against contrib's redaction
## processor (~13 min), snapshots against restic at 0.5 and 2 GiB (~30 min)
## and the production configuration under overload (~1 min)
bench-compare: tools
	@command -v restic >/dev/null && command -v jq >/dev/null && [ -x /usr/bin/time ] || \
	  { apt-get update -qq && apt-get install -y -qq --no-install-recommends restic jq time; }
	scripts/bench-scrub.sh
	scripts/bench-snapshot.sh
	scripts/bench-pipelines.sh

## bench-pipelines: RSS of the production configuration under overload (~1 min)
.PHONY: bench-pipelines
bench-pipelines:
	scripts/bench-pipelines.sh

clean:
	rm -rf bin .scratch
