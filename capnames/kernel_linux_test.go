package capnames

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// procLastCap reads /proc/sys/kernel/cap_last_cap without the package's code.
func procLastCap(t *testing.T) Cap {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		t.Skipf("no cap_last_cap to compare with: %v", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return Cap(n)
}

func TestKernelLast(t *testing.T) {
	want := procLastCap(t)
	got, err := KernelLast()
	if err != nil || got != want {
		t.Fatalf("KernelLast() = %d, %v; cap_last_cap says %d", got, err, want)
	}
	if again, _ := KernelLast(); again != got {
		t.Errorf("KernelLast() changed from %d to %d", got, again)
	}
}

// TestSearchLastCapKernel runs the fallback against the real prctl.
func TestSearchLastCapKernel(t *testing.T) {
	want := procLastCap(t)
	got, err := searchLastCap(capbsetRead)
	if err != nil || got != want {
		t.Errorf("searchLastCap(prctl) = %d, %v; cap_last_cap says %d", got, err, want)
	}
}

// fakeKernel answers PR_CAPBSET_READ like a kernel whose last capability is
// last, failing the test if asked outside 0..63. It counts the calls.
type fakeKernel struct {
	t     *testing.T
	last  Cap
	in    func(Cap) bool // bounding set membership; nil means all
	calls int
}

func (k *fakeKernel) read(c Cap) (bool, error) {
	k.calls++
	if !c.Valid() {
		k.t.Errorf("PR_CAPBSET_READ(%d) asked: outside 0..63", c)
	}
	if c > k.last {
		return false, unix.EINVAL
	}
	return k.in == nil || k.in(c), nil
}

func TestSearchLastCapFake(t *testing.T) {
	for last := Cap(0); last <= MaxCap; last++ {
		k := &fakeKernel{t: t, last: last, in: func(Cap) bool { return false }}
		got, err := searchLastCap(k.read)
		if err != nil || got != last {
			t.Errorf("kernel with last %d: searchLastCap = %d, %v", last, got, err)
		}
		if k.calls > 7 {
			t.Errorf("kernel with last %d: %d prctl calls, want at most 7 (1 + log2 64)", last, k.calls)
		}
	}
}

func TestSearchLastCapErrors(t *testing.T) {
	// The kernel refuses even capability 0 (a seccomp filter, say).
	_, err := searchLastCap(func(Cap) (bool, error) { return false, unix.EPERM })
	if !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "PR_CAPBSET_READ, 0") {
		t.Errorf("prctl failing with EPERM: error %v", err)
	}
	_, err = searchLastCap(func(Cap) (bool, error) { return false, unix.EINVAL })
	if !errors.Is(err, unix.EINVAL) {
		t.Errorf("prctl failing with EINVAL at 0: error %v", err)
	}
	// An error other than EINVAL mid-search is not "above the last
	// capability": it must not be taken for one.
	for _, bad := range []Cap{1, 20, 32, 40, 63} {
		got, err := searchLastCap(func(c Cap) (bool, error) {
			if c == bad {
				return false, unix.EFAULT
			}
			if c > 40 {
				return false, unix.EINVAL
			}
			return true, nil
		})
		switch {
		case bad == 32 && err == nil: // the first midpoint: always asked
			t.Errorf("EFAULT at 32: got %d, nil; want the error", got)
		case err != nil && !errors.Is(err, unix.EFAULT):
			t.Errorf("EFAULT at %d: error %v does not wrap EFAULT", bad, err)
		case err == nil && got != 40:
			t.Errorf("EFAULT at %d, never asked: got %d, want 40", bad, got)
		case err != nil && !strings.Contains(err.Error(), strconv.Itoa(int(bad))):
			t.Errorf("EFAULT at %d: error %q does not name it", bad, err)
		}
	}
}

