package ociruntime

// A runtime may fail a trial's create for an entry it cannot map, saying
// which or not; settle narrows the failing entries down.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/capgen-dev/capgen/capnames"
)

// settle returns the capabilities the runtime applies of entries and the
// entries that fail its create, creating containers with create; failing
// says that a create of all of entries is known to fail already. A create
// that fails naming an entry (runc before 1.0.0-rc93: `unknown capability
// "CAP_PERFMON"`) has that entry taken out and is tried again; one that
// fails naming none (runsc: "cannot read client sync file") is narrowed by
// bisection: each half is settled, and when the first half creates whole
// the failure is in the second. Failures are taken to come from the
// entries present, so a list of n entries with k that fail costs about
// k·log2(n) containers.
func settle(ctx context.Context, create createFunc, entries []string, failing bool) (capnames.Set, []string, error) {
	if len(entries) == 0 {
		return 0, nil, nil
	}
	if !failing {
		applied, err := create(ctx, entries)
		var failed *createFailure
		switch {
		case err == nil:
			return applied, nil, nil
		case !errors.As(err, &failed) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
			return 0, nil, err // not the entries: a timeout, or the trial's own failure
		}
		if i := slices.IndexFunc(entries, func(e string) bool { return namesEntry(failed.stderr, e) }); i >= 0 {
			applied, rejected, err := settle(ctx, create, slices.Delete(slices.Clone(entries), i, i+1), false)
			return applied, append([]string{entries[i]}, rejected...), err
		}
	}
	if len(entries) == 1 {
		return 0, entries, nil
	}
	half := len(entries) / 2
	applied, rejected, err := settle(ctx, create, entries[:half], false)
	if err != nil {
		return 0, nil, err
	}
	applied2, rejected2, err := settle(ctx, create, entries[half:], len(rejected) == 0)
	return applied.Union(applied2), append(rejected, rejected2...), err
}

// createFunc creates a trial container granting entries and returns the
// capabilities it applied, or a [createFailure] when the runtime failed
// the create.
type createFunc func(ctx context.Context, entries []string) (capnames.Set, error)

// namesEntry reports whether a runtime's error text quotes entry: as
// "CAP_PERFMON", or escaped inside a quoted log message as \"CAP_PERFMON\".
func namesEntry(stderr, entry string) bool {
	for rest := stderr; ; {
		i := strings.Index(rest, entry)
		if i < 0 {
			return false
		}
		before, after := rest[:i], rest[i+len(entry):]
		if strings.HasSuffix(before, `"`) && (strings.HasPrefix(after, `"`) || strings.HasPrefix(after, `\"`)) {
			return true
		}
		rest = after
	}
}

// createFailure is the error of a trial create that the runtime failed,
// with what it wrote on stderr.
type createFailure struct {
	stderr string
	err    error
}

func (e *createFailure) Error() string {
	return fmt.Sprintf("%q failed: %v%s", "create", e.err, firstLineSuffix(e.stderr))
}

func (e *createFailure) Unwrap() error { return e.err }
