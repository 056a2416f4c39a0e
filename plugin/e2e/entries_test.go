package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// What each runtime of the matrix does with each kind of entry, measured:
// these runs are the source of docs/compatibility.md's table, and each
// outcome is checked against what the release is known to do.

// entryKinds are the entries tried, each beside CAP_CHOWN in bounding,
// effective and permitted. CAP_BPF (39) is named after CAP_AUDIT_READ, the
// last name of runc before v1.0.0-rc93.
var entryKinds = []struct{ kind, entry string }{
	{"name", "CAP_BPF"},
	{"unknown name", "CAP_NOPE"},
	{"numeral", "39"},
	{"ALL_CAPS", capnames.AllCaps},
}

// Outcomes of an entry.
const (
	applied  = "applied"
	fails    = "fails the container"
	warns    = "warns, drops"
	silently = "ignored silently"
)

// expectedOutcome is what r's release does with an entry of kind: runc
// before v1.0.2 fails a container on any entry it cannot map, later runc
// warns and drops it; crun maps numerals through libcap and ignores what it
// cannot map without a word.
func (r ociRuntime) expectedOutcome(kind string) string {
	// runsc fails a container on any entry it cannot map, with a message
	// that does not name it.
	strict := slices.Contains([]string{"runc-v1.0.0-rc91", "runc-v1.0.0-rc92", "runc-v1.0.0-rc93"}, r.name) || r.kind == "runsc"
	switch {
	case kind == "name" && r.names.Has(capnames.CAP_BPF), kind == "numeral" && r.numerals, kind == "ALL_CAPS" && r.allCaps:
		return applied
	case strict:
		return fails
	case r.kind == "runc":
		return warns
	}
	return silently
}

// unknownCapability is runc's error, inside its log line's quoted message.
var unknownCapability = regexp.MustCompile(`unknown capability \\?"[^"\\]*\\?"`)

// entryOutcome runs a container given entries in bounding, effective and
// permitted and says what r did with entry, which stands for want.
func entryOutcome(t *testing.T, r ociRuntime, entries []string, entry string, want capnames.Set) (outcome string, eff capnames.Set) {
	t.Helper()
	spec := baseSpec(root)
	spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: entries, Effective: entries, Permitted: entries}
	stdout, stderr, err := r.tryRun(t, writeBundle(t, r.host, marshalSpec(t, spec)))
	if err != nil {
		if m := unknownCapability.FindString(stderr); m != "" {
			return fails + ": `" + strings.ReplaceAll(m, `\"`, `"`) + "`", 0
		}
		return fails, 0
	}
	sets, err := parseStatus(stdout)
	if err != nil {
		t.Fatalf("%s: container output: %v", r.name, err)
	}
	switch {
	case want != 0 && sets.Effective.Intersect(want) == want:
		return applied, sets.Effective
	case strings.Contains(stderr, entry):
		return warns, sets.Effective
	}
	return silently, sets.Effective
}

