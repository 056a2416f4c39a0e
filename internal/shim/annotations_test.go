package shim

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/capgen-dev/capgen/plugin"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestAnnotationsNeverWiden: whatever annotations an image, a user or a
// pod spec put in a bundle's config.json, the shim writes exactly the
// capability lists it writes for the same bundle without them, and never
// fails the container for them. The annotations are drawn from those
// capgen and Podman read, near misses, and values that once meant
// something.
func TestAnnotationsNeverWiden(t *testing.T) {
	runtime, _ := shimFixture(t, allNamesFeatures()) // runc 1.1.5's features
	opts, _ := testOptions(t, runtime)
	keys := []string{plugin.CapabilitiesAnnotation, plugin.PodmanPrivilegedAnnotation, ociruntime.ShimAnnotation, plugin.ImageLabel,
		"IO.PODMAN.ANNOTATIONS.PRIVILEGED", "io.podman.annotations.privileged/ctr", "io.kubernetes.cri.container-type"}
	values := []string{"all", "ALL", "TRUE", "true", "FALSE", "", "garbage", "ALL_CAPS", "39", "CAP_SYS_ADMIN"}
	entries := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN", "CAP_BPF", "CAP_SYS_RESOURCE",
		"ALL_CAPS", "39", "all", "CAP_FOO", "ſys_admin"}
	rewrite := func(annotations map[string]string, caps *specs.LinuxCapabilities, uid uint32) *specs.LinuxCapabilities {
		t.Helper()
		spec := specs.Spec{Version: "1.0.2", Annotations: annotations, Process: &specs.Process{
			User: specs.User{UID: uid}, Cwd: "/", Args: []string{"sh"}, Capabilities: caps}}
		data, err := json.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		bundle := t.TempDir()
		config := filepath.Join(bundle, "config.json")
		if err := os.WriteFile(config, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Run(context.Background(), []string{"create", "--bundle", bundle, "ctr"}, opts); err != nil {
			t.Fatalf("annotations %q: %v", annotations, err)
		}
		if data, err = os.ReadFile(config); err != nil {
			t.Fatal(err)
		}
		var out specs.Spec
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatal(err)
		}
		return out.Process.Capabilities
	}
	r := rand.New(rand.NewPCG(14, 2026))
	list := func() []string {
		l := []string{}
		for range r.IntN(5) {
			l = append(l, entries[r.IntN(len(entries))])
		}
		return l
	}
	const n = 300
	for range n {
		annotations := map[string]string{}
		for range 1 + r.IntN(4) {
			annotations[keys[r.IntN(len(keys))]] = values[r.IntN(len(values))]
		}
		caps := func() *specs.LinuxCapabilities {
			return &specs.LinuxCapabilities{Bounding: list(), Effective: list(), Inheritable: list(), Permitted: list(), Ambient: list()}
		}()
		uid := uint32(r.IntN(2) * 1000)
		plain := *caps
		if with, without := rewrite(annotations, caps, uid), rewrite(nil, &plain, uid); !reflect.DeepEqual(with, without) {
			t.Fatalf("uid %d, annotations %q: the shim wrote %+v; without them %+v", uid, annotations, with, without)
		}
	}
	t.Logf("%d random annotation maps through the shim: no capability list changed", n)
}
