package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ociVersion is the runtime-spec version the bundles declare: one that
// runc 1.1 (ociVersionMax 1.0.2-dev) and crun 1.8 (1.0.0) both run.
const ociVersion = "1.0.2"

// containerArgs print the capability lines of the container process's
// /proc/self/status: busybox runs grep in-process, so the lines are those of
// the program the runtime executed.
var containerArgs = []string{"/bin/busybox", "grep", "^Cap", "/proc/self/status"}

// baseSpec returns a config like `runc spec` writes, without a terminal,
// running containerArgs as user, with no capabilities yet.
func baseSpec(user specs.User) *specs.Spec {
	return &specs.Spec{
		Version:  ociVersion,
		Hostname: "capgen-e2e",
		Root:     &specs.Root{Path: "rootfs", Readonly: true},
		Process: &specs.Process{
			User:            user,
			Args:            containerArgs,
			Env:             []string{"PATH=/bin"},
			Cwd:             "/",
			NoNewPrivileges: true,
		},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs",
				Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.NetworkNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.MountNamespace},
			},
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
		},
	}
}

// root is the container user uid 0.
var root = specs.User{UID: 0, GID: 0}

// writeBundle creates an OCI bundle in a new temporary directory: config.json
// holding config as given, and a root file system holding only busybox.
func writeBundle(t *testing.T, h host, config []byte) string {
	t.Helper()
	dir := t.TempDir()
	busybox, err := os.ReadFile(h.busybox)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "rootfs", "bin", "busybox"), busybox, 0o755)
	for _, d := range []string{"proc", "dev"} {
		if err := os.Mkdir(filepath.Join(dir, "rootfs", d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "config.json"), config, 0o644)
	return dir
}

// marshalSpec encodes spec as config.json.
func marshalSpec(t *testing.T, spec *specs.Spec) []byte {
	t.Helper()
	data, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	return data
}
