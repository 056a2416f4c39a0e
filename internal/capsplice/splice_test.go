package capsplice

import (
	"strings"
	"testing"
)

// TestSplice: only the text of the lists written changes, byte for
// byte; members this package's runtime-spec does not know, spacing and key
// order stay, and a duplicate key (decoding takes the last) is replaced too.
func TestSplice(t *testing.T) {
	in := "{\n  \"ociVersion\": \"1.0.2\", \"future\": {\"a\": [1, 2]},\n  \"process\": {\"args\": [\"sh\"], \"newField\": true,\n" +
		"    \"Capabilities\": {\"bounding\" : [\"ALL_CAPS\"], \"effective\": [\"CAP_KILL\"], \"bounding\": [ \"x\" ]}},\n" +
		"  \"linux\": {\"x-vendor\": \"kept\", \"bounding\": [\"not this one\"]}\n}\n"
	out, err := Splice([]byte(in), []string{"process", "capabilities"}, map[string][]string{"bounding": {"CAP_CHOWN"}})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(strings.Replace(in, `["ALL_CAPS"]`, `["CAP_CHOWN"]`, 1), `[ "x" ]`, `["CAP_CHOWN"]`, 1)
	if string(out) != want {
		t.Errorf("spliced\n%s\nwant\n%s", out, want)
	}
	if _, err := Splice([]byte(in), []string{"process", "capabilities"}, map[string][]string{"ambient": {"CAP_KILL"}}); err == nil {
		t.Error("a list with no member to replace was written")
	}
	for _, bad := range []string{"", "[]", `{"process":`, `{"process":{"capabilities":{"bounding":[}}}`} {
		if _, err := Splice([]byte(bad), []string{"process", "capabilities"}, map[string][]string{"bounding": {}}); err == nil {
			t.Errorf("Splice(%q) succeeded", bad)
		}
	}
}
