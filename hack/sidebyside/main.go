// Command sidebyside runs unmodified and patched builds of Podman and
// Buildah side by side as real engines, on real OCI runtimes, compares
// what each container got with an expectation file and prints the table
// docs/engine-patches.md quotes:
//
//	sidebyside -expect FILE -work DIR -busybox PATH \
//		-runtime runc-1.1.5=PATH -runtime runc-1.0.0-rc92=PATH \
//		-podman 'Podman v5.8.2=PATH' -podman 'on patched common=PATH' -podman 'patched=PATH' \
//		-buildah 'Buildah v1.44.0=PATH' -buildah 'patched=PATH'
//
// Each cell is the CapBnd of the container's process, with its CapEff
// where that differs, or "fails: " and the engine's error. The expectation
// file (see expect.go) states each cell as a set expression evaluated on
// this host, so it holds on any kernel and bounding set, and gives a
// reason for every build whose cell differs from the first build's. The
// command exits 1 when a cell differs from its expectation.
//
// Everything it creates lives under DIR and is removed at exit.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// named is a NAME=PATH flag value, in order.
type named []struct{ name, path string }

func (n *named) String() string { return fmt.Sprint(*n) }

func (n *named) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("%q: want NAME=PATH", v)
	}
	*n = append(*n, struct{ name, path string }{name, path})
	return nil
}

func main() {
	var cfg config
	flag.StringVar(&cfg.expect, "expect", "", "expectation file")
	flag.StringVar(&cfg.work, "work", "", "directory for storage, images and caches; removed at exit")
	flag.StringVar(&cfg.busybox, "busybox", "/bin/busybox", "static busybox for the image")
	flag.Var(&cfg.runtimes, "runtime", "NAME=PATH of an OCI runtime (repeated)")
	flag.Var(&cfg.podmans, "podman", "NAME=PATH of a podman build (repeated; the first is the reference)")
	flag.Var(&cfg.buildahs, "buildah", "NAME=PATH of a buildah build (repeated; the first is the reference)")
	flag.Parse()
	if cfg.expect == "" || cfg.work == "" || len(cfg.runtimes) == 0 || len(cfg.podmans) == 0 || len(cfg.buildahs) == 0 {
		fmt.Fprintln(os.Stderr, "usage: sidebyside -expect FILE -work DIR -runtime NAME=PATH... -podman NAME=PATH... -buildah NAME=PATH...")
		os.Exit(2)
	}
	ok, err := run(cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sidebyside:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}
