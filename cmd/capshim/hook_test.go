package main

import "testing"

// TestParseHook: capshim runs the hook itself only for what capgen hook
// would read the same way and can answer without containers.conf; the
// rest, errors included, goes to capgen.
func TestParseHook(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want hookFlags
		ok   bool
	}{
		{[]string{"--runtime", "/usr/sbin/runc"}, hookFlags{runtime: "/usr/sbin/runc", policy: "auto"}, true},
		{[]string{"--runtime=/r", "--policy", "numeric", "--widen-privileged", "--cache-dir", "/c", "--input=/i"},
			hookFlags{runtime: "/r", policy: "numeric", cacheDir: "/c", input: "/i", widenPrivileged: true}, true},
		{nil, hookFlags{}, false},                                           // containers.conf's default runtime
		{[]string{"--runtime", "crun"}, hookFlags{}, false},                 // a name: containers.conf's engine.runtimes
		{[]string{"--runtime", "./runc"}, hookFlags{}, false},               // relative
		{[]string{"-runtime", "/r"}, hookFlags{}, false},                    // cobra would refuse one dash
		{[]string{"--runtime", "/r", "extra"}, hookFlags{}, false},          // hook takes no arguments
		{[]string{"--runtime", "/r", "--", "--policy"}, hookFlags{}, false}, // nor "--"
		{[]string{"--runtime", "/r", "--help"}, hookFlags{}, false},
		{[]string{"--runtime", "/r", "--bogus"}, hookFlags{}, false},
	} {
		got, ok := parseHook(tc.args)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseHook(%q) = %+v, %v; want %+v, %v", tc.args, got, ok, tc.want, tc.ok)
		}
	}
}
