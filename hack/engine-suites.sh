#!/usr/bin/env bash
# hack/engine-suites.sh WORK PODMAN PODMAN_COMMON PODMAN_PATCHED BUILDAH BUILDAH_PATCHED
# runs the engines' own tests that touch capabilities against the builds
# hack/verify-engines.sh made (unmodified, Podman on patched common,
# patched), as the engines' maintainers run them, and compares them test
# by test with hack/engine-suites.expected (hack/enginesuites):
#
#   - podman-e2e: Podman v5.8.2's test/e2e (Ginkgo), the capability specs,
#     with runc 1.1.5 for the three Podman builds, and with runc
#     v1.0.0-rc92 for the patched one;
#   - buildah-bats: Buildah v1.44.0's capability tests (tests/*.bats), with
#     runc 1.1.5, for both Buildah builds;
#   - podman-bats: Podman's system tests that touch capabilities
#     (test/system), with runc 1.1.5, for the three Podman builds.
#
# WORK holds the unmodified release trees verify-engines.sh copied (podman,
# buildah); the suites run there. No test is edited. What the environment
# needs instead, each said where it is set up below: the images the suites
# would pull, made from busybox-static and saved under the names they
# restore; rc92 behind a wrapper that deletes .linux.seccomp (rc92 cannot
# load Podman 5.8's seccomp profile: "bdflush: permission denied", for
# every build); for Buildah, runc (Debian's crun 1.8.1 rejects
# runtime-spec 1.3.0), nproc at this host's hard limit and netns = "host"
# (Debian's netavark 1.4.0 is older than Buildah 1.44 supports); for
# Podman's system tests, an openssl without "req -quiet" (Debian's 3.0
# lacks it). The e2e binary and Buildah's copy tool are cached in
# $CAPGEN_ENGINES_CACHE/bin like the engines.
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/lib.sh
if [ $# -ne 6 ]; then
	echo "usage: $0 WORK PODMAN PODMAN_COMMON PODMAN_PATCHED BUILDAH BUILDAH_PATCHED" >&2
	exit 2
fi
work=$1 podman=$2 podman_common=$3 podman_patched=$4 buildah=$5 buildah_patched=$6
cache=${CAPGEN_ENGINES_CACHE:-/var/cache/capgen/engines}
runtimes=${CAPGEN_E2E_RUNTIMES:-/var/cache/capgen/runtimes}
tags="exclude_graphdriver_btrfs exclude_graphdriver_devicemapper containers_image_openpgp seccomp"
runc=$(command -v runc)
suites=$work/suites
mkdir -p "$suites"
# Buildah's scratch directories live outside WORK (see buildah_bats).
trap 'rm -rf /tmp/capgen-buildah-bats-$$-*' EXIT
export GOFLAGS=-mod=mod GOTOOLCHAIN=local PODMAN_IGNORE_CGROUPSV1_WARNING=1

# cached NAME DIR PACKAGE prints the path of DIR's PACKAGE built as a test
# binary (NAME *.test) or a command, in the cache, keyed on the Go version
# and the tags: DIR is a release tree, which never changes.
cached() {
	local name=$1 dir=$2 pkg=$3 key bin
	key=$({ go version; echo "$tags $name"; cat "$dir/go.sum"; } | sha256sum | cut -c1-16)
	bin=$cache/bin/$name-$key/$name
	if [ ! -x "$bin" ]; then
		echo "   building $name" >&2
		mkdir -p "$(dirname "$bin")"
		case $name in
		*.test) (cd "$dir" && go test -c -tags "$tags" -o "$bin.tmp" "$pkg") >&2 ;;
		*) (cd "$dir" && go build -tags "$tags" -o "$bin.tmp" "$pkg") >&2 ;;
		esac
		mv "$bin.tmp" "$bin"
		find "$cache/bin" -maxdepth 1 -name "$name-????????????????" ! -name "$name-$key" -exec rm -rf {} +
	fi
	echo "$bin"
}

echo "== the suites' images, from busybox-static"
images=$work/suite-images
busybox_rootfs "$images/root"
tar -C "$images/root" -cf "$images/busybox.tar" .
store=(--root "$images/store" --runroot "$images/run" --storage-driver vfs)
"$podman" "${store[@]}" import -q "$images/busybox.tar" localhost/capgen-suites >/dev/null
# Podman's e2e restores these from PODMAN_TEST_IMAGE_CACHE_DIR (its
# imageTarPath names); its system tests use testimage; Buildah's restore
# alpine and busybox from dir: copies in _BUILDAH_IMAGE_CACHEDIR.
for image in quay.io/libpod/alpine:latest quay.io/libpod/busybox:latest quay.io/libpod/systemd-image:20240124 \
	quay.io/libpod/testimage:20241011; do
	"$podman" "${store[@]}" tag localhost/capgen-suites "$image"
	"$podman" "${store[@]}" save -q -o "$images/$(tr '/:' '--' <<<"$image").tar" "$image"
