//go:build !linux

package capnames

import (
	"errors"
	"fmt"
	"runtime"
)

var errNotLinux = fmt.Errorf("capabilities are a Linux feature, not available on %s: %w", runtime.GOOS, errors.ErrUnsupported)

// KernelLast returns the highest capability the running kernel knows. It is
// only available on Linux and fails elsewhere with an error wrapping
// [errors.ErrUnsupported].
func KernelLast() (Cap, error) { return -1, errNotLinux }

// Bounding returns the calling process's capability bounding set. It is only
// available on Linux and fails elsewhere with an error wrapping
// [errors.ErrUnsupported].
func Bounding() (Set, error) { return 0, errNotLinux }
