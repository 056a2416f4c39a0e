package plugin

import (
	"slices"
	"testing"
	"time"

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
		// The floor of MergeCapabilities, measured as one: the set merge and
		// then allocating and filling the result. Timed apart, the two sum
		// the noise of two short benchmarks.
		setThenAlloc := func(base, adds, drops []string) ([]string, error) {
			if _, err := mergeCapSet(base, adds, drops, env); err != nil {
				return nil, err
			}
			return floor(base, adds, drops)
		}
		impls := append(impls, []struct {
			name  string
			merge func(base, adds, drops []string) ([]string, error)
		}{{"result-alloc-only", floor}, {"set+alloc", setThenAlloc}}...)
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

// BenchmarkMergeFloor reports MergeCapabilities' time as a multiple of its
// floor (x-floor): the set merge then allocating and filling the result.
// The two run in alternating blocks of 256 calls, each first in turn, so
// that both meet the same machine: on a shared 2-vCPU VM the same
// benchmark's median moved by 1.5x from one go test run to the next
// (BenchmarkMerge), and a ratio of two medians taken seconds apart moved
// with it.
func BenchmarkMergeFloor(b *testing.B) {
	last, err := capnames.KernelLast()
	if err != nil {
		b.Fatal(err)
	}
	env := mergeEnv{last: last, bounding: capnames.Bounding}
	defaults := slices.Clone(podmanDefaults)
	for _, c := range []struct {
		name              string
		base, adds, drops []string
	}{
		{"defaults+2-1", defaults, []string{"NET_ADMIN", "SYS_PTRACE"}, []string{"CHOWN"}},
		{"all-2", defaults, []string{"ALL"}, []string{"NET_RAW", "MKNOD"}},
	} {
		result, err := MergeCapabilities(c.base, c.adds, c.drops)
		if err != nil {
			b.Fatal(err)
		}
		merge := func() {
			if _, err := MergeCapabilities(c.base, c.adds, c.drops); err != nil {
				b.Fatal(err)
			}
		}
		var out []string // the floor's result, kept as MergeCapabilities' is returned
		floor := func() {
			if _, err := mergeCapSet(c.base, c.adds, c.drops, env); err != nil {
				b.Fatal(err)
			}
			out = append(make([]string, 0, len(result)), result...)
		}
		b.Run(c.name, func(b *testing.B) {
			const block = 256
			var inMerge, inFloor time.Duration
			first := true
			for b.Loop() {
				a, z := merge, floor
				ta, tz := &inMerge, &inFloor
				if !first {
					a, z, ta, tz = floor, merge, &inFloor, &inMerge
				}
				first = !first
				t0 := time.Now()
				for range block {
					a()
				}
				t1 := time.Now()
				for range block {
					z()
				}
				*ta += t1.Sub(t0)
				*tz += time.Since(t1)
			}
			if !slices.Equal(out, result) {
				b.Fatalf("the floor built %q, want %q", out, result)
			}
			b.ReportMetric(float64(inMerge)/float64(inFloor), "x-floor")
		})
	}
}
