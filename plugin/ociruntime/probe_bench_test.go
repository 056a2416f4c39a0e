package ociruntime

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/capgen-dev/capgen/plugin"
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
	benchmarkTrial(b)
}

// benchmarkTrial measures the probe of runc v1.0.0-rc92, which has no
// features command, as hack/build-runtimes.sh builds it into
// $CAPGEN_E2E_RUNTIMES: a cold trial (five containers: four name rounds,
// as it rejects three names one at a time, and one of numerals), and a
// fresh Prober answered from the warm cache file the trial left.
func benchmarkTrial(b *testing.B) {
	rc92 := filepath.Join(os.Getenv("CAPGEN_E2E_RUNTIMES"), "runc-v1.0.0-rc92")
	if _, err := os.Stat(rc92); err != nil || os.Getenv("CAPGEN_E2E_RUNTIMES") == "" {
		b.Logf("no trial benchmarks: %s: %v", rc92, err)
		return
	}
	ctx := context.Background()
	dir := b.TempDir()
	b.Run("trial-cold", func(b *testing.B) {
		for b.Loop() {
			f, err := (&Prober{DisableDiskCache: true}).Probe(ctx, rc92)
			if err != nil || f.Source != plugin.FromTrial {
				b.Fatal(f, err)
			}
		}
	})
	if f, err := (&Prober{CacheDir: dir}).Probe(ctx, rc92); err != nil || f.Source != plugin.FromTrial {
		b.Fatal(f, err)
	}
	b.Run("trial-disk", func(b *testing.B) {
		for b.Loop() {
			f, err := (&Prober{CacheDir: dir}).Probe(ctx, rc92)
			if err != nil || f.Source != plugin.FromTrial {
				b.Fatal(f, err)
			}
		}
	})
}
