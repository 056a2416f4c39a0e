#!/usr/bin/env bash
# hack/verify-proposal.sh proves capgen's proposal for runtime-spec issue
# 1071 (docs/proposal.md) with the owning projects' own tests, as their
# maintainers would run them, on the patches hack/proposal-patches.sh
# makes from the released sources:
#
#   - runtime-spec v1.2.1 and v1.3.0, patched: the spec's schema tests
#     (schema/Makefile's test target, with the validator schema/validate.go
#     builds) over its fixtures and the patch's new ones;
#   - runc v1.5.3, patched: go test ./libcontainer/capabilities/ and
#     tests/integration/capabilities.bats, as root, against the patched runc
#     (hack/build-runtimes.sh runc-v1.5.3-capgen and -annotation), and the
#     same bats against the unmodified v1.5.3, where exactly the new cases
#     must fail;
#   - the features documents of the patched runc and of capgen's shim in
#     front of it and of Debian's runc, validated against the patched and
#     the released schema.
#
# The bats suite downloads a busybox and a Debian image unless they are in
# its testdata: both are staged from busybox-static (capabilities.bats runs
# busybox only). runc's CI runs the suite under script(1) for a terminal,
# and so does this. Run as root; needs bats, jq, busybox-static.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
. hack/lib.sh
runtimes=${CAPGEN_E2E_RUNTIMES:-/var/cache/capgen/runtimes}
export GOFLAGS=-mod=mod

