#!/usr/bin/env bash
# hack/verify-engines.sh proves the engine patches on the released sources,
# as a maintainer would apply them. It makes the patches with
# hack/engine-patches.sh, applies them with patch -p1 to the module proxy's
# go.podman.io/common v0.67.1 (and v0.68.0, which Buildah v1.44.0 requires),
# Podman v5.8.2 and Buildah v1.44.0, checks that no requirement of theirs
# is raised, runs common's and Podman's own tests, builds the unmodified
# and the patched engines (and Podman unmodified on patched common), and
# runs them side by side on runc 1.1.5 and v1.0.0-rc92 (hack/sidebyside),
# against hack/engines.expected, and runs the engines' own tests that touch
# capabilities against every build (hack/engine-suites.sh), against
# hack/engine-suites.expected.
#
# Builds are cached in $CAPGEN_ENGINES_CACHE (/var/cache/capgen/engines),
# keyed on the sources they are built from; the patches are written to
# $CAPGEN_ENGINE_PATCHES ($CAPGEN_ENGINES_CACHE/patches). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
. hack/lib.sh
cache=${CAPGEN_ENGINES_CACHE:-/var/cache/capgen/engines}
patches=${CAPGEN_ENGINE_PATCHES:-$cache/patches}
runtimes=${CAPGEN_E2E_RUNTIMES:-/var/cache/capgen/runtimes}
tags="exclude_graphdriver_btrfs exclude_graphdriver_devicemapper containers_image_openpgp seccomp"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
capgen=github.com/capgen-dev/capgen
staticcheck=honnef.co/go/tools/cmd/staticcheck@v0.8.2 # as hack/verify-deps.sh

# The engines write beside the host's own files: capgen's probe cache
# (/run/containers/capgen, the library's default for root), netavark's
# /run/containers/networks, and containers/image's blob-info cache in
# /var/lib/containers/cache, whatever the storage root. What this run adds
# there is removed at exit.
shared=(/run/containers /run/containers/capgen /run/containers/networks /var/lib/containers /var/lib/containers/cache)
parent() { [ "$1" = /run/containers ] || [ "$1" = /var/lib/containers ]; }
declare -A before
for d in "${shared[@]}"; do
	before[$d]=$( [ -d "$d" ] && ls -A "$d" || echo "-absent-")
