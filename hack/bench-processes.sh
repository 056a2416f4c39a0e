#!/usr/bin/env bash
# Time capgen as whole processes against their anchors in one run, with
# hyperfine -N (Debian: apt-get install hyperfine), as root with runc and a
# static busybox: the precreate hook against cat of the same config.json,
# and the runtime shim capgen-runc against runc itself for state, start,
# delete and create (the shim's probe cache warm), and hack/benchfloor, a
# Go program that does nothing or only execs runc: the floor of any shim in
# Go. Hook and shim run as installed with cmd/capshim, the fast entry point
# (capgen-runc a link to capshim), and as capgen alone (capgen-runc a link
# to capgen, in full/). RUNS (default 30) runs each. Create, whose runc
# varies most, is also timed in alternation with runc's (hack/benchpair). Every container and file it makes is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-30}
runcbin=$(command -v runc)
busybox=$(command -v busybox)

work=$(mktemp -d)
id=capgen-bench-$$
# Every runc command, the shim's too, uses a state root of the bench's own;
# the shim keeps its records beside it ($root.capgen).
root=$work/runc-root
runc="$runcbin --root $root"
cleanup() {
	$runc delete --force "$id" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# As make install builds it: without cgo, which costs each process ~2 ms
# of dynamic linking here and which capgen does not need.
CGO_ENABLED=0 go build -o "$work/capgen" ./cmd/capgen
CGO_ENABLED=0 go build -o "$work/capshim" ./cmd/capshim
CGO_ENABLED=0 go build -o "$work/benchfloor" ./hack/benchfloor
go build -o "$work/benchpair" ./hack/benchpair
ln -s capshim "$work/capgen-runc"
mkdir "$work/full"
ln -s ../capgen "$work/full/capgen-runc"
export CAPGEN_CACHE_DIR=$work/cache

# A bundle whose config.json asks for ALL_CAPS, as an engine that knows
# nothing of the runtime writes --cap-add all.
bundle=$work/bundle
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/dev"
cp "$busybox" "$bundle/rootfs/bin/busybox"
cat >"$work/config.json" <<EOC
{"ociVersion": "1.0.2", "root": {"path": "rootfs", "readonly": true},
 "process": {"args": ["/bin/busybox", "true"], "cwd": "/", "user": {"uid": 0, "gid": 0},
  "capabilities": {"bounding": ["ALL_CAPS"], "effective": ["ALL_CAPS"], "permitted": ["ALL_CAPS"]}},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
 "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}]}}
EOC
cp "$work/config.json" "$bundle/config.json"
"$work/capgen-runc" features >/dev/null # warm the probe cache
"$work/capgen" hook --runtime "$runcbin" --cache-dir "$CAPGEN_CACHE_DIR" <"$work/config.json" >/dev/null

# hyperfine -N runs each command without a shell, so nothing but the
# process itself is timed; setup that needs one runs in sh -c, in --prepare.
fresh="sh -c 'cp $work/config.json $bundle/config.json; $runc delete --force $id >/dev/null 2>&1 || true'"
created="sh -c 'cp $work/config.json $bundle/config.json; $runc delete --force $id >/dev/null 2>&1 || true; $work/capgen-runc --root $root create --bundle $bundle $id </dev/null >/dev/null'"
hf() {
	hyperfine -N --style none --runs "$runs" --warmup 3 --export-markdown "$work/$1.md" --export-csv "$work/$1.csv" "${@:2}" >/dev/null 2>&1
	tail -n +3 "$work/$1.md"
}
# mean NAME ROW prints the mean, in ms, of the ROWth command of run NAME;
# median and least the median and the minimum (hyperfine's CSV columns).
mean() { awk -F, -v row="$2" 'NR == row + 1 { printf "%.2f", $2 * 1000 }' "$work/$1.csv"; }
median() { awk -F, -v row="$2" 'NR == row + 1 { printf "%.2f", $4 * 1000 }' "$work/$1.csv"; }
least() { awk -F, -v row="$2" 'NR == row + 1 { printf "%.2f", $7 * 1000 }' "$work/$1.csv"; }

echo "| command | mean [ms] | min [ms] | max [ms] | relative |"
echo "|:---|---:|---:|---:|---:|"
hf hook "cat $work/config.json" "$work/capshim hook --runtime $runcbin --cache-dir $CAPGEN_CACHE_DIR --input $work/config.json" \
	"$work/capgen hook --runtime $runcbin --cache-dir $CAPGEN_CACHE_DIR --input $work/config.json"
# As an engine runs it, the container is created through the shim, which
# records the real runtime for its later commands.
$work/capgen-runc --root "$root" create --bundle "$bundle" "$id" </dev/null >/dev/null
hf start-only "$work/benchfloor" "$work/capgen version"
hf state "$runc state $id" "$work/benchfloor $runc state $id" "$work/capgen-runc --root $root state $id" "$work/full/capgen-runc --root $root state $id"
hf start --prepare "$created" "$runc start $id" "$work/capgen-runc --root $root start $id" "$work/full/capgen-runc --root $root start $id"
hf delete --prepare "$created" "$runc delete --force $id" "$work/capgen-runc --root $root delete --force $id"
hf create --prepare "$fresh" "$runc create --bundle $bundle $id" "$work/capgen-runc --root $root create --bundle $bundle $id" "$work/full/capgen-runc --root $root create --bundle $bundle $id"

# create again, runc's and the shim's in alternation (hack/benchpair): the
# difference of each round, not of two medians taken a minute apart.
"$work/benchpair" -runs "$runs" -prepare "cp $work/config.json $bundle/config.json; $runc delete --force $id >/dev/null 2>&1 || true" \
	-a "$runc create --bundle $bundle $id" -b "$work/capgen-runc --root $root create --bundle $bundle $id" >"$work/pair.txt"

echo
awk -v hook="$(mean hook 2)" -v hookfull="$(mean hook 3)" -v cat="$(mean hook 1)" \
	-v shim="$(mean state 3)" -v shimfull="$(mean state 4)" -v runc="$(mean state 1)" -v floor="$(mean state 2)" \
	-v screate="$(mean create 2)" -v screatefull="$(mean create 3)" -v rcreate="$(mean create 1)" 'BEGIN {
	printf "hook %.2f ms = %.2fx cat %.2f ms (target <= 2x); capgen alone %.2f ms = %.2fx\n", hook, hook / cat, cat, hookfull, hookfull / cat
	printf "shim state %.2f ms = %.2fx runc state %.2f ms (target <= 1.2x); capgen alone %.2fx; a Go program exec-ing runc: %.2fx\n", shim, shim / runc, runc, shimfull / runc, floor / runc
	printf "shim create %.2f ms = runc create %.2f ms + %.2f ms (means); capgen alone + %.2f ms\n", screate, rcreate, screate - rcreate, screatefull - rcreate
}'
awk -v s="$(median create 2)" -v f="$(median create 3)" -v r="$(median create 1)" \
	-v smin="$(least create 2)" -v fmin="$(least create 3)" -v rmin="$(least create 1)" \
	-v hook="$(median hook 2)" -v floor="$(median start-only 1)" 'BEGIN {
	printf "shim create, medians: %.2f ms = runc create %.2f ms + %.2f ms (target <= 3 ms); capgen alone + %.2f ms; minima: + %.2f ms, capgen alone + %.2f ms\n", s, r, s - r, f - r, smin - rmin, fmin - rmin
	printf "capshim hook, median: %.2f ms = benchfloor %.2f ms + %.2f ms (target <= 1 ms)\n", hook, floor, hook - floor
}'
echo "shim create against runc create in alternating rounds (hack/benchpair; target b - a <= 3 ms):"
sed 's/^/  /; s/^  a:/  runc create:/; s/^  b:/  shim create:/' "$work/pair.txt"
