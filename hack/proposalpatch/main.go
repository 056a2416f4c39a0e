// Command proposalpatch writes the patches that build the runtime side of
// runtime-spec issue 1071 (process.capabilities entries "ALL_CAPS" and
// decimal numerals), as capgen proposes it (docs/proposal.md):
//
//	proposalpatch -out DIR -runtime-spec DIR -runtime-spec-newest DIR -runc DIR
//
// writes DIR/runtime-spec-v1.2.1.patch and DIR/runtime-spec-v1.3.0.patch
// (the spec text, the features schema and Go type, schema test fixtures),
// DIR/runc-v1.5.3.patch (runc takes the entries and advertises them with
// annotations, against the released spec) and
// DIR/runc-v1.5.3-features.patch (applied after it, when runc builds
// against the patched spec: the new features field too). Like
// hack/enginepatch, it edits the module proxy's released trees in memory
// with anchored replacements; the text the patches add is in files/.
// hack/proposal-patches.sh downloads the modules and runs this command.
package main

import (
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"strings"

	"github.com/capgen-dev/capgen/hack/internal/srctree"
)

// A patch is one file this command writes: the edits of a source tree.
type patch struct {
	name string
	dir  func() (string, error)
	edit func(*srctree.Tree) error
}

func main() {
	out := flag.String("out", "", "directory to write the patches to")
	spec := flag.String("runtime-spec", "", "source tree of github.com/opencontainers/runtime-spec v1.2.1")
	specNewest := flag.String("runtime-spec-newest", "", "source tree of github.com/opencontainers/runtime-spec v1.3.0")
	runc := flag.String("runc", "", "source tree of github.com/opencontainers/runc v1.5.3")
	flag.Parse()
	if *out == "" || *spec == "" || *specNewest == "" || *runc == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: proposalpatch -out DIR -runtime-spec DIR -runtime-spec-newest DIR -runc DIR")
		os.Exit(2)
	}
	if err := run(*out, *spec, *specNewest, *runc); err != nil {
		fmt.Fprintf(os.Stderr, "proposalpatch: %v\n", err)
		os.Exit(1)
	}
}

// run writes the four patches to out.
func run(out, spec, specNewest, runc string) error {
	var runcPatched string // runc's tree with its first patch applied
	defer func() {
		if runcPatched != "" {
			os.RemoveAll(runcPatched)
		}
	}()
	patches := []patch{
		{"runtime-spec-v1.2.1", fixed(spec), editRuntimeSpec},
		{"runtime-spec-v1.3.0", fixed(specNewest), editRuntimeSpec},
		{"runc-v1.5.3", fixed(runc), editRunc},
		{"runc-v1.5.3-features", func() (string, error) {
			var err error
			runcPatched, err = edited(runc, editRunc, "features.go")
			return runcPatched, err
		}, editRuncFeatures},
	}
	for _, p := range patches {
		if err := write(out, p); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	return nil
}

func fixed(dir string) func() (string, error) {
	return func() (string, error) { return dir, nil }
}

// edited writes the files named of the tree at dir, as edit leaves them,
// to a new temporary directory and returns it: the root of a patch that
// applies after edit's.
func edited(dir string, edit func(*srctree.Tree) error, files ...string) (string, error) {
	t := &srctree.Tree{Root: dir}
	if err := edit(t); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp("", "proposalpatch-")
	if err != nil {
		return "", err
	}
	for _, f := range files {
		b, err := t.File(f)
		if err == nil && strings.HasSuffix(f, ".go") {
			b, err = format.Source(b) // as the first patch writes it
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(tmp, filepath.FromSlash(f)), b, 0o644)
		}
		if err != nil {
			os.RemoveAll(tmp)
			return "", err
		}
	}
	return tmp, nil
}

// write makes p and writes it to dir.
func write(dir string, p patch) error {
	root, err := p.dir()
	if err != nil {
		return err
	}
	t := &srctree.Tree{Root: root}
	if err := p.edit(t); err != nil {
		return err
	}
	diff, err := t.Diff()
	if err != nil {
		return err
	}
	name := filepath.Join(dir, p.name+".patch")
	if err := os.WriteFile(name, diff, 0o644); err != nil {
		return err
	}
	fmt.Println(name)
	return nil
}
