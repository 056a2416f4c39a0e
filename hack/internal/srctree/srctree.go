// Package srctree edits a released source tree in memory, with anchored
// replacements and go/ast, and writes the edits as one unified diff to be
// applied with patch -p1: the patches hack/ makes for other projects are
// generated this way, so that a tree other than the one an edit was
// written for is an error, not a wrong patch.
package srctree

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// A Tree is a source tree being edited: files are read from Root once and
// kept, edited, in memory; Root is never written.
type Tree struct {
	Root   string
	orig   map[string][]byte // as read; nil for a file the edits create
	edited map[string][]byte
}

// File returns the current text of the file at the slash-separated path.
func (t *Tree) File(path string) ([]byte, error) {
	if b, ok := t.edited[path]; ok {
		return b, nil
	}
	b, err := os.ReadFile(filepath.Join(t.Root, filepath.FromSlash(path)))
	if err != nil {
		return nil, err
	}
	t.set(path, b, b)
	return b, nil
}

func (t *Tree) set(path string, orig, edited []byte) {
	if t.edited == nil {
		t.orig, t.edited = map[string][]byte{}, map[string][]byte{}
	}
	if _, ok := t.orig[path]; !ok {
		t.orig[path] = orig
	}
	t.edited[path] = edited
}

// Replace replaces old, which must occur exactly once in the file, with
// new.
func (t *Tree) Replace(path, old, new string) error {
	b, err := t.File(path)
	if err != nil {
		return err
	}
	if n := bytes.Count(b, []byte(old)); n != 1 {
		return fmt.Errorf("%s: anchor found %d times, want once: %.60q", path, n, old)
	}
	t.set(path, nil, bytes.Replace(b, []byte(old), []byte(new), 1))
	return nil
}

// Create adds a file that the tree must not have.
func (t *Tree) Create(path string, src []byte) error {
	if _, err := os.Lstat(filepath.Join(t.Root, filepath.FromSlash(path))); !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: creating a file the tree has (%v)", path, err)
	}
	t.set(path, nil, src)
	return nil
}

// Overwrite replaces the whole file at path, which the tree must have.
func (t *Tree) Overwrite(path string, src []byte) error {
	if _, err := t.File(path); err != nil {
		return err
	}
	t.set(path, nil, src)
	return nil
}

// funcRange returns the byte range of the top-level function name (no
// receiver) in src, from its doc comment to its closing brace and the line
// break after it.
func funcRange(path string, src []byte, name string) (start, end int, err error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		return 0, 0, err
	}
	var found []*ast.FuncDecl
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == name {
			found = append(found, fd)
		}
	}
	if len(found) != 1 {
		return 0, 0, fmt.Errorf("%s: function %s found %d times, want once", path, name, len(found))
	}
	fd := found[0]
	from := fd.Pos()
	if fd.Doc != nil {
		from = fd.Doc.Pos()
	}
	start, end = fset.Position(from).Offset, fset.Position(fd.End()).Offset
	if end < len(src) && src[end] == '\n' {
		end++
	}
	return start, end, nil
}

// ReplaceFunc replaces the top-level function name, doc comment included,
// with src; an empty src removes it and the blank line after it.
func (t *Tree) ReplaceFunc(path, name, src string) error {
	b, err := t.File(path)
	if err != nil {
		return err
	}
	start, end, err := funcRange(path, b, name)
	if err != nil {
		return err
	}
	if src == "" && end < len(b) && b[end] == '\n' {
		end++
	}
	t.set(path, nil, slices.Concat(b[:start], []byte(src), b[end:]))
	return nil
}

// DropUnusedImports removes the imports among paths (import path to
// package name) that the file at path no longer uses.
func (t *Tree) DropUnusedImports(path string, paths map[string]string) error {
	b, err := t.File(path)
	if err != nil {
		return err
	}
	f, err := parser.ParseFile(token.NewFileSet(), path, b, 0)
	if err != nil {
		return err
	}
	used := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Obj == nil {
				used[id.Name] = true
			}
		}
		return true
	})
	for _, imp := range f.Imports {
		p := strings.Trim(imp.Path.Value, `"`)
		name, ok := paths[p]
		if !ok || used[name] {
			continue
		}
		if err := t.Replace(path, "\t"+imp.Path.Value+"\n", ""); err != nil {
			return err
		}
	}
	return nil
}

// AddImport adds the standard-library import p to the file's first
// import block; gofmt sorts it into place.
func (t *Tree) AddImport(path, p string) error {
	return t.Replace(path, "import (\n", "import (\n\t\""+p+"\"\n")
}

// Diff formats every edited Go file and returns the unified diff of the
// tree, files in path order, paths a/... and b/... as patch -p1 takes.
func (t *Tree) Diff() ([]byte, error) {
	tmp, err := os.MkdirTemp("", "enginepatch-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var out bytes.Buffer
	for _, path := range slices.Sorted(maps.Keys(t.edited)) {
		edited := t.edited[path]
		if strings.HasSuffix(path, ".go") {
			if edited, err = format.Source(edited); err != nil {
				return nil, fmt.Errorf("%s: edited file does not parse: %w", path, err)
			}
		}
		if bytes.Equal(edited, t.orig[path]) {
			continue
		}
		d, err := unified(tmp, path, t.orig[path], edited)
		if err != nil {
			return nil, err
		}
		out.Write(d)
	}
	if out.Len() == 0 {
		return nil, errors.New("the edits change nothing")
	}
	return out.Bytes(), nil
}

// unified runs diff -u on the two versions of path; orig nil is a file
// the patch creates.
func unified(tmp, path string, orig, edited []byte) ([]byte, error) {
	a, b := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	if err := os.WriteFile(a, orig, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(b, edited, 0o644); err != nil {
		return nil, err
	}
	from := "a/" + path
	if orig == nil {
		a, from = "/dev/null", "/dev/null"
	}
	out, err := exec.Command("diff", "-u", "--label", from, "--label", "b/"+path, a, b).Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return out, nil // diff's status for "files differ"
	}
	if err != nil {
		return nil, fmt.Errorf("diff of %s: %w", path, err)
	}
	return nil, fmt.Errorf("diff of %s: no difference", path)
}

// AnchorError says that the text an edit is anchored on is not in the
// file exactly once.
func AnchorError(path, what string) error {
	return fmt.Errorf("%s: %s not found exactly once", path, what)
}
