// Package e2e holds capgen's end-to-end tests: they build OCI bundles with a
// busybox-static root file system, fill process.capabilities with
// [github.com/capgen-dev/capgen/plugin.Apply] (or the capgen precreate hook),
// run the containers with the real runc and crun of the machine and with
// every runc release that hack/build-runtimes.sh builds into
// $CAPGEN_E2E_RUNTIMES (v1.0.0-rc91 through v1.5.3), and compare the
// capability sets the container's /proc/self/status shows with the sets the
// plugin said it grants, carried through the kernel's execve rules. The
// engine tests run Debian's podman and buildah with capgen's precreate hook
// and with its runtime shim, over runc 1.1.5 and runc v1.0.0-rc92; they
// write a uniquely named containers.conf drop-in, which TestMain removes.
// The proposal's tests (docs/proposal.md) run the patched runc builds of
// $CAPGEN_E2E_RUNTIMES and Podman v5.8.2 with capgen's patches, which
// hack/verify-engines.sh builds into $CAPGEN_E2E_ENGINES/bin.
//
// The package has no code outside its tests. Run them as root:
//
//	go test ./plugin/e2e/ -run E2E -v
//
// They skip, saying why, when not run as root or when runc, crun or a static
// busybox are missing, and run without the releases when
// CAPGEN_E2E_RUNTIMES is unset (the proposal's tests also without
// CAPGEN_E2E_ENGINES); with CAPGEN_REQUIRE_E2E=1 (set by .ci/run)
// each of these fails instead.
package e2e
