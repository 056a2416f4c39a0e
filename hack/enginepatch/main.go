// Command enginepatch writes the patches that put capgen into
// go.podman.io/common, Podman and Buildah. It reads the released source
// trees as the module proxy serves them (read-only), edits them in memory
// with anchored replacements and go/ast, and writes one unified diff per
// module, to be applied with patch -p1 from the module's root:
//
//	enginepatch -out DIR -common DIR -podman DIR -buildah DIR
//
// writes DIR/common-v0.67.1.patch, DIR/podman-v5.8.2.patch and
// DIR/buildah-v1.44.0.patch. Every anchor must match exactly once, so a
// source tree other than the one an edit was written for is an error, not
// a wrong patch. The code the patches add is written in this directory
// (files/); the repository holds no upstream lines. hack/engine-patches.sh
// downloads the modules and runs this command.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/capgen-dev/capgen/hack/internal/srctree"
)

// A module is one engine module and the edits that make its patch.
type module struct {
	name, version string
	dir           *string
	edit          func(*srctree.Tree) error
}

func main() {
	out := flag.String("out", "", "directory to write the patches to")
	modules := []module{
		{name: "common", version: "v0.67.1", dir: flag.String("common", "", "source tree of go.podman.io/common v0.67.1"), edit: editCommon},
		{name: "podman", version: "v5.8.2", dir: flag.String("podman", "", "source tree of github.com/containers/podman/v5 v5.8.2"), edit: editPodman},
		{name: "buildah", version: "v1.44.0", dir: flag.String("buildah", "", "source tree of github.com/containers/buildah v1.44.0"), edit: editBuildah},
	}
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: enginepatch -out DIR -common DIR -podman DIR -buildah DIR")
		os.Exit(2)
	}
	for _, m := range modules {
		if err := write(*out, m); err != nil {
			fmt.Fprintf(os.Stderr, "enginepatch: %s %s: %v\n", m.name, m.version, err)
			os.Exit(1)
		}
	}
}

// write makes m's patch and writes it to dir.
func write(dir string, m module) error {
	if *m.dir == "" {
		return fmt.Errorf("no source tree: pass -%s", m.name)
	}
	t := &srctree.Tree{Root: *m.dir}
	if err := m.edit(t); err != nil {
		return err
	}
	patch, err := t.Diff()
	if err != nil {
		return err
	}
	name := filepath.Join(dir, m.name+"-"+m.version+".patch")
	if err := os.WriteFile(name, patch, 0o644); err != nil {
		return err
	}
	fmt.Println(name)
	return nil
}
