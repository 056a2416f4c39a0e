package e2e

// capgen's proposal for runtime-spec issue 1071 (docs/proposal.md), end to
// end: runc v1.5.3 patched to take ALL_CAPS and numerals and to advertise
// them (hack/build-runtimes.sh runc-v1.5.3-capgen, in linux.capabilityExtensions
// and annotations, and runc-v1.5.3-capgen-annotation, in annotations only),
// capgen detecting the advertisement, and Podman v5.8.2 with capgen's
// patches (built by hack/verify-engines.sh) writing ALL_CAPS to it.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// enginesVar names the cache of engine builds hack/verify-engines.sh
// makes (/var/cache/capgen/engines in .ci/run).
const enginesVar = "CAPGEN_E2E_ENGINES"

// requireProposalRuncs returns the patched runc builds, which name every
// capability of Linux 5.9 and take numerals and ALL_CAPS.
func requireProposalRuncs(t *testing.T, h host) []ociRuntime {
	t.Helper()
	dir := os.Getenv(runtimesVar)
	if dir == "" {
		unavailable(t, "%s is not set: build the patched runc with hack/build-runtimes.sh DIR and set %s=DIR", runtimesVar, runtimesVar)
	}
	var rts []ociRuntime
	for _, name := range []string{"runc-v1.5.3-capgen", "runc-v1.5.3-capgen-annotation"} {
		path := filepath.Join(dir, name)
		if st, err := os.Stat(path); err != nil || st.Mode()&0o111 == 0 {
			unavailable(t, "%s is not built in %s (hack/build-runtimes.sh %s)", name, dir, dir)
		}
		r := newRuntime(t, h, name, "runc", path, capnames.CAP_CHECKPOINT_RESTORE)
		r.numerals, r.allCaps = true, true
		rts = append(rts, r)
	}
	return rts
}

// resolveJSON runs capgen resolve --json with args and returns the
// process.capabilities it wrote.
func resolveJSON(t *testing.T, capgen string, args ...string) specs.LinuxCapabilities {
	t.Helper()
	out, err := exec.Command(capgen, append([]string{"resolve", "--json"}, args...)...).Output()
	if err != nil {
		t.Fatalf("capgen resolve --json %s: %v", strings.Join(args, " "), errorWith(err, stderrOf(err)))
	}
	var resolved struct{ Capabilities specs.LinuxCapabilities }
	if err := json.Unmarshal(out, &resolved); err != nil {
		t.Fatalf("capgen resolve --json: %v\n%s", err, out)
	}
	return resolved.Capabilities
}

func stderrOf(err error) string {
	if exit, ok := err.(*exec.ExitError); ok {
		return string(exit.Stderr)
	}
	return ""
}

// writtenKinds reports whether any list holds ALL_CAPS or a numeral.
func writtenKinds(c specs.LinuxCapabilities) (allCaps, numerals bool) {
	for _, list := range [][]string{c.Bounding, c.Effective, c.Inheritable, c.Permitted, c.Ambient} {
		for _, e := range list {
			if e == capnames.AllCaps {
				allCaps = true
			}
			if _, err := strconv.Atoi(e); err == nil {
				numerals = true
			}
		}
	}
	return allCaps, numerals
}

// TestE2EProposalAuto resolves --privileged and --cap-add all with policy
// auto for every runtime of the matrix and the patched runc builds: ALL_CAPS
// goes exactly to the runtimes advertising it, numerals only to one that
// advertises them or was seen applying them; the patched runc expands
// ["ALL_CAPS"] to kernel ∩ bounding set, the sets unpatched v1.5.3 gets
// from the names capgen writes for it.
func TestE2EProposalAuto(t *testing.T) {
	h, rts := setup(t)
	proposal := requireProposalRuncs(t, h)
	capgen := buildCapgen(t)
	cache, wrappers := t.TempDir(), t.TempDir()
	want := h.kernel.Intersect(h.parent.Bounding)
	var release ociRuntime
	for _, r := range append(rts, proposal...) {
		if r.name == "runc-v1.5.3" {
			release = r
		}
		f := r.features(t)
		advertised := slices.ContainsFunc(proposal, func(p ociRuntime) bool { return p.name == r.name })
		if f.AllCaps != advertised {
			t.Errorf("%s: probe says AllCaps %v; the runtime advertises it: %v", r.name, f.AllCaps, advertised)
		}
		path := r.path
		if r.needsHybridWorkaround() {
			path = hybridWrapper(t, wrappers, r)
		}
		for _, request := range [][]string{{"--privileged"}, {"--cap-add", "all"}} {
			c := resolveJSON(t, capgen, append([]string{"--runtime", path, "--policy", "auto", "--cache-dir", cache}, request...)...)
			allCaps, numerals := writtenKinds(c)
			what := fmt.Sprintf("capgen resolve --policy auto --runtime %s %s", r.name, strings.Join(request, " "))
			if allCaps != f.AllCaps {
				t.Errorf("%s: ALL_CAPS written %v, runtime advertises it %v: bounding %s", what, allCaps, f.AllCaps, summary(c.Bounding))
			}
			if numerals && !f.Numerals {
				t.Errorf("%s: numerals written to a runtime that neither advertises nor applied them: %s", what, summary(c.Bounding))
			}
			if !advertised {
				continue
			}
			if !slices.Equal(c.Bounding, []string{capnames.AllCaps}) || !slices.Equal(c.Effective, []string{capnames.AllCaps}) {
				t.Errorf("%s: bounding %q, effective %q; want [\"ALL_CAPS\"]", what, c.Bounding, c.Effective)
			}
			spec := baseSpec(root)
			spec.Process.Capabilities = &c
			checkRootSets(t, r.name+" running "+what, runConfig(t, r, marshalSpec(t, spec)), want)
		}
	}
	if release.path == "" {
		t.Fatal("runc v1.5.3 is not in the matrix")
	}
	c := resolveJSON(t, capgen, "--runtime", release.path, "--policy", "auto", "--cache-dir", cache, "--privileged")
	spec := baseSpec(root)
	spec.Process.Capabilities = &c
	checkRootSets(t, "runc v1.5.3 running the names capgen resolve --privileged wrote", runConfig(t, release, marshalSpec(t, spec)), want)
}