work=$(mktemp -d /tmp/capgen-verify-proposal-XXXXXX)
cleanup() {
	# bats' teardown deletes its containers; a killed run may leave some.
	local root
	for root in "$work"/bats-tmp/*/runc.*/state; do
		[ -d "$root" ] || continue
		for id in $("$runtimes/runc-v1.5.3-capgen" --root "$root" list -q 2>/dev/null); do
			"$runtimes/runc-v1.5.3-capgen" --root "$root" delete -f "$id" 2>/dev/null || true
		done
	done
	chmod -R u+w "$work" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

echo "== patches (hack/proposal-patches.sh)"
hack/proposal-patches.sh "$work/patches" >/dev/null
for p in "$work"/patches/*.patch; do
	echo "-- $(basename "$p")"
	git apply --stat "$p"
done

hack/build-runtimes.sh "$runtimes" v1.5.3 runc-v1.5.3-capgen runc-v1.5.3-capgen-annotation | sed 's/^/   /'

echo "== runtime-spec's schema validator (schema/validate.go, gojsonschema v1.2.0)"
mkdir "$work/validate"
cp "$(moddir github.com/opencontainers/runtime-spec@v1.3.0)/schema/validate.go" "$work/validate/"
(cd "$work/validate" && go mod init validate >/dev/null 2>&1 && go get github.com/xeipuuv/gojsonschema@v1.2.0 >/dev/null 2>&1 &&
	go build -o validate .)
validate=$work/validate/validate

for v in v1.2.1 v1.3.0; do
	echo "== runtime-spec $v, patched: go vet ./specs-go/..., make -C schema test"
	spec=$work/runtime-spec-$v
	modcopy "github.com/opencontainers/runtime-spec@$v" "$spec"
	patch -d "$spec" -p1 --quiet <"$work/patches/runtime-spec-$v.patch"
	echo "module github.com/opencontainers/runtime-spec" >"$spec/go.mod" # the module zip has none
	(cd "$spec" && go vet ./specs-go/...)
	cp "$validate" "$spec/schema/validate"
	# The test target's prerequisite builds validate with go get in GOPATH
	# mode, which Go no longer has: -o keeps the one built above. A
	# directory named test makes make think the target is up to date: -B.
	if ! make -s -B -o validate -C "$spec/schema" test >"$work/schema-$v.log" 2>&1; then
		cat "$work/schema-$v.log"
		echo "FAIL: runtime-spec $v schema tests"
		exit 1
	fi
	echo "   $(grep -c 'received expected' "$work/schema-$v.log") fixtures as expected, none otherwise; the new ones:"
	# Each new fixture's lines, up to the next fixture.
	awk '/testing test\// { show = /(capability-extensions|capability-extensions-enabled-string|capabilities-all-caps-listed|capabilities-numeral-listed)\.json/ }
		show' "$work/schema-$v.log" | sed 's/^/   /'
done

echo "== runc v1.5.3, patched: go test -v ./libcontainer/capabilities/"
runc_src=$work/runc
modcopy github.com/opencontainers/runc@v1.5.3 "$runc_src"
patch -d "$runc_src" -p1 --quiet <"$work/patches/runc-v1.5.3.patch"
(cd "$runc_src" && go test -count=1 -v ./libcontainer/capabilities/) | grep -E '^(\s*--- |ok|FAIL|PASS)'

echo "== runc v1.5.3: tests/integration/capabilities.bats"
# The module zip keeps no file modes.
chmod +x "$runc_src"/tests/integration/*.sh
mkdir -p "$work/bats-tmp"
busybox_rootfs "$work/busybox"
arch=$(go env GOARCH)
tar -C "$work/busybox" -cJf "$runc_src/tests/integration/testdata/busybox-$arch.tar.xz" .
cp "$runc_src/tests/integration/testdata/busybox-$arch.tar.xz" "$runc_src/tests/integration/testdata/debian-$arch.tar.xz"
(cd "$runc_src" && go build -o tests/cmd/_bin/ ./tests/cmd/recvtty)
new_cases=$(grep -c '^@test' "$repo/hack/proposalpatch/files/runc/capabilities.bats.in")
bats_run() { # NAME RUNC: the suite's TAP lines
	(cd "$runc_src" && RUNC=$2 TMPDIR=$work/bats-tmp script -qec "bats --tap tests/integration/capabilities.bats" /dev/null) |
		tr -d '\r' | grep -E '^(ok|not ok|1\.\.)' >"$work/bats-$1.tap" || true
}
for r in runc-v1.5.3-capgen runc-v1.5.3-capgen-annotation; do
	bats_run "$r" "$runtimes/$r"
	echo "-- patched ($r): $(grep -c '^ok' "$work/bats-$r.tap") ok, $(grep -c '^not ok' "$work/bats-$r.tap") not ok"
	sed 's/^/   /' "$work/bats-$r.tap"
	if grep -q '^not ok' "$work/bats-$r.tap" || ! grep -qx "1..$(grep -c '^@test' "$runc_src/tests/integration/capabilities.bats")" "$work/bats-$r.tap"; then
		echo "FAIL: capabilities.bats on $r"
		exit 1
	fi
done
bats_run release "$runtimes/runc-v1.5.3"
echo "-- unmodified runc v1.5.3: $(grep -c '^ok' "$work/bats-release.tap") ok, $(grep -c '^not ok' "$work/bats-release.tap") not ok"
grep '^not ok' "$work/bats-release.tap" | sed 's/^/   /'
# The release passes every case of its own and fails the new ones, but
# "bad numerals", which it ignores as unknown names too.
if [ "$(grep -c '^not ok' "$work/bats-release.tap")" -ne $((new_cases - 1)) ] ||
	grep -q '^not ok.*bad numerals' "$work/bats-release.tap" ||
	[ "$(head -$((1 + $(grep -c '^@test' "$(moddir github.com/opencontainers/runc@v1.5.3)/tests/integration/capabilities.bats"))) "$work/bats-release.tap" | grep -c '^not ok')" -ne 0 ]; then
	echo "FAIL: the unmodified release should fail exactly the new cases but bad numerals"
	exit 1
fi

echo "== features documents against runtime-spec's schema (patched v1.3.0, released v1.3.0)"
released=$(moddir github.com/opencontainers/runtime-spec@v1.3.0)/schema/features-schema.json
go build -o "$work/shims/capgen" ./cmd/capgen
ln -s capgen "$work/shims/capgen-runc"
ln -s capgen "$work/shims/capgen-runc-v1.5.3-capgen"
ln -s "$runtimes/runc-v1.5.3-capgen" "$work/shims/runc-v1.5.3-capgen"
"$runtimes/runc-v1.5.3-capgen" features >"$work/features-runc-v1.5.3-capgen.json"
"$runtimes/runc-v1.5.3-capgen-annotation" features >"$work/features-runc-v1.5.3-capgen-annotation.json"
for shim in capgen-runc capgen-runc-v1.5.3-capgen; do
	PATH=$work/shims:$PATH CAPGEN_CACHE_DIR=$work/cache "$work/shims/$shim" features >"$work/features-$shim.json"
done
for doc in "$work"/features-*.json; do
	name=$(basename "$doc" .json)
	echo "-- ${name#features-}: linux.capabilityExtensions $(jq -c .linux.capabilityExtensions "$doc"), $(jq '.linux.capabilities | length' "$doc") names, annotations $(jq -c '.annotations | with_entries(select(.key | test("capabilities|capgen")))' "$doc")"
	for schema in "$work/runtime-spec-v1.3.0/schema/features-schema.json" "$released"; do
		if ! out=$("$validate" "$schema" "$doc" 2>&1); then
			echo "$out"
			echo "FAIL: $doc against $schema"
			exit 1
		fi
	done
	echo "   valid against the patched and the released schema"
done
echo "verify-proposal: ok"
