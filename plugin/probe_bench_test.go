package plugin

import (
	"context"
	"os"
	"testing"
)

// realRunc is the runc the benchmarks and end-to-end tests use.
const realRunc = "/usr/sbin/runc"

// BenchmarkProbe compares a probe answered from the memo, from a warm cache
// file (a fresh Prober each iteration, so its memo is empty), and by running
// runc features.
func BenchmarkProbe(b *testing.B) {
	if _, err := os.Stat(realRunc); err != nil {
		b.Skipf("no %s: %v", realRunc, err)
	}
	ctx := context.Background()
	dir := b.TempDir()
	warm := &Prober{CacheDir: dir}
	if _, err := warm.Probe(ctx, realRunc); err != nil {
		b.Fatal(err)
	}
	b.Run("memo", func(b *testing.B) {
		for b.Loop() {
			if _, err := warm.Probe(ctx, realRunc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("disk", func(b *testing.B) {
		for b.Loop() {
			p := &Prober{CacheDir: dir}
			f, err := p.Probe(ctx, realRunc)
			if err != nil || f.Unknown {
				b.Fatal(f, err)
			}
		}
	})
	b.Run("exec", func(b *testing.B) {
		for b.Loop() {
			p := &Prober{DisableDiskCache: true}
			f, err := p.Probe(ctx, realRunc)
			if err != nil || f.Unknown {
				b.Fatal(f, err)
			}
		}
	})
}
