package capnames

import (
	"testing"

	"go.podman.io/common/pkg/capabilities"
)

// BenchmarkCommonNormalizeCapabilities is the anchor for BenchmarkParse:
// what Podman pays today, through go.podman.io/common, for one name.
func BenchmarkCommonNormalizeCapabilities(b *testing.B) {
	in := []string{"sys_admin"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := capabilities.NormalizeCapabilities(in); err != nil {
			b.Fatal(err)
		}
	}
}
