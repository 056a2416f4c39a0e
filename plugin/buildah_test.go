package plugin

import (
	"errors"
	"reflect"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
)

func TestBuildahRequest(t *testing.T) {
	defaults := []string{"CHOWN", "NET_RAW"}
	for _, tc := range []struct {
		name        string
		adds, drops []string
		want        Request
	}{
		{name: "defaults", want: Request{Defaults: defaults}},
		{name: "adds join the defaults", adds: []string{"39"},
			want: Request{Defaults: []string{"CHOWN", "NET_RAW", "39"}}},
		{name: "drops apply after adds", adds: []string{"NET_ADMIN"}, drops: []string{"net_admin"},
			want: Request{Defaults: []string{"CHOWN", "NET_RAW", "NET_ADMIN"}, Drops: []string{"net_admin"}}},
		{name: "drop all clears adds", adds: []string{"NET_ADMIN"}, drops: []string{"ALL"}, want: Request{}},
		{name: "add all, less drops", adds: []string{"CHOWN", "All"}, drops: []string{"NET_RAW"},
			want: Request{Adds: []string{"all"}, Drops: []string{"NET_RAW"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := BuildahRequest(defaults, tc.adds, tc.drops)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("BuildahRequest(%q, %q, %q) = %+v, want %+v", defaults, tc.adds, tc.drops, got, tc.want)
			}
		})
	}
	for _, bad := range []string{"NOPE", "ſys_admin", "64"} {
		_, err := BuildahRequest(defaults, []string{bad}, nil)
		if !errors.Is(err, ErrInvalidRequest) || !errors.Is(err, capnames.ErrUnknown) {
			t.Errorf("BuildahRequest with cap-add %q: error %v, want ErrInvalidRequest and capnames.ErrUnknown", bad, err)
		}
	}
}