done
"$podman" "${store[@]}" rmi -a -f >/dev/null

echo "== podman-e2e: Podman v5.8.2's test/e2e, the capability specs"
e2e=$(cached e2e.test "$work/podman" ./test/e2e)
# runc v1.0.0-rc92 cannot load Podman 5.8's seccomp profile.
rc92=$work/runc-rc92-noseccomp
cat >"$rc92" <<EOF
#!/bin/sh
# runc v1.0.0-rc92 without .linux.seccomp: it cannot load Podman 5.8's
# profile (bdflush: permission denied).
prev=
for a in "\$@"; do
	case \$prev in
	--bundle|-b) jq 'del(.linux.seccomp)' "\$a/config.json" >"\$a/config.json.capgen" && mv "\$a/config.json.capgen" "\$a/config.json" ;;
	esac
	prev=\$a
done
exec $runtimes/runc-v1.0.0-rc92 "\$@"
EOF
chmod +x "$rc92"
focus='Podman privileged container tests|podman run capabilities test|podman run user capabilities test|verify caps dropped|podman exec --privileged|podman exec with user with|add capabilities|regular capabilities|drop capabilities|capabilities are sorted|podman top on privileged container|device-cgroup-rule'
results=()
podman_e2e() { # BUILD-NAME PODMAN RUNTIME-NAME RUNTIME
	local report=$suites/podman-e2e-$RANDOM.json tmp
	tmp=$(mktemp -d "$work/e2e-tmp-XXXXXX")
	(cd "$work/podman/test/e2e" && env PODMAN_BINARY="$2" OCI_RUNTIME="$4" CGROUP_MANAGER=cgroupfs NO_TEST_CACHE=1 \
		PODMAN_TEST_IMAGE_CACHE_DIR="$images" TMPDIR="$tmp" \
		timeout --kill-after=30 1200 "$e2e" -ginkgo.focus "$focus" -ginkgo.no-color -ginkgo.json-report "$report" >"$report.log" 2>&1) || true
	rm -rf "$tmp"
	grep -E '^(Ran |FAIL!|SUCCESS!)' "$report.log" | sed "s/^/   $1, $3: /"
	results+=(-result "podman-e2e|$3|$1=$report")
}
podman_e2e "Podman v5.8.2" "$podman" "runc 1.1.5" "$runc"
podman_e2e "on patched common" "$podman_common" "runc 1.1.5" "$runc"
podman_e2e "patched" "$podman_patched" "runc 1.1.5" "$runc"
podman_e2e "patched" "$podman_patched" "runc v1.0.0-rc92" "$rc92"

echo "== buildah-bats: Buildah v1.44.0's capability tests"
copy=$(cached copy "$work/buildah" ./tests/copy)
bcache=$work/buildah-image-cache
mkdir -p "$bcache"
for image in alpine busybox; do
	# helpers.bash's _prefetch: the name normalised, then tr'd.
	"$copy" docker-archive:"$images/quay.io-libpod-alpine-latest.tar" dir:"$bcache/$(tr -c a-zA-Z0-9.- - <<<"docker.io/library/$image")" >/dev/null
done
# The tests' containers.conf sets nofile only; Buildah would raise nproc,
# which needs CAP_SYS_RESOURCE, and use netavark 1.4.0, too old for it.
printf '[containers]\ndefault_ulimits = ["nofile=500:500", "nproc=%s:%s"]\nnetns = "host"\n' "$(ulimit -Hu)" "$(ulimit -Hu)" >"$work/buildah-override.conf"
buildah_bats() { # BUILD-NAME BUILDAH
	local tap=$suites/buildah-bats-$RANDOM.tap tmp
	# Lower case: helpers.bash lower-cases its scratch directory's path
	# ("repository name must be lowercase").
	tmp=/tmp/capgen-buildah-bats-$$-$RANDOM
	mkdir "$tmp"
	(cd "$work/buildah/tests" && env BUILDAH_BINARY="$2" COPY_BINARY="$copy" BUILDAH_RUNTIME="$runc" \
		CONTAINERS_CONF_OVERRIDE="$work/buildah-override.conf" _BUILDAH_IMAGE_CACHEDIR="$bcache" TMPDIR="$tmp" \
		timeout --kill-after=30 600 bats --tap -f '^(run --cap-add/--cap-drop|run-inheritable-capabilities|bud capabilities test|containers.conf capabilities test|from --cap-add/--cap-drop test)$' \
		run.bats bud.bats containers_conf.bats from.bats >"$tap" 2>&1) || true
	rm -rf "$tmp"
	echo "   $1, runc 1.1.5: $(grep -c '^ok' "$tap") ok, $(grep -c '^not ok' "$tap") not ok"
	results+=(-result "buildah-bats|runc 1.1.5|$1=$tap")
}
buildah_bats "Buildah v1.44.0" "$buildah"
buildah_bats "patched" "$buildah_patched"

