package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Outcomes of a test.
const (
	passed  = "passed"
	failed  = "failed"
	skipped = "skipped"
)

// readReport returns each test's outcome in the report at path: Ginkgo's
// JSON report (.json) or bats' TAP (.tap).
func readReport(path string) (map[string]string, error) {
	switch filepath.Ext(path) {
	case ".json":
		return readGinkgo(path)
	case ".tap":
		return readTAP(path)
	}
	return nil, fmt.Errorf("%s: neither .json (Ginkgo) nor .tap (bats)", path)
}

// ginkgoSpec is what is read of a spec in Ginkgo's JSON report.
type ginkgoSpec struct {
	LeafNodeType     string
	LeafNodeText     string
	LeafNodeLocation struct {
		FileName   string
		LineNumber int
	}
	State   string
	Failure struct{ Message string }
}

// readGinkgo reads the It specs that ran, or were skipped when they ran,
// keyed "FILE:LINE TEXT": a suite may name several specs alike.
func readGinkgo(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var reports []struct{ SpecReports []ginkgoSpec }
	if err := json.Unmarshal(data, &reports); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string]string{}
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if s.LeafNodeType != "It" || s.State == skipped && s.Failure.Message == "" {
				continue // not selected by the focus
			}
			key := fmt.Sprintf("%s:%d %s", filepath.Base(s.LeafNodeLocation.FileName), s.LeafNodeLocation.LineNumber, s.LeafNodeText)
			switch s.State {
			case passed, skipped:
				out[key] = s.State
			default: // failed, panicked, interrupted, timedout, aborted
				out[key] = failed
			}
		}
	}
	return out, nil
}

// readTAP reads bats' TAP lines: "ok N NAME", "not ok N NAME" and
// "ok N NAME # skip (REASON)".
func readTAP(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimRight(s.Text(), "\r")
		state, rest := passed, ""
		switch {
		case strings.HasPrefix(line, "ok "):
			rest = line[len("ok "):]
		case strings.HasPrefix(line, "not ok "):
			state, rest = failed, line[len("not ok "):]
		default:
			continue
		}
		_, name, _ := strings.Cut(rest, " ")
		if n, _, ok := strings.Cut(name, " # skip"); ok {
			name, state = n, skipped
		}
		out[name] = state
	}
	return out, s.Err()
}