done
# Podman, run with cgroupfs here, leaves its parent cgroup libpod_parent
# at the top of each hierarchy: the cgroups this run adds there go too
# (rmdir, deepest first, takes only empty ones).
cgroups_before=$(find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d 2>/dev/null | sort)
cleanup() {
	chmod -R u+w "$work" 2>/dev/null
	rm -rf "$work"
	local d i cg
	for cg in $(comm -13 <(echo "$cgroups_before") <(find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d 2>/dev/null | sort)); do
		find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
	done
	for ((i = ${#shared[@]} - 1; i >= 0; i--)); do
		d=${shared[i]}
		[ -d "$d" ] || continue
		if [ "${before[$d]}" = "-absent-" ]; then
			parent "$d" && rmdir "$d" 2>/dev/null || rm -rf "$d"
			continue
		fi
		parent "$d" && continue
		for e in $(ls -A "$d"); do
			grep -qxF "$e" <<<"${before[$d]}" || rm -rf "${d:?}/$e"
		done
	done
}
work=$(mktemp -d /tmp/capgen-verify-engines-XXXXXX)
trap cleanup EXIT
mkdir -p "$cache/bin"

echo "== patches ($patches)"
rm -rf "$patches"
hack/engine-patches.sh "$patches" >/dev/null
for p in "$patches"/*.patch; do
	echo "-- $(basename "$p")"
	git apply --stat "$p"
done

# tree MODULE@VERSION NAME copies the module's released source to
# $work/NAME, writable.
tree() { modcopy "$1" "$work/$2"; }

# notRaised ORIG NEW fails if NEW requires any module of ORIG at a higher
# version or raises the go directive.
notRaised() {
	local m v got bad=0
	while read -r m v; do
		got=$(requirements "$2" | awk -v m="$m" '$1 == m { print $2 }')
		if [ -n "$got" ] && ! notAbove "$got" "$v"; then
			echo "FAIL: $2 raises $m from $v to $got"
			bad=1
		fi
	done < <(requirements "$1")
	if [ "$(godirective "$1")" != "$(godirective "$2")" ]; then
		echo "FAIL: $2 changes the go directive"
		bad=1
	fi
	return $bad
}

# apply NAME [APPLY-OPTIONS] applies a patch to $work/NAME with
# hack/apply-engine-patch.sh and checks that no requirement is raised.
apply() {
	local name=$1
	shift
	cp "$work/$name/go.mod" "$work/$name.go.mod.orig"
	hack/apply-engine-patch.sh "$@" "$work/$name"
	notRaised "$work/$name.go.mod.orig" "$work/$name/go.mod"
}

echo "== go.podman.io/common v0.67.1 and v0.68.0, patched"
tree go.podman.io/common@v0.67.1 common-v0.67.1
tree go.podman.io/common@v0.68.0 common-v0.68.0
apply common-v0.67.1 -p "$patches/common-v0.67.1.patch"
apply common-v0.68.0 -p "$patches/common-v0.67.1.patch"
echo "   nothing raised"

echo "== common v0.67.1, patched: go test ./pkg/capabilities/ ./pkg/config/"
(cd "$work/common-v0.67.1" && go test -count=1 ./pkg/capabilities/ ./pkg/config/)

echo "== Podman v5.8.2: unmodified, on patched common, patched"
tree github.com/containers/podman/v5@v5.8.2 podman
tree github.com/containers/podman/v5@v5.8.2 podman-common
tree github.com/containers/podman/v5@v5.8.2 podman-patched
apply podman-common -c "$work/common-v0.67.1"
apply podman-patched -p "$patches/podman-v5.8.2.patch" -c "$work/common-v0.67.1"
echo "   nothing raised"

echo "== Podman v5.8.2, patched: go test ./pkg/specgen/..."
(cd "$work/podman-patched" && go test -count=1 -tags "$tags" ./pkg/specgen/...)

echo "== Buildah v1.44.0: unmodified, patched"
tree github.com/containers/buildah@v1.44.0 buildah
tree github.com/containers/buildah@v1.44.0 buildah-patched
apply buildah-patched -p "$patches/buildah-v1.44.0.patch" -c "$work/common-v0.68.0"
echo "   nothing raised"

# The patches leave nothing without a caller in the packages they touch.
echo "== staticcheck -checks U1000 ($staticcheck) on the patched packages"
(cd "$work/common-v0.67.1" && go run $staticcheck -checks U1000 ./pkg/capabilities/ ./pkg/config/)
(cd "$work/podman-patched" && go run $staticcheck -checks U1000 -tags "$tags" ./pkg/specgen/generate/)
(cd "$work/buildah-patched" && go run $staticcheck -checks U1000 -tags "$tags" .)
echo "   ok"

# sources DIR... prints a digest line for every Go source and go.sum under
# each DIR and the go.mod of each, with this run's paths made neutral.
sources() {
	local d
	for d in "$@"; do
		(cd "$d" && find . -name '*.go' -o -name go.sum | LC_ALL=C sort | xargs sha256sum)
		sed "s|$work|WORK|g; s|$repo|REPO|g" "$d/go.mod"
	done
}

# build NAME PACKAGE [COMMON] prints the path of $work/NAME's PACKAGE
# binary, built with -trimpath into the cache unless a build of the same
# sources (and those of capgen and $work/COMMON when NAME uses them) is
# there.
build() {
	local key bin dirs=("$work/$1")
	if grep -q "$capgen" "$work/$1/go.mod"; then
		dirs+=("$repo")
	fi
	if [ -n "${3:-}" ]; then
		dirs+=("$work/$3")
	fi
	key=$({
		go version
		echo "$tags"
		sources "${dirs[@]}"
	} | sha256sum | cut -c1-16)
	bin=$cache/bin/$1-$key/$(basename "$2")
	if [ ! -x "$bin" ]; then
		echo "   building $1 ($2)" >&2
		mkdir -p "$(dirname "$bin")"
		(cd "$work/$1" && go build -trimpath -tags "$tags" -o "$bin.tmp" "$2") >&2
		mv "$bin.tmp" "$bin"
		# Older builds of NAME (NAME- and 16 hex digits) are not used again.
		find "$cache/bin" -maxdepth 1 -name "$1-????????????????" ! -name "$1-$key" -exec rm -rf {} +
	fi
	echo "$bin"
}

echo "== builds (cached in $cache/bin)"
podman=$(build podman ./cmd/podman)
podman_common=$(build podman-common ./cmd/podman common-v0.67.1)
podman_patched=$(build podman-patched ./cmd/podman common-v0.67.1)
buildah=$(build buildah ./cmd/buildah)
buildah_patched=$(build buildah-patched ./cmd/buildah common-v0.68.0)
"$podman" --version
"$buildah" --version

echo "== side by side (hack/engines.expected)"
go run ./hack/sidebyside -expect hack/engines.expected -work "$work/sidebyside" -busybox /bin/busybox \
	-runtime "runc 1.1.5=$(command -v runc)" -runtime "runc v1.0.0-rc92=$runtimes/runc-v1.0.0-rc92" \
	-podman "Podman v5.8.2=$podman" -podman "on patched common=$podman_common" -podman "patched=$podman_patched" \
	-buildah "Buildah v1.44.0=$buildah" -buildah "patched=$buildah_patched"

echo "== the engines' own suites (hack/engine-suites.sh, hack/engine-suites.expected)"
hack/engine-suites.sh "$work" "$podman" "$podman_common" "$podman_patched" "$buildah" "$buildah_patched"
echo "verify-engines: ok"