echo "== podman-bats: Podman v5.8.2's system tests that touch capabilities"
mkdir -p "$work/suite-shims"
cat >"$work/suite-shims/openssl" <<'EOF'
#!/bin/sh
# Debian 12's OpenSSL 3.0 has no "req -quiet", which Podman's system
# tests' setup_suite passes (OpenSSL 3.2 added it): run req without it.
if [ "$1" = req ]; then
	shift
	for a in "$@"; do
		shift
		[ "$a" = -quiet ] || set -- "$@" "$a"
	done
	exec /usr/bin/openssl req "$@" 2>/dev/null
fi
exec /usr/bin/openssl "$@"
EOF
chmod +x "$work/suite-shims/openssl"
podman_bats() { # BUILD-NAME PODMAN
	local tap=$suites/podman-bats-$RANDOM.tap dir opts
	dir=$(mktemp -d "$work/system-XXXXXX")
	opts="--root $dir/root --runroot $dir/run --storage-driver vfs --cgroup-manager cgroupfs --events-backend file --runtime $runc"
	# shellcheck disable=SC2086 # opts is words, as the suite splits it
	"$2" $opts load -q -i "$images/quay.io-libpod-testimage-20241011.tar" >/dev/null
	(cd "$work/podman/test/system" && env PATH="$work/suite-shims:$PATH" PODMAN="$2" _PODMAN_TEST_OPTS="$opts" TMPDIR="$dir" \
		timeout --kill-after=30 600 bats --tap -f '^(podman --module - supported fields|podman kube generate - container)$' 800-config.bats 710-kube.bats >"$tap" 2>&1) || true
	# shellcheck disable=SC2086
	"$2" $opts rm -a -f >/dev/null 2>&1 || true
	rm -rf "$dir"
	echo "   $1, runc 1.1.5: $(grep -c '^ok' "$tap") ok, $(grep -c '^not ok' "$tap") not ok"
	results+=(-result "podman-bats|runc 1.1.5|$1=$tap")
}
podman_bats "Podman v5.8.2" "$podman"
podman_bats "on patched common" "$podman_common"
podman_bats "patched" "$podman_patched"

echo "== podman inspect: the capabilities of the inspect specs' containers, alike on every build"
# The e2e specs check CapAdd and CapDrop only; users diff EffectiveCaps
# and BoundingCaps, in order, across versions too.
inspect_caps() { # PODMAN RUN-OPTIONS...
	local bin=$1 dir id
	shift
	dir=$(mktemp -d "$work/inspect-XXXXXX")
	local store=(--root "$dir/root" --runroot "$dir/run" --storage-driver vfs --cgroup-manager cgroupfs --events-backend none --runtime "$runc")
	"$bin" "${store[@]}" load -q -i "$images/quay.io-libpod-alpine-latest.tar" >/dev/null
	id=$("$bin" "${store[@]}" create "$@" quay.io/libpod/alpine:latest top)
	"$bin" "${store[@]}" inspect --format '{{.EffectiveCaps}} {{.BoundingCaps}} {{.HostConfig.CapAdd}} {{.HostConfig.CapDrop}}' "$id"
	"$bin" "${store[@]}" rm -f "$id" >/dev/null
	rm -rf "$dir"
}
for opts in "" "--cap-drop SETUID --cap-drop SETGID --cap-drop CAP_NET_BIND_SERVICE" "--cap-add SYS_ADMIN --cap-add CAP_NET_ADMIN" "--privileged"; do
	# shellcheck disable=SC2086 # opts is words
	want=$(inspect_caps "$podman" $opts)
	for build in "$podman_common" "$podman_patched"; do
		# shellcheck disable=SC2086
		if [ "$(inspect_caps "$build" $opts)" != "$want" ]; then
			echo "FAIL: podman inspect of a container created with '$opts' differs from Podman v5.8.2's:"
			echo "   Podman v5.8.2: $want"
			echo "   $build: $(inspect_caps "$build" $opts)"
			exit 1
		fi
	done
	echo "   [${opts:-defaults}] alike on the three builds: ${want:0:150}…"
done

echo "== hack/engine-suites.expected"
go run ./hack/enginesuites -expect hack/engine-suites.expected \
	-suite "podman-e2e=Podman v5.8.2,on patched common,patched" \
	-suite "podman-bats=Podman v5.8.2,on patched common,patched" \
	-suite "buildah-bats=Buildah v1.44.0,patched" "${results[@]}"
