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

// TestRunKeepsTheRest: the hook replaces the text of the lists it
// rewrites and nothing else, byte for byte: members its runtime-spec does
// not know (a newer engine's), spacing and order stay; a spec it leaves
// unchanged comes out as it went in. A widened spec without
// process.capabilities, which has no list to replace, is encoded again.
func TestRunKeepsTheRest(t *testing.T) {
	host, err := plugin.HostEnv()
	if err != nil {
		t.Fatal(err)
	}
	names := func(s capnames.Set) string {
		b, _ := json.Marshal(s.Strings())
		return string(b)
	}
	all := names(capnames.UpTo(host.KernelLast).Intersect(host.Bounding).Intersect(capnames.Default().Set()))
	prefix := "{\n  \"ociVersion\": \"1.0.2\",\n  \"linux\": {\"netDevices\": {\"eth9\": {}}, \"x-future\": [1, 2]},\n" +
		"  \"process\": {\"user\": {\"uid\": 0}, \"cwd\": \"/\", \"capabilities\": {\"bounding\": "
	for _, tc := range []struct {
		name, in, want string
		opts           Options
	}{
		{"ALL_CAPS expanded", prefix + "[\"ALL_CAPS\"], \"ambient\": []}}\n}", prefix + all + ", \"ambient\": []}}\n}", Options{}},
		{"nothing to change", prefix + "[\"CAP_KILL\"]}}\n}", prefix + "[\"CAP_KILL\"]}}\n}", Options{}},
		{"widened without capabilities",
			`{"ociVersion":"1.0.2","annotations":{"io.podman.annotations.privileged":"TRUE"},"process":{"user":{"uid":0},"cwd":"/"}}`,
			`{"ociVersion":"1.0.2","process":{"user":{"uid":0,"gid":0},"cwd":"/","capabilities":{"bounding":` + all +
				`,"effective":` + all + `,"permitted":` + all + `}},"annotations":{"io.podman.annotations.privileged":"TRUE"}}` + "\n",
			Options{TrustPrivileged: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Runtime = "/nonexistent/runtime" // names, as for an unknown runtime
			var stdout, stderr bytes.Buffer
			if err := Run(context.Background(), strings.NewReader(tc.in), &stdout, &stderr, tc.opts); err != nil {
				t.Fatal(err)
			}
			if stdout.String() != tc.want {
				t.Errorf("the hook wrote\n%s\nwant\n%s", stdout.Bytes(), tc.want)
			}
		})
	}
}
