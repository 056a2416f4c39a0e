package shim

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/capgen-dev/capgen/internal/capsplice"
	"github.com/capgen-dev/capgen/internal/containersconf"
	"github.com/capgen-dev/capgen/internal/shim/confmemo"
	"github.com/capgen-dev/capgen/internal/shim/record"
	"github.com/capgen-dev/capgen/plugin"
	"github.com/capgen-dev/capgen/plugin/engine"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
	"go.podman.io/common/pkg/config"
)

// benchConfig is a config.json as an engine that knows nothing of the
// runtime writes it for --cap-add all, as hack/bench-processes.sh's.
const benchConfig = `{"ociVersion": "1.0.2", "root": {"path": "rootfs", "readonly": true},
 "process": {"args": ["/bin/busybox", "true"], "cwd": "/", "user": {"uid": 0, "gid": 0},
  "capabilities": {"bounding": ["ALL_CAPS"], "effective": ["ALL_CAPS"], "permitted": ["ALL_CAPS"]}},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
 "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}]}}
`

// BenchmarkCreateSteps times each step of the shim's create on its own,
// in the order [Run] takes them, against the real runc in $PATH with its
// probe cache warm: the per-step table of the shim's cost at create, with
// the steps it no longer takes (containers.conf loaded by capgen, the
// spec decoded whole) beside what replaced them. In a loop encoding/json
// knows the spec's types already; the first decode of a new process costs
// more, and starting the process is hack/bench-processes.sh's.
func BenchmarkCreateSteps(b *testing.B) {
	runc, err := exec.LookPath("runc")
	if err != nil {
		b.Skip("no runc in $PATH")
	}
	dir := b.TempDir()
	bundle := filepath.Join(dir, "bundle")
	if err := os.Mkdir(bundle, 0o755); err != nil {
		b.Fatal(err)
	}
	cfgPath := filepath.Join(bundle, "config.json")
	args := []string{"--root", filepath.Join(dir, "root"), "create", "--bundle", bundle, "bench"}
	prober := &ociruntime.Prober{CacheDir: filepath.Join(dir, "cache")}
	if _, err := prober.ProbeWith(context.Background(), nil, runc, nil); err != nil {
		b.Fatal(err)
	}
	cl, err := record.Parse("runc", args)
	if err != nil {
		b.Fatal(err)
	}
	conf, err := config.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	host, err := plugin.HostEnv()
	if err != nil {
		b.Fatal(err)
	}
	f, err := prober.ProbeWith(context.Background(), nil, runc, nil)
	if err != nil {
		b.Fatal(err)
	}
	target := plugin.Target{Env: host, Features: f}
	// A memo of containers.conf as capgen writes it, over the files common
	// reads here, for a writer standing for capgen.
	memoDir, memoWriter := filepath.Join(dir, "memo"), filepath.Join(dir, "capgen")
	if err := os.WriteFile(memoWriter, nil, 0o755); err != nil {
		b.Fatal(err)
	}
	sources, err := containersconf.Find()
	if err != nil {
		b.Fatal(err)
	}
	snap, err := confmemo.Take(memoWriter, sources.Inputs())
	if err != nil {
		b.Fatal(err)
	}
	if err := snap.Write(memoDir, conf.Engine.OCIRuntimes); err != nil {
		b.Skipf("memo: %v (a containers.conf file changed in the last second)", err)
	}
	data := []byte(benchConfig)
	steps := []struct {
		name string
		run  func() error
	}{
		{"parse command line", func() error { _, err := record.Parse("runc", args); return err }},
		{"look up record", func() error { cl.LookupRecord(cl.Dir(dir)); return nil }},
		{"load containers.conf (capgen)", func() error { _, err := config.New(nil); return err }},
		{"load the memo (capshim)", func() error {
			if _, ok := confmemo.Load(memoDir, memoWriter); !ok {
				return errors.New("no valid memo")
			}
			return nil
		}},
		{"find runtime", func() error { _, err := ociruntime.Find(engine.Lookup(conf), "runc"); return err }},
		{"read host", func() error { _, err := plugin.HostEnv(); return err }},
		{"read probe cache", func() error {
			_, err := (&ociruntime.Prober{CacheDir: prober.CacheDir}).ProbeWith(context.Background(), nil, runc, nil)
			return err
		}},
		{"decode config.json whole (before)", func() error { _, err := plugin.DecodeConfig(data, cfgPath); return err }},
		{"decode what is rewritten", func() error { _, err := configFile.decode(data, cfgPath); return err }},
		{"rewrite", func() error {
			spec, err := configFile.decode(data, cfgPath)
			if err == nil {
				_, err = plugin.RewriteCapabilities(spec, target)
			}
			return err
		}},
		{"splice", func() error {
			_, err := capsplice.Splice(data, configFile.at, map[string][]string{"bounding": f.Names, "effective": f.Names, "permitted": f.Names})
			return err
		}},
		{"write config.json", func() error { return record.WriteFileAtomic(cfgPath, data, 0o644) }},
		{"write record", func() error {
			return record.Write(filepath.Join(dir, "records"), "bench", record.Record{Runtime: runc})
		}},
		{"whole Run", func() error {
			if err := os.WriteFile(cfgPath, data, 0o644); err != nil {
				return err
			}
			opts := Options{Runtime: "runc", Prober: &ociruntime.Prober{CacheDir: prober.CacheDir},
				LogFile: filepath.Join(dir, "shim.log"), RecordDir: filepath.Join(dir, "records")}
			_, err := Run(context.Background(), args, opts)
			return err
		}},
	}
	for _, s := range steps {
		b.Run(s.name, func(b *testing.B) {
			for b.Loop() {
				if err := s.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
