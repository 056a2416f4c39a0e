package ocihook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestRun(t *testing.T) {
	good := []byte(`{"ociVersion":"1.0.2","process":{"user":{"uid":0,"gid":0},"cwd":"/",` +
		`"capabilities":{"bounding":["ALL_CAPS","CAP_NOPE"]}}}`)
	tests := []struct {
		name       string
		input      []byte
		opts       Options
		wantErr    string
		wantStderr string
	}{
		{name: "too large", input: good, opts: Options{Runtime: "/nonexistent/runtime", MaxInput: int64(len(good) - 1)},
			wantErr: "larger than"},
		{name: "not a spec", input: []byte("{}"), opts: Options{Runtime: "/nonexistent/runtime"}, wantErr: "no ociVersion"},
		{name: "missing runtime degrades to names", input: good, opts: Options{Runtime: "/nonexistent/runtime", MaxInput: int64(len(good))},
			wantStderr: "/nonexistent/runtime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := Run(context.Background(), bytes.NewReader(tt.input), &stdout, &stderr, tt.opts)
			if tt.wantErr != "" {
				if !errors.Is(err, plugin.ErrInvalidSpec) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want ErrInvalidSpec saying %q", err, tt.wantErr)
				}
				if stdout.Len() > 0 {
					t.Errorf("stdout %q on error", stdout.Bytes())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) || !strings.Contains(stderr.String(), `dropped entry "CAP_NOPE"`) {
				t.Errorf("stderr %q lacks %q or the dropped entry", stderr.String(), tt.wantStderr)
			}
			host, err := plugin.HostEnv()
			if err != nil {
				t.Fatal(err)
			}
			var spec specs.Spec
			if err := json.Unmarshal(stdout.Bytes(), &spec); err != nil {
				t.Fatalf("output is not a spec: %v", err)
			}
			got, unmapped, err := capnames.Materialize(spec.Process.Capabilities.Bounding, host.KernelLast)
			if err != nil || len(unmapped) > 0 {
				t.Fatalf("bounding %q: %v, unmapped %q", spec.Process.Capabilities.Bounding, err, unmapped)
			}
			want := capnames.UpTo(host.KernelLast).Intersect(host.Bounding).Intersect(capnames.Default().Set())
			if got != want {
				t.Errorf("bounding grants %v, want kernel ∩ bounding set ∩ table = %v", got.Strings(), want.Strings())
			}
		})
	}
}