// requirePatchedPodman returns Podman v5.8.2 with capgen's patches, as
// hack/verify-engines.sh caches it in $CAPGEN_E2E_ENGINES.
func requirePatchedPodman(t *testing.T) string {
	t.Helper()
	dir := requireEnginesDir(t)
	builds, _ := filepath.Glob(filepath.Join(dir, "bin", "podman-patched-*", "podman"))
	if len(builds) != 1 {
		unavailable(t, "want one patched Podman build in %s/bin (hack/verify-engines.sh), found %d", dir, len(builds))
	}
	return builds[0]
}

// recordingRuntime writes a script to dir that copies each bundle's
// config.json it creates to dir/NAME-N.json and then runs runtime.
func recordingRuntime(t *testing.T, dir, name, runtime string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	script := fmt.Sprintf(`#!/bin/sh
# Records the config.json of each bundle it creates, then runs %[2]s.
prev=
for a in "$@"; do
	case $prev in
	--bundle|-b) cp "$a/config.json" "$(mktemp %[1]q/%[3]s-config-XXXXXX)" ;;
	esac
	prev=$a
done
exec %[2]q "$@"
`, dir, runtime, name)
	writeFile(t, path, []byte(script), 0o755)
	return path
}

// recorded returns the process.capabilities of the one config.json
// recorded for name since the last call, and removes it.
func recorded(t *testing.T, dir, name string) specs.LinuxCapabilities {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, name+"-config-*"))
	if len(files) != 1 {
		t.Fatalf("%s: %d config.json recorded, want 1", name, len(files))
	}
	defer os.Remove(files[0])
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	spec := mustSpec(t, data)
	if spec.Process == nil || spec.Process.Capabilities == nil {
		t.Fatalf("%s: config.json without process.capabilities", name)
	}
	return *spec.Process.Capabilities
}

// TestE2EProposalPodman runs patched Podman v5.8.2 --privileged and
// --cap-add=all on the patched runc, which advertises ALL_CAPS: the
// config.json Podman writes holds ["ALL_CAPS"] and the container gets
// kernel ∩ bounding set. On unpatched runc v1.5.3 the same Podman writes
// names and the container gets the same sets.
func TestE2EProposalPodman(t *testing.T) {
	h := requireHost(t)
	patched := requireProposalRuncs(t, h)[0]
	release := requireRelease(t, h, "runc-v1.5.3")
	// Podman 5 warns on every command of a cgroup v1 host.
	t.Setenv("PODMAN_IGNORE_CGROUPSV1_WARNING", "1")
	podman, err := newEngines(t, h, requirePatchedPodman(t), "", nil)
	t.Cleanup(podman.cleanup)
	if err != nil {
		t.Fatal(err)
	}
	want := h.kernel.Intersect(h.parent.Bounding)
	for _, tc := range []struct {
		r       ociRuntime
		allCaps bool
	}{{patched, true}, {release, false}} {
		wrapper := recordingRuntime(t, podman.dir, tc.r.name, tc.r.path)
		for _, opt := range []string{"--privileged", "--cap-add=all"} {
			what := fmt.Sprintf("patched Podman v5.8.2 %s on %s", opt, tc.r.name)
			got := podman.podmanRun(t, wrapper, "", opt)
			checkRootSets(t, what, got, want)
			c := recorded(t, podman.dir, tc.r.name)
			t.Logf("%s: config.json bounding %s, effective %s, permitted %s", what, summary(c.Bounding), summary(c.Effective), summary(c.Permitted))
			for list, entries := range map[string][]string{"bounding": c.Bounding, "effective": c.Effective, "permitted": c.Permitted} {
				if tc.allCaps && !slices.Equal(entries, []string{capnames.AllCaps}) {
					t.Errorf("%s: %s %q; want [\"ALL_CAPS\"]", what, list, entries)
				}
				if !tc.allCaps && parseAll(t, entries...) != want {
					t.Errorf("%s: %s %s; want the names of %v", what, list, summary(entries), want.Strings())
				}
			}
		}
	}
}

// requireRelease returns the release of the matrix named name.
func requireRelease(t *testing.T, h host, name string) ociRuntime {
	t.Helper()
	for _, r := range requireReleases(t, h) {
		if r.name == name {
			return r
		}
	}
	unavailable(t, "%s is not built in $%s", name, runtimesVar)
	return ociRuntime{}
}
