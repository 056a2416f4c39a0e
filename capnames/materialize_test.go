package capnames

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestMaterialize(t *testing.T) {
	tests := []struct {
		name     string
		entries  []string
		last     Cap
		want     Set
		unmapped []string
	}{
		{"nothing", nil, 40, 0, nil},
		{"ALL_CAPS", []string{"ALL_CAPS"}, 40, UpTo(40), nil},
		{"ALL_CAPS last 37", []string{AllCaps}, 37, UpTo(37), nil},
		{"ALL_CAPS last 0", []string{AllCaps}, 0, SetOf(0), nil},
		{"ALL_CAPS last 63", []string{AllCaps}, 63, ^Set(0), nil},
		{"ALL_CAPS twice", []string{AllCaps, AllCaps}, 40, UpTo(40), nil},
		{"names and numerals", []string{"CAP_CHOWN", "sys_admin", "Cap_Net_Raw", "39", "41"}, 41,
			SetOf(CAP_CHOWN, CAP_SYS_ADMIN, CAP_NET_RAW, CAP_BPF, 41), nil},
		{"above last and unknown, in input order",
			[]string{"CAP_BPF", "CAP_CHOWN", "40", "CAP_NOPE", "ſys_admin", "41", "CAP_CHECKPOINT_RESTORE", "064", "kill"}, 38,
			SetOf(CAP_CHOWN, CAP_KILL),
			[]string{"CAP_BPF", "40", "CAP_NOPE", "ſys_admin", "41", "CAP_CHECKPOINT_RESTORE", "064"}},
		{"ALL_CAPS with unknowns", []string{"CAP_NOPE", AllCaps, "64"}, 40, UpTo(40), []string{"CAP_NOPE", "64"}},
		{"ALL_CAPS is case-sensitive", []string{"all_caps", "All_Caps", "ALL", "CAP_ALL_CAPS", " ALL_CAPS"}, 40, 0,
			[]string{"all_caps", "All_Caps", "ALL", "CAP_ALL_CAPS", " ALL_CAPS"}},
		{"duplicates kept in unmapped", []string{"x", "x", "CAP_CHOWN", "CAP_CHOWN"}, 40, SetOf(0), []string{"x", "x"}},
		{"empty entry", []string{""}, 40, 0, []string{""}},
		{"63 on a 63 kernel", []string{"63"}, 63, SetOf(63), nil},
		{"63 on a 40 kernel", []string{"63"}, 40, 0, []string{"63"}},
	}
	for _, tt := range tests {
		set, unmapped, err := Materialize(tt.entries, tt.last)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if set != tt.want {
			t.Errorf("%s: set %v, want %v", tt.name, set.Strings(), tt.want.Strings())
		}
		if !slices.Equal(unmapped, tt.unmapped) {
			t.Errorf("%s: unmapped %q, want %q", tt.name, unmapped, tt.unmapped)
		}
	}
}

// TestMaterializeNeverAboveLast checks every numeral and name against every
// last: a capability is in the set exactly when it is at most last, and
// unmapped otherwise. ALL_CAPS never reaches past last.
func TestMaterializeNeverAboveLast(t *testing.T) {
	for last := Cap(0); last <= MaxCap; last++ {
		all, unmapped, err := Materialize([]string{AllCaps}, last)
		if err != nil || len(unmapped) != 0 || all != UpTo(last) || all.Len() != int(last)+1 {
			t.Errorf("Materialize(ALL_CAPS, %d) = %v, %q, %v", last, all.Caps(), unmapped, err)
		}
		if last < MaxCap && all.Has(last+1) {
			t.Errorf("Materialize(ALL_CAPS, %d) has %d", last, last+1)
		}
		for c := Cap(0); c <= MaxCap; c++ {
			for _, in := range []string{strconv.Itoa(int(c)), c.String()} {
				set, unmapped, err := Materialize([]string{in}, last)
				if err != nil {
					t.Fatal(err)
				}
				want, wantUnmapped := SetOf(c), []string(nil)
				if c > last {
					want, wantUnmapped = 0, []string{in}
				}
				if set != want || !slices.Equal(unmapped, wantUnmapped) {
					t.Errorf("Materialize([%q], %d) = %v, %q; want %v, %q", in, last, set.Caps(), unmapped, want.Caps(), wantUnmapped)
				}
			}
		}
	}
}

func TestMaterializeBadLast(t *testing.T) {
	for _, last := range []Cap{-1, 64, 1000, -1 << 40} {
		set, unmapped, err := Materialize([]string{AllCaps, "CAP_CHOWN"}, last)
		if err == nil || set != 0 || unmapped != nil {
			t.Errorf("Materialize(last %d) = %s, %q, %v; want an error and nothing else", last, set.Bitmap(), unmapped, err)
			continue
		}
		if want := " " + strconv.Itoa(int(last)) + " "; !strings.Contains(err.Error(), want) {
			t.Errorf("Materialize(last %d) error %q does not name %s", last, err, want)
		}
	}
}
