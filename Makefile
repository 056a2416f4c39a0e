# Targets a capgen developer, CI and a packager use. `make test` is the one
# test command; `make install` installs as distributions lay files out.
GO       ?= go
FUZZTIME ?= 20s
GOMD2MAN ?= go-md2man

# Where `make install` puts files, under $(DESTDIR) when a package is built.
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
MANDIR  ?= $(DATADIR)/man
DESTDIR ?=

BINARIES    = bin/capgen bin/capshim
MANPAGES    = bin/man/capgen.1 bin/man/capshim.1
COMPLETIONS = bin/completions/capgen.bash bin/completions/_capgen bin/completions/capgen.fish

.PHONY: all build man completions install uninstall test verify generate fuzz bench vet fmt clean FORCE

all: build test

# The binaries, in bin/; go build decides whether they are out of date.
# Statically linked: a trial runs capgen or capshim inside the container of
# a sandboxed runtime (see plugin/ociruntime's ServeReport).
build: $(BINARIES)

bin/%: FORCE
	CGO_ENABLED=0 $(GO) build -trimpath -o $@ ./cmd/$*

man: $(MANPAGES)

bin/man/%.1: docs/man/%.1.md
	@mkdir -p $(@D)
	$(GOMD2MAN) -in $< -out $@

completions: $(COMPLETIONS)

bin/completions/capgen.bash: bin/capgen
	@mkdir -p $(@D)
	bin/capgen completion bash >$@
bin/completions/_capgen: bin/capgen
	@mkdir -p $(@D)
	bin/capgen completion zsh >$@
bin/completions/capgen.fish: bin/capgen
	@mkdir -p $(@D)
	bin/capgen completion fish >$@

# The hook file names the installed capgen.
install: build man completions
	install -D -m 0755 bin/capgen $(DESTDIR)$(BINDIR)/capgen
	install -D -m 0755 bin/capshim $(DESTDIR)$(BINDIR)/capshim
	install -D -m 0644 bin/man/capgen.1 $(DESTDIR)$(MANDIR)/man1/capgen.1
	install -D -m 0644 bin/man/capshim.1 $(DESTDIR)$(MANDIR)/man1/capshim.1
	install -D -m 0644 bin/completions/capgen.bash $(DESTDIR)$(DATADIR)/bash-completion/completions/capgen
	install -D -m 0644 bin/completions/_capgen $(DESTDIR)$(DATADIR)/zsh/site-functions/_capgen
	install -D -m 0644 bin/completions/capgen.fish $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/capgen.fish
	install -d $(DESTDIR)$(DATADIR)/containers/capgen/hooks.d
	sed 's|"/usr/bin/capgen"|"$(BINDIR)/capgen"|' cmd/capgen/hooks.d/99-capgen.json \
		>$(DESTDIR)$(DATADIR)/containers/capgen/hooks.d/99-capgen.json
	chmod 0644 $(DESTDIR)$(DATADIR)/containers/capgen/hooks.d/99-capgen.json

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/capgen $(DESTDIR)$(BINDIR)/capshim \
		$(DESTDIR)$(MANDIR)/man1/capgen.1 $(DESTDIR)$(MANDIR)/man1/capshim.1 \
		$(DESTDIR)$(DATADIR)/bash-completion/completions/capgen \
		$(DESTDIR)$(DATADIR)/zsh/site-functions/_capgen \
		$(DESTDIR)$(DATADIR)/fish/vendor_completions.d/capgen.fish \
		$(DESTDIR)$(DATADIR)/containers/capgen/hooks.d/99-capgen.json

# The whole suite (the README's test command): unit, corpus, hook and end-to-end tests. Tests that need
# the shared header corpus or root with the runtimes and engines skip without them,
# unless CAPGEN_REQUIRE_CORPUS=1 / CAPGEN_REQUIRE_E2E=1 make them fail.
test:
	$(GO) test -count=1 ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w $$(git ls-files '*.go')

# Every hack/verify-*.sh, as Kubernetes' verify rule runs its scripts.
verify:
	@set -e; for script in hack/verify-*.sh; do echo "== $$script"; $$script; done

generate:
	hack/update-capnames.sh

# Every fuzz target for FUZZTIME each; see hack/fuzz.sh.
fuzz:
	FUZZTIME=$(FUZZTIME) hack/fuzz.sh

bench:
	hack/bench.sh

clean:
	rm -rf bin

FORCE:
