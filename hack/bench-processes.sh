#!/usr/bin/env bash
# Time capgen as whole processes against their anchors in one run, with
# hyperfine (Debian: apt-get install hyperfine), as root with runc and a
# static busybox: the precreate hook against cat of the same config.json,
# and the runtime shim capgen-runc against runc itself for state, start,
# delete and create (the shim's probe cache warm). RUNS (default 30) runs
# each. Every container and file it makes is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-30}
runc=$(command -v runc)
busybox=$(command -v busybox)

work=$(mktemp -d)
id=capgen-bench-$$
cleanup() {
	"$runc" delete --force "$id" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# As the README installs it: without cgo, which costs each process ~2 ms
# of dynamic linking here and which capgen does not need.
CGO_ENABLED=0 go build -o "$work/capgen" ./cmd/capgen
ln -s capgen "$work/capgen-runc"
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
"$work/capgen" hook --runtime "$runc" --cache-dir "$CAPGEN_CACHE_DIR" <"$work/config.json" >/dev/null

fresh="cp $work/config.json $bundle/config.json; $runc delete --force $id >/dev/null 2>&1 || true"
created="$fresh; $runc create --bundle $bundle $id </dev/null >/dev/null"
hf() { hyperfine --style none --runs "$runs" --warmup 3 --export-markdown "$work/$1.md" "${@:2}" >/dev/null 2>&1; tail -n +3 "$work/$1.md"; }

echo "| command | mean [ms] | min [ms] | max [ms] | relative |"
echo "|:---|---:|---:|---:|---:|"
hf hook "cat < $work/config.json" "$work/capgen hook --runtime $runc --cache-dir $CAPGEN_CACHE_DIR < $work/config.json"
"$runc" create --bundle "$bundle" "$id" </dev/null >/dev/null
hf state "$runc state $id" "$work/capgen-runc state $id"
hf start --prepare "$created" "$runc start $id" "$work/capgen-runc start $id"
hf delete --prepare "$created" "$runc delete --force $id" "$work/capgen-runc delete --force $id"
hf create --prepare "$fresh" "$runc create --bundle $bundle $id </dev/null >/dev/null" "$work/capgen-runc create --bundle $bundle $id </dev/null >/dev/null"
