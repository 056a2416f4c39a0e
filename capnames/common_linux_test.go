package capnames

import (
	"slices"
	"testing"

	"go.podman.io/common/pkg/capabilities"
)

// TestCommonAcceptsConfusables shows why Parse matches ASCII case only:
// go.podman.io/common (v0.69.0) upper-cases with strings.ToUpper, which maps
// "ſ" (U+017F) to "S" and "ı" (U+0131) to "I", so it takes these spellings
// for real capabilities. Parse must not.
func TestCommonAcceptsConfusables(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"ſys_admin", "CAP_SYS_ADMIN"},
		{"CAP_ſYS_ADMIN", "CAP_SYS_ADMIN"},
		{"ıpc_lock", "CAP_IPC_LOCK"},
	}
	for _, tt := range tests {
		got, err := capabilities.NormalizeCapabilities([]string{tt.in})
		if err != nil || !slices.Equal(got, []string{tt.want}) {
			t.Errorf("common NormalizeCapabilities(%q) = %q, %v; the confusable problem this test documents is gone", tt.in, got, err)
		}
		if c, err := Parse(tt.in); err == nil {
			t.Errorf("Parse(%q) = %v, nil; want an error", tt.in, c)
		}
	}
}