func TestLastCapFile(t *testing.T) {
	dir := t.TempDir()
	noFallback := func(c Cap) (bool, error) {
		t.Errorf("prctl(%d) asked although the file is there", c)
		return false, unix.ENOSYS
	}
	for _, tt := range []struct {
		content string
		want    Cap
	}{
		{"40\n", 40},
		{"0\n", 0},
		{"63\n", 63},
		{"37", 37},
	} {
		file := filepath.Join(dir, "cap_last_cap")
		if err := os.WriteFile(file, []byte(tt.content), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := lastCap(file, noFallback)
		if err != nil || got != tt.want {
			t.Errorf("lastCap(%q) = %d, %v; want %d", tt.content, got, err, tt.want)
		}
	}
}

func TestLastCapFileMalformed(t *testing.T) {
	dir := t.TempDir()
	noFallback := func(c Cap) (bool, error) {
		t.Errorf("prctl(%d) asked although the file is there", c)
		return false, unix.ENOSYS
	}
	for _, content := range []string{
		"", "\n", "abc\n", "64\n", "-1\n", "+40\n", "040\n", "00\n", "0x28\n", "40 41\n",
		" 40\n", "40\n\n", "4\x000\n", "99999999999999999999\n", "٤٠\n",
	} {
		file := filepath.Join(dir, "cap_last_cap")
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := lastCap(file, noFallback)
		if err == nil {
			t.Errorf("lastCap(%q) = %d, nil; want an error", content, got)
			continue
		}
		if !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), strconv.Quote(content)) {
			t.Errorf("lastCap(%q) error %q names neither the file nor the content", content, err)
		}
	}
}

func TestLastCapFallback(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-proc", "cap_last_cap")
	k := &fakeKernel{t: t, last: 37}
	got, err := lastCap(missing, k.read)
	if err != nil || got != 37 {
		t.Errorf("lastCap(missing file) = %d, %v; want the fallback's 37", got, err)
	}
	if k.calls == 0 {
		t.Error("the fallback was not asked")
	}

	_, err = lastCap(missing, func(Cap) (bool, error) { return false, unix.EPERM })
	if !errors.Is(err, unix.EPERM) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file and failing prctl: error %v should wrap both EPERM and ErrNotExist", err)
	}
}

func TestBounding(t *testing.T) {
	text, ok := procStatusCaps(t)["CapBnd"]
	if !ok {
		t.Fatal("/proc/self/status has no CapBnd line")
	}
	want, err := ParseBitmap(text)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Bounding()
	if err != nil || got != want {
		t.Fatalf("Bounding() = %s, %v; /proc/self/status CapBnd %s", got.Bitmap(), err, text)
	}
	last, err := KernelLast()
	if err != nil {
		t.Fatal(err)
	}
	if extra := got.Minus(UpTo(last)); extra != 0 {
		t.Errorf("Bounding() has %v, above the kernel's last capability %d", extra.Caps(), last)
	}
}

func TestBoundingSetFake(t *testing.T) {
	for _, last := range []Cap{0, 1, 37, 40, 62, 63} {
		odd := func(c Cap) bool { return c%2 == 1 }
		k := &fakeKernel{t: t, last: last, in: odd}
		got, err := boundingSet(last, k.read)
		if err != nil {
			t.Fatalf("last %d: %v", last, err)
		}
		var want Set
		for c := Cap(0); c <= last; c++ {
			if odd(c) {
				want.Add(c)
			}
		}
		if got != want {
			t.Errorf("last %d: boundingSet = %s, want %s", last, got.Bitmap(), want.Bitmap())
		}
		if k.calls != int(last)+1 {
			t.Errorf("last %d: %d prctl calls, want %d (0..last, nothing above)", last, k.calls, last+1)
		}
	}
	_, err := boundingSet(40, func(c Cap) (bool, error) {
		if c == 24 {
			return false, unix.EPERM
		}
		return true, nil
	})
	if !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "24") {
		t.Errorf("prctl failing at 24: error %v", err)
	}
}
