package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/capgen-dev/capgen/capnames"
)

// The expectation file has one row per engine, case and runtime:
//
//	podman | --cap-add=39 | runc-1.1.5 | fails: unknown capability | all&defaults+39 | ... | reason
//
// fields separated by "|": the engine, the case, the runtime ("-" for
// none), one cell per build of the engine in the order of the flags, and
// the reason the later builds differ from the first (required when any
// cell's text differs from the first's). A cell is "fails: TEXT", a
// failure whose message holds TEXT, or "BND" or "BND / EFF": set
// expressions the container's CapBnd and CapEff must equal (EFF defaults
// to BND). Lines "set NAME = EXPR" name sets; "#" starts a comment line.
//
// An expression is terms joined by "+" (union), "-" (difference) and "&"
// (intersection), evaluated left to right. A term is a capability name
// or number (capnames.Parse), a set's name, "none", "all" (the running
// kernel's capabilities within this process's bounding set) or "upto:N"
// (capabilities 0 to N).

// A row is one line of the expectation file.
type row struct {
	engine, name, runtime string
	cells                 []string
	reason                string
	line                  int
}

// An expectation is what the file says of a set of rows.
type expectation struct {
	sets map[string]capnames.Set
	rows []row
}

var errExpect = errors.New("invalid expectation")

// readExpectation reads the file, evaluating set definitions with all, the
// host's "all".
func readExpectation(path string, all capnames.Set) (*expectation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	e := &expectation{sets: map[string]capnames.Set{"all": all, "none": 0}}
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "set "):
			name, expr, ok := strings.Cut(strings.TrimPrefix(line, "set "), "=")
			if !ok {
				return nil, fmt.Errorf("%s:%d: %w: want set NAME = EXPR", path, n, errExpect)
			}
			set, err := e.eval(strings.TrimSpace(expr))
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, n, err)
			}
			e.sets[strings.TrimSpace(name)] = set
		default:
			f := strings.Split(line, "|")
			for i := range f {
				f[i] = strings.TrimSpace(f[i])
			}
			if len(f) < 5 {
				return nil, fmt.Errorf("%s:%d: %w: want engine | case | runtime | cells... | reason", path, n, errExpect)
			}
			e.rows = append(e.rows, row{engine: f[0], name: f[1], runtime: f[2], cells: f[3 : len(f)-1],
				reason: f[len(f)-1], line: n})
		}
	}
	return e, s.Err()
}

// eval evaluates a set expression.
func (e *expectation) eval(expr string) (capnames.Set, error) {
	var set capnames.Set
	op := byte('+')
	for {
		i := strings.IndexAny(expr, "+-&")
		term := expr
		if i >= 0 {
			term = expr[:i]
		}
		t, err := e.term(strings.TrimSpace(term))
		if err != nil {
			return 0, err
		}
		switch op {
		case '+':
			set = set.Union(t)
		case '-':
			set = set.Minus(t)
		case '&':
			set = set.Intersect(t)
		}
		if i < 0 {
			return set, nil
		}
		op, expr = expr[i], expr[i+1:]
	}
}

func (e *expectation) term(t string) (capnames.Set, error) {
	if s, ok := e.sets[t]; ok {
		return s, nil
	}
	if n, ok := strings.CutPrefix(t, "upto:"); ok {
		c, err := capnames.Parse(n)
		if err != nil {
			return 0, fmt.Errorf("%w: %q: %w", errExpect, t, err)
		}
		return capnames.UpTo(c), nil
	}
	c, err := capnames.Parse(t)
	if err != nil {
		return 0, fmt.Errorf("%w: term %q: %w", errExpect, t, err)
	}
	return capnames.SetOf(c), nil
}

// matches reports whether the result r is what cell expects.
func (e *expectation) matches(cell string, r result) (bool, error) {
	if text, ok := strings.CutPrefix(cell, "fails: "); ok {
		return r.err != "" && strings.Contains(r.err, text), nil
	}
	bnd, eff, hasEff := strings.Cut(cell, " / ")
	want, err := e.eval(bnd)
	if err != nil {
		return false, err
	}
	wantEff := want
	if hasEff {
		if wantEff, err = e.eval(eff); err != nil {
			return false, err
		}
	}
	return r.err == "" && r.bounding == want && r.effective == wantEff, nil
}
