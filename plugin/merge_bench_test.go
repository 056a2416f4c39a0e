package plugin

import (
	"slices"
	"testing"

	"github.com/capgen-dev/capgen/capnames"

	"go.podman.io/common/pkg/capabilities"
)

// BenchmarkMerge compares MergeCapabilities with go.podman.io/common's on
// identical inputs: Podman's default_capabilities with two adds and one
// drop, and "all" with two drops.
func BenchmarkMerge(b *testing.B) {
	defaults := slices.Clone(podmanDefaults)
	last, err := capnames.KernelLast()
	if err != nil {
		b.Fatal(err)
	}
	env := mergeEnv{last: last, bounding: capnames.Bounding}
	cases := []struct {
		name              string
		base, adds, drops []string
	}{
		{"defaults+2-1", defaults, []string{"NET_ADMIN", "SYS_PTRACE"}, []string{"CHOWN"}},
		{"all-2", defaults, []string{"ALL"}, []string{"NET_RAW", "MKNOD"}},
	}
	impls := []struct {
		name  string
		merge func(base, adds, drops []string) ([]string, error)
	}{
		{"capgen", MergeCapabilities},
		{"common", capabilities.MergeCapabilities},
		// The set-valued core, which the plugin's own callers can use:
		// what MergeCapabilities costs without building the []string.
		{"capgen-set", func(base, adds, drops []string) ([]string, error) {
			_, err := mergeCapSet(base, adds, drops, env)
			return nil, err
		}},
	}
	for _, c := range cases {
		// Both must agree before their speed is worth comparing.
		ours, err := MergeCapabilities(c.base, c.adds, c.drops)
		if err != nil {
			b.Fatal(err)
		}
		theirs, err := capabilities.MergeCapabilities(c.base, c.adds, c.drops)
		if err != nil {
			b.Fatal(err)
		}
		if !slices.Equal(ours, theirs) {
			b.Fatalf("%s: capgen %q, common %q", c.name, ours, theirs)
		}
		// The floor for any function with this result type: one []string
		// of the result's length, allocated and filled.
		floor := func(base, adds, drops []string) ([]string, error) {
			return append(make([]string, 0, len(ours)), ours...), nil
		}
		impls := append(impls, struct {
			name  string
			merge func(base, adds, drops []string) ([]string, error)
		}{"result-alloc-only", floor})
		for _, impl := range impls {
			b.Run(c.name+"/"+impl.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := impl.merge(c.base, c.adds, c.drops); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
