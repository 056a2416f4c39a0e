package capnames

import "testing"

// parseBenchInputs are the spellings BenchmarkParse measures and
// TestParseDoesNotAllocate holds to zero allocations.
var parseBenchInputs = []string{"CAP_SYS_ADMIN", "sys_admin", "Cap_Sys_Admin", "39", "CAP_CHECKPOINT_RESTORE"}

func BenchmarkParse(b *testing.B) {
	for _, in := range parseBenchInputs {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseError measures rejection, which allocates its error.
func BenchmarkParseError(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("ſys_admin"); err == nil {
			b.Fatal("accepted")
		}
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	for _, in := range parseBenchInputs {
		var got Cap
		allocs := testing.AllocsPerRun(100, func() { got, _ = Parse(in) })
		if allocs != 0 {
			t.Errorf("Parse(%q) allocates %.1f times per call, want 0", in, allocs)
		}
		if !got.Valid() {
			t.Errorf("Parse(%q) failed", in)
		}
	}
}
