package main

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLayering keeps the arrows one way: cmd → plugin → capnames, cmd →
// gen; capnames on the standard library and golang.org/x/sys alone, gen on
// the standard library and jennifer alone, so that engines vendoring
// capnames take in nothing else.
func TestLayering(t *testing.T) {
	const mod = modulePath + "/"
	for _, tc := range []struct {
		dir     string
		allowed []string // import path prefixes beyond the standard library
	}{
		{"../../capnames", []string{"golang.org/x/sys/"}},
		{"../../gen", []string{"github.com/dave/jennifer/"}},
		{"../../plugin", []string{mod + "capnames", "go.podman.io/", "github.com/opencontainers/runtime-spec/", "golang.org/x/sys/",
			"github.com/BurntSushi/toml"}}, // containers.conf's parser, as go.podman.io/common uses it
		{"../../plugin/engine", []string{mod + "capnames", mod + "plugin", "go.podman.io/",
			"github.com/opencontainers/runtime-spec/", "github.com/opencontainers/runtime-tools/generate"}},
	} {
		files, err := filepath.Glob(filepath.Join(tc.dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files (%v)", tc.dir, err)
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
				if !isStandard(path) && !hasAnyPrefix(path, tc.allowed) {
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
