package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// buildCapgen builds the capgen command into a temporary directory and
// returns its path.
func buildCapgen(t *testing.T) string {
	t.Helper()
	return buildCommand(t, t.TempDir(), "capgen")
}

// buildCommand builds capgen's command name (a directory of cmd/) into dir
// and returns its path.
func buildCommand(t *testing.T, dir, name string) string {
	t.Helper()
	goTool, err := exec.LookPath("go") // go test puts its own go first on PATH
	if err != nil {
		t.Fatalf("no go tool to build %s: %v", name, err)
	}
	bin := filepath.Join(dir, name)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Statically linked, as make install builds it: a trial runs it inside
	// the container of a sandboxed runtime (ociruntime.ServeReport).
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, "github.com/capgen-dev/capgen/cmd/"+name)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build %s: %v\n%s", name, err, out)
	}
	return bin
}

// runHook runs `capgen hook --runtime r` with args on config and returns
// its stdout and stderr, failing t when it does not succeed.
func runHook(t *testing.T, capgen string, r ociRuntime, config []byte, args ...string) (stdout []byte, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, capgen, append([]string{"hook", "--runtime", r.path, "--cache-dir", t.TempDir()}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(config), &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("capgen hook --runtime %s: %v\nstderr:\n%s", r.path, err, errOut.String())
	}
	return out.Bytes(), errOut.String()
}

// A config holding ALL_CAPS, as an engine that knows nothing of the runtime
// would write it for --cap-add=all, or the table's every name, as Podman
// writes --privileged, goes through the precreate hook and then runs with
// every capability of the kernel in the bounding set that the runtime
// applies: for runc v1.0.0-rc92, which fails a container naming
// CAP_PERFMON, the hook must leave out what it does not name.
func TestE2EHook(t *testing.T) {
	h, rts := setup(t)
	capgen := buildCapgen(t)
	capshim := buildCommand(t, filepath.Dir(capgen), "capshim")
	configs := map[string][]string{
		"ALL_CAPS":    {capnames.AllCaps},
		"table names": capnames.UpTo(capnames.Default().Last()).Strings(),
	}
	for _, r := range rts {
		for what, entries := range configs {
			t.Run(r.name+"/"+what, func(t *testing.T) {
				spec := baseSpec(root)
				spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: entries, Effective: entries, Permitted: entries}
				config := marshalSpec(t, spec)
				checkHook(t, capgen, r, config, h)
				// capshim runs the hook itself for a runtime named by its
				// path: what it writes must be capgen's, byte for byte.
				out, stderr := runHook(t, capgen, r, config, "--policy", "auto")
				shimOut, shimStderr := runHook(t, capshim, r, config, "--policy", "auto")
				if !bytes.Equal(shimOut, out) || shimStderr != stderr {
					t.Errorf("capshim hook wrote\n%s\n%s\ncapgen hook\n%s\n%s", shimOut, shimStderr, out, stderr)
				}
			})
		}
	}
}

// checkHook runs config through the hook for r, then the container, and
// checks that both grant kernel ∩ bounding set ∩ what r applies.
func checkHook(t *testing.T, capgen string, r ociRuntime, config []byte, h host) {
	t.Helper()
	full := r.applies()
	wantSpec := plugin.Sets{Bounding: full, Effective: full, Permitted: full}
	out, stderr := runHook(t, capgen, r, config)
	t.Logf("capgen hook stderr:\n%s", stderr)
	var rewritten specs.Spec
	if err := json.Unmarshal(out, &rewritten); err != nil {
		t.Fatalf("capgen hook output is not a spec: %v\n%s", err, out)
	}
	if rewritten.Process == nil {
		t.Fatalf("capgen hook output has no process: %s", out)
	}
	applied, dropped := r.specSets(rewritten.Process.Capabilities, h.last)
	if dropped != "" {
		t.Errorf("capgen hook wrote entries %s drops:%s", r.name, dropped)
	}
	if d := diffSets(applied, wantSpec); d != "" {
		t.Errorf("capgen hook's entries grant other sets than kernel ∩ bounding set ∩ %s:%s", r.name, d)
	}
	for _, c := range h.kernel.Minus(h.parent.Bounding).Caps() {
		if !strings.Contains(stderr, "left out "+c.String()) {
			t.Errorf("capgen hook stderr does not say it left out %s", c)
		}
	}
	got := runConfig(t, r, out)
	want := afterExec(wantSpec, h.parent, 0, rewritten.Process.NoNewPrivileges)
	if d := diffSets(got, want); d != "" {
		t.Errorf("%s: the container's sets are not kernel ∩ bounding set ∩ runtime:%s", r.name, d)
	}
	if got.Bounding != full || got.Effective != full {
		t.Errorf("container: CapBnd %s, CapEff %s; want %s", got.Bounding.Bitmap(), got.Effective.Bitmap(), full.Bitmap())
	}
}