func TestE2EEntryKinds(t *testing.T) {
	h, rts := setup(t)
	for _, r := range append(append(rts, requireRunsc(t, h)), requireProposalRuncs(t, h)...) {
		t.Run(r.name, func(t *testing.T) {
			cells := make([]string, 0, len(entryKinds))
			for _, k := range entryKinds {
				want := capnames.SetOf(capnames.CAP_BPF).Intersect(r.applies())
				if k.entry == capnames.AllCaps {
					want = r.applies().Minus(capnames.SetOf(capnames.CAP_CHOWN))
				} else if k.kind == "unknown name" {
					want = 0
				}
				got, _ := entryOutcome(t, r, []string{"CAP_CHOWN", k.entry}, k.entry, want)
				if base, _, _ := strings.Cut(got, ":"); base != r.expectedOutcome(k.kind) {
					t.Errorf("%s, %s %q: %s; the release is known to: %s", r.name, k.kind, k.entry, got, r.expectedOutcome(k.kind))
				}
				if k.entry == capnames.AllCaps && got == silently {
					// Alone, an ignored ALL_CAPS leaves the container nothing.
					_, eff := entryOutcome(t, r, []string{capnames.AllCaps}, k.entry, 0)
					got += fmt.Sprintf("; `[\"ALL_CAPS\"]` alone: CapEff %s", eff.Bitmap())
				}
				cells = append(cells, got)
			}
			f := r.features(t)
			spec := baseSpec(root)
			rep, err := plugin.Apply(spec, plugin.Request{Adds: []string{"all"}, Runtime: f, Env: h.env})
			if err != nil {
				t.Fatal(err)
			}
			got := runConfig(t, r, marshalSpec(t, spec))
			if got.Bounding != r.applies() {
				t.Errorf("--cap-add all: CapBnd %s, want %s", got.Bounding.Bitmap(), r.applies().Bitmap())
			}
			row := fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s | `%s` |", r.name, cells[0], cells[1], cells[2], cells[3],
				f.Source, rep.Policy, got.Bounding.Bitmap())
			t.Logf("docs/compatibility.md row: %s", row)
			if documented := compatibilityRow(t, r.name); documented != row {
				t.Errorf("docs/compatibility.md's row for %s:\n%s\nwhat this run measured:\n%s", r.name, documented, row)
			}
		})
	}
}

// compatibilityRow returns the line of docs/compatibility.md's table for the
// runtime name, or "".
func compatibilityRow(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile("../../docs/compatibility.md")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if strings.HasPrefix(line, "| "+name+" |") {
			return strings.TrimSuffix(line, "\n")
		}
	}
	return ""
}

// No policy sends ALL_CAPS to a runtime that does not list it: crun 1.27.1
// takes ["ALL_CAPS"] for an unknown name and silently gives the container
// no capabilities at all. Through plugin.Apply, the hook (every --policy)
// and the shim, --cap-add all and --privileged reach it as entries it maps.
func TestE2ENoAllCapsUnlessListed(t *testing.T) {
	h, rts := setup(t)
	i := slices.IndexFunc(rts, func(r ociRuntime) bool { return r.name == "crun-1.27.1" })
	if i < 0 {
		unavailable(t, "crun 1.27.1 is not built in %s (hack/build-runtimes.sh)", runtimesVar)
	}
	r := rts[i]
	if _, eff := entryOutcome(t, r, []string{capnames.AllCaps}, capnames.AllCaps, 0); eff != 0 {
		t.Fatalf(`crun 1.27.1 gave ["ALL_CAPS"] CapEff %s; this test rests on it giving nothing`, eff.Bitmap())
	}
	f := r.features(t)
	if f.AllCaps {
		t.Fatalf("crun 1.27.1's features list ALL_CAPS: %q", f.Names)
	}
	capgen := buildCapgen(t)
	for _, p := range policies {
		for _, req := range []plugin.Request{{Adds: []string{"all"}}, {Privileged: true}} {
			t.Run(fmt.Sprintf("%s/privileged=%t", p, req.Privileged), func(t *testing.T) {
				req.Policy, req.Runtime, req.Env = p, f, h.env
				spec := baseSpec(root)
				if _, err := plugin.Apply(spec, req); err != nil {
					t.Fatal(err)
				}
				noEntry(t, spec.Process.Capabilities, capnames.AllCaps)
				checkRootSets(t, "plugin.Apply", runConfig(t, r, marshalSpec(t, spec)), r.applies())

				// The hook, given what an engine that knows no better writes.
				in := baseSpec(root)
				in.Process.Capabilities = &specs.LinuxCapabilities{
					Bounding: []string{capnames.AllCaps}, Effective: []string{capnames.AllCaps}, Permitted: []string{capnames.AllCaps}}
				out, _ := runHook(t, capgen, r, marshalSpec(t, in), "--policy", p.String())
				var hooked specs.Spec
				if err := json.Unmarshal(out, &hooked); err != nil {
					t.Fatal(err)
				}
				noEntry(t, hooked.Process.Capabilities, capnames.AllCaps)
				checkRootSets(t, "capgen hook --policy "+p.String(), runConfig(t, r, out), r.applies())
			})
		}
	}
}
