package main

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLayering keeps the arrows one way: cmd → ocihook, shim → engine →
// ociruntime → plugin (the core) → capnames, and cmd → gen. capnames
// depends on golang.org/x/sys alone and gen on jennifer alone. The core and
// ociruntime import no go.podman.io package and no TOML parser, so that
// go.podman.io/common, which they would otherwise import back through
// common/pkg/config, can import them. The hook and the shim import neither
// each other nor anything above them, and the shim nothing of
// go.podman.io: cmd/capshim runs it, with runtime names resolved through
// capgen's memo of containers.conf (internal/shim/confmemo). Each layer may import module packages
// of lower layers only, so no cycle can form. cmd/capshim, the fast entry
// point, imports nothing beyond the module and the standard library
// (cmd/capshim's TestDependencies checks what it links).
func TestLayering(t *testing.T) {
	const mod = modulePath + "/"
	external := map[string][]string{ // import path prefixes beyond the standard library and the module
		"capnames":          {"golang.org/x/sys/"},
		"gen":               {"github.com/dave/jennifer/"},
		"plugin":            {"github.com/opencontainers/runtime-spec/", "golang.org/x/sys/"},
		"plugin/ociruntime": {"github.com/opencontainers/runtime-spec/", "golang.org/x/sys/"},
		"plugin/engine": {"go.podman.io/", "github.com/opencontainers/runtime-spec/", "github.com/opencontainers/runtime-tools/generate",
			"github.com/BurntSushi/toml"}, // containers.conf's parser, as go.podman.io/common uses it
		"internal/ocihook":        {"github.com/opencontainers/runtime-spec/"},
		"internal/shim":           {"github.com/opencontainers/runtime-spec/"},
		"internal/shim/record":    nil,
		"internal/shim/confmemo":  nil,
		"internal/containersconf": {"go.podman.io/storage/pkg/unshare"},
		"internal/configure":      {"go.podman.io/common/pkg/config", "go.podman.io/common/pkg/hooks/1.0.0", "github.com/BurntSushi/toml", "github.com/opencontainers/runtime-spec/"},
		"cmd/capshim":             nil,
	}
	layer := map[string]int{"capnames": 0, "gen": 0, "plugin": 1, "plugin/ociruntime": 2, "internal/containersconf": 2, "plugin/engine": 3,
		"internal/shim/record": 3, "internal/shim/confmemo": 3, "internal/capsplice": 3, "internal/configure": 4, "internal/ocihook": 4, "internal/shim": 4, "cmd/capgen": 5, "cmd/capshim": 5}
	for pkg, allowed := range external {
		files, err := filepath.Glob(filepath.Join("../..", pkg, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files (%v)", pkg, err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if own, ok := strings.CutPrefix(path, mod); ok {
					if l, known := layer[own]; !known || l >= layer[pkg] {
						t.Errorf("%s (layer %d) imports %s (layer %d): arrows run from higher layers to lower ones", file, layer[pkg], path, l)
					}
					continue
				}
				if !isStandard(path) && !hasAnyPrefix(path, allowed) {
					t.Errorf("%s imports %s", file, path)
				}
			}
		}
	}
}

// isStandard reports whether path is a standard-library package: its first
// element has no dot.
func isStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
