# scimd — see README.md. Two commands set everything up on a machine with Go:
#   make run    start the server on the embedded store (./data)
#   make test   run every test, including the MongoDB backend's (on embedded FerretDB)

GO      ?= go
PKGS    := ./...
BENCH   ?= .

# The build's identity, printed by "scimd version" and served in /healthz.
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT     ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS    := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(BUILD_DATE)

.PHONY: run build image cluster test test-root test-e2e lint bench fuzz clean

run:
	$(GO) run -ldflags '$(LDFLAGS)' ./cmd/scimd serve

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/scimd ./cmd/scimd

# The container image (Dockerfile), stamped like "make build". Needs a container engine.
image:
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) --build-arg BUILD_DATE=$(BUILD_DATE) -t scimd:$(VERSION) -t scimd:latest .

# Two replicas on PostgreSQL + FerretDB: cross-replica checks and 1-vs-2 replica figures.
cluster:
	cd test && $(GO) run ./cmd/cluster

test: lint test-root test-e2e

# Unit, conformance and process tests of the main module.
test-root:
	$(GO) test -count=1 -timeout 10m $(PKGS)

# The test/ module: the MongoDB backend on embedded FerretDB, end-to-end suites.
test-e2e:
	cd test && $(GO) test -count=1 -timeout 15m ./...

lint:
	@out=$$(gofmt -l . ); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	cd test && $(GO) vet ./...

# Benchmarks: the filter evaluator, SCIM PATCH against GET (allocations,
# 8-client throughput, the largest bodies), the embedded store at BENCH_USERS
# users (default 1,000,000, generated straight into the store; set
# SCIMD_EMBEDDED_BENCH_DIR to keep the generated store between runs), and the
# MongoDB backend's round trips per operation, `scimd import`/`export` of
# 100,000 users (cmd/scimd). docs/performance.md and docs/operations.md read
# the figures.
BENCH_USERS ?= 1000000
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -timeout 30m ./schemas/ ./directory/ ./scim/ ./storage/embedded/internal/overlay/ ./storage/embedded/internal/wal/
	SCIMD_BENCH_USERS=$(BENCH_USERS) $(GO) test -run '^$$' -bench '$(BENCH)' -timeout 60m ./storage/embedded/
	SCIMD_BENCH_USERS=100000 $(GO) test -run '^$$' -bench 'ImportUsers|ExportUsers' -benchtime 1x -timeout 10m ./cmd/scimd/
	cd test && $(GO) test -run 'RoundTrips' -v -count=1 ./...

# Short fuzzing sessions of every parser (go test -fuzz takes one target at a time).
# Minimisation is bounded by executions, not time: the HTTP targets see a little
# run-to-run coverage noise (buffer pools), and a 5 s minimisation per "new"
# input used to stall them (15 executions in 20 s).
FUZZTIME ?= 30s
FUZZMINIMIZE ?= 100x
FUZZ_TARGETS := \
	./schemas:FuzzParseFilter ./schemas:FuzzFold ./schemas:FuzzFoldOps \
	./scim/internal/wire:FuzzReplaceSCIMUser ./scim/internal/wire:FuzzMergeNativeUser ./scim/internal/wire:FuzzPatchSCIMUser \
	./scim:FuzzPatchAndFilter ./scim:FuzzScanPatch ./native:FuzzSearch ./internal/jsonw:FuzzDecode ./cmd/scimd:FuzzUserJSON \
	./storage/embedded:FuzzUserRecord ./storage/embedded:FuzzBlockDecode ./storage/embedded:FuzzBlockListDecode ./storage/embedded/internal/overlay:FuzzMerged ./storage/embedded/internal/wal:FuzzReplay
fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "== $$pkg $$fn"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg || exit 1; \
	done

clean:
	rm -rf bin
