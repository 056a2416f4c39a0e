package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// modulePath is capgen's own module, whose checkout holds the committed
// table.
const modulePath = "github.com/capgen-dev/capgen"

// Default locations, relative to the root of a capgen checkout.
const (
	committedDir  = "capnames"
	tableFile     = "capabilities.json"
	generatedFile = "zz_generated.go"
	systemHeader  = "/usr/include/linux/capability.h"
	systemManPage = "/usr/share/man/man7/capabilities.7.gz"
	updateScript  = "hack/update-capnames.sh"
)

var errNoCheckout = errors.New("not inside a capgen checkout (no go.mod of " + modulePath + " above the working directory)")

// checkoutRoot finds the capgen checkout that holds the working directory.
func checkoutRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if mod, err := enclosingModule(dir); err == nil && mod == modulePath {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errNoCheckout
		}
		dir = parent
	}
}

// enclosingModule returns the module path declared by dir/go.mod.
func enclosingModule(dir string) (string, error) {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", fmt.Errorf("%s/go.mod: no module line", dir)
}

// importPath returns the Go import path of the package in dir, found from
// the go.mod above it; without one, the directory's base name stands in.
func importPath(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		if mod, err := enclosingModule(d); err == nil {
			rel, err := filepath.Rel(d, abs)
			if err != nil {
				return "", err
			}
			return filepath.ToSlash(filepath.Join(mod, rel)), nil
		}
		if filepath.Dir(d) == d {
			return filepath.Base(abs), nil
		}
	}
}
