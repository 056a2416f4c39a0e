# Targets a capgen developer and CI use. `make test` is the one test command.
GO       ?= go
FUZZTIME ?= 20s

.PHONY: all build test verify generate fuzz bench vet fmt

all: build test

build:
	$(GO) build ./...

# The whole suite (the README's test command): unit, corpus, hook and end-to-end tests. Tests that need
# the shared header corpus or root with runc/crun/busybox skip without them,
# unless CAPGEN_REQUIRE_CORPUS=1 / CAPGEN_REQUIRE_E2E=1 make them fail.
test:
	$(GO) test -count=1 ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w $$(git ls-files '*.go')

verify:
	hack/verify-capnames.sh

generate:
	hack/update-capnames.sh

# Every fuzz target for FUZZTIME each; see hack/fuzz.sh.
fuzz:
	FUZZTIME=$(FUZZTIME) hack/fuzz.sh

bench:
	hack/bench.sh
