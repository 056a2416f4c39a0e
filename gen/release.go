package gen

import (
	"strconv"
	"strings"
)

// validVersion reports whether v is a dotted decimal kernel version such as
// "2.6.25" or "6.1".
func validVersion(v string) bool {
	_, ok := versionParts(v)
	return ok
}

// versionParts splits the dotted decimal version v into its numbers.
func versionParts(v string) ([]int, bool) {
	fields := strings.Split(v, ".")
	parts := make([]int, len(fields))
	for i, f := range fields {
		n, err := versionComponent(f)
		if err != nil {
			return nil, false
		}
		parts[i] = n
	}
	return parts, true
}

// compareVersions orders dotted decimal versions numerically ("2.6.9" <
// "2.6.25" < "3.0" = "3.0.0"). Versions must be valid.
func compareVersions(a, b string) int {
	pa, _ := versionParts(a)
	pb, _ := versionParts(b)
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// release returns the kernel release a version belongs to, the unit in
// which capabilities appear: "2.6.35" for 2.6.35.11, "6.1" for 6.1.187.
// Stable updates never add capabilities.
func release(v string) string {
	parts, ok := versionParts(v)
	if !ok {
		return v
	}
	n := 2
	if parts[0] == 2 {
		n = 3
	}
	if len(parts) < n {
		return v
	}
	strs := make([]string, n)
	for i := range strs {
		strs[i] = strconv.Itoa(parts[i])
	}
	return strings.Join(strs, ".")
}
