package capnames

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

const capLastCapFile = "/proc/sys/kernel/cap_last_cap"

// KernelLast returns the highest capability the running kernel knows, read
// from /proc/sys/kernel/cap_last_cap or, where /proc is not mounted, found
// by asking prctl(PR_CAPBSET_READ) which numbers are valid. The answer is
// read once per process.
func KernelLast() (Cap, error) { return kernelLast() }

// Bounding returns the calling process's capability bounding set, read with
// prctl(PR_CAPBSET_READ) for every capability of the running kernel. The
// answer is read once per process.
func Bounding() (Set, error) { return bounding() }

var kernelLast = sync.OnceValues(func() (Cap, error) {
	return lastCap(capLastCapFile, capbsetRead)
})

var bounding = sync.OnceValues(func() (Set, error) {
	last, err := KernelLast()
	if err != nil {
		return 0, err
	}
	return boundingSet(last, capbsetRead)
})

// capbsetRead reports whether c is in the bounding set. It fails with EINVAL
// for a number the kernel does not know.
func capbsetRead(c Cap) (bool, error) {
	r, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
	return r == 1, err
}

func lastCap(file string, read func(Cap) (bool, error)) (Cap, error) {
	b, ferr := os.ReadFile(file)
	if ferr == nil {
		return parseLastCap(file, string(b))
	}
	last, err := searchLastCap(read)
	if err != nil {
		return -1, fmt.Errorf("kernel last capability: %w (and %w)", err, ferr)
	}
	return last, nil
}

// parseLastCap reads the kernel's "40\n": a canonical decimal in 0..63,
// as strict as [Parse] is with numerals, so that a mangled file cannot widen
// ALL_CAPS.
func parseLastCap(file, text string) (Cap, error) {
	if num := strings.TrimSuffix(text, "\n"); isDigits(num) {
		if c, err := parseNumber(num); err == nil {
			return c, nil
		}
	}
	return -1, fmt.Errorf("%s: %s is not a capability number in 0..%d", file, quoteInput(text), MaxCap)
}

// searchLastCap finds the highest number PR_CAPBSET_READ accepts by binary
// search: the kernel answers EINVAL above its last capability.
func searchLastCap(read func(Cap) (bool, error)) (Cap, error) {
	if _, err := read(0); err != nil {
		return -1, fmt.Errorf("prctl(PR_CAPBSET_READ, 0): %w", err)
	}
	lo, hi := Cap(0), MaxCap // read(lo) succeeds; the answer is in lo..hi
	for lo < hi {
		mid := (lo + hi + 1) / 2
		_, err := read(mid)
		switch {
		case err == nil:
			lo = mid
		case errors.Is(err, unix.EINVAL):
			hi = mid - 1
		default:
			return -1, fmt.Errorf("prctl(PR_CAPBSET_READ, %d): %w", mid, err)
		}
	}
	return lo, nil
}

func boundingSet(last Cap, read func(Cap) (bool, error)) (Set, error) {
	var s Set
	for c := Cap(0); c <= last; c++ {
		in, err := read(c)
		if err != nil {
			return 0, fmt.Errorf("prctl(PR_CAPBSET_READ, %d): %w", c, err)
		}
		if in {
			s.Add(c)
		}
	}
	return s, nil
}
