package engine

import (
	"testing"

	"github.com/capgen-dev/capgen/plugin/ociruntime"
)

// BenchmarkPodman is what the recipe costs Podman per container in a fresh
// process: a probe answered from the warm cache file (a new Prober each
// iteration, so no memo), the defaults as rtc loaded them (reading the
// containers.conf files again), and Apply. The runtime is the fake runc,
// whose features are those of runc 1.1.5; the generator is Podman's own
// and built outside the loop.
func BenchmarkPodman(b *testing.B) {
	runc := fakeRunc(b)
	rtc := loadConfig(b, "")
	dir := b.TempDir()
	g := newGenerator(b)
	c := PodmanContainer{CapAdd: []string{"net_admin"}, CapDrop: []string{"chown"}, OCIRuntime: runc}
	if _, err := (Recipe{Prober: &ociruntime.Prober{CacheDir: dir}}).Podman(g, rtc, c); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := (Recipe{Prober: &ociruntime.Prober{CacheDir: dir}}).Podman(g, rtc, c); err != nil {
			b.Fatal(err)
		}
	}
}
