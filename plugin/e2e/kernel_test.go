package e2e

import (
	"fmt"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// This file models, independently of the plugin, how an OCI runtime reads
// process.capabilities entries and what the kernel makes of the sets it
// applies once the container's process calls execve. The tests compare the
// model's answer for the plugin's report with the sets the container shows.

// reads returns the capabilities r applies for the entries of one list on a
// kernel whose last capability is last, and the entries it drops:
//
//   - "ALL_CAPS": runc 1.1 warns and drops it, crun 1.8 ignores it;
//   - a decimal numeral: crun maps it through libcap's cap_from_name, runc
//     warns and drops it;
//   - a name: both take the canonical "CAP_X" of a capability they name
//     (r.names; runc matches names exactly, and anything else is counted as
//     dropped, since the plugin must write canonical names). runc before
//     v1.0.0-rc93 fails the container on a name it does not know; later
//     runc warns and drops it.
//
// Entries above the kernel's last capability are dropped by either.
func (r ociRuntime) reads(entries []string, last capnames.Cap) (capnames.Set, []string) {
	var set capnames.Set
	var dropped []string
	for _, e := range entries {
		c, err := capnames.Parse(e)
		taken := err == nil && c <= last && e != capnames.AllCaps
		if taken && isNumeral(e) {
			taken = r.numerals
		} else if taken {
			taken = capnames.Default().Name(c) == e && r.names.Has(c)
		}
		if !taken {
			dropped = append(dropped, e)
			continue
		}
		set.Add(c)
	}
	return set, dropped
}

func isNumeral(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// specSets returns what r applies for each list of caps, and a description
// of every entry it would drop ("" when none).
func (r ociRuntime) specSets(caps *specs.LinuxCapabilities, last capnames.Cap) (plugin.Sets, string) {
	var sets plugin.Sets
	var problems string
	if caps == nil {
		return sets, ""
	}
	for _, l := range []struct {
		name    string
		entries []string
		set     *capnames.Set
	}{
		{"bounding", caps.Bounding, &sets.Bounding},
		{"effective", caps.Effective, &sets.Effective},
		{"inheritable", caps.Inheritable, &sets.Inheritable},
		{"permitted", caps.Permitted, &sets.Permitted},
		{"ambient", caps.Ambient, &sets.Ambient},
	} {
		var dropped []string
		*l.set, dropped = r.reads(l.entries, last)
		if len(dropped) > 0 {
			problems += fmt.Sprintf("\n\t%s drops %s entries %q", r.name, l.name, dropped)
		}
	}
	return sets, problems
}

// afterExec returns the capability sets the container's process has after
// the runtime applied spec and executed the container's program, a regular
// file without file capabilities and without set-user-ID or set-group-ID
// bits. parent is the runtime's own sets (this process's), uid the
// container process's user, noNewPrivs its no_new_privileges flag.
//
// Before execve the runtime drops from the bounding set what spec.Bounding
// lacks (PR_CAPBSET_DROP can only drop) and sets the other sets with capset
// and PR_CAP_AMBIENT_RAISE, which grant nothing outside the parent's
// permitted set (permitted), the parent's inheritable set and the new
// bounding set (inheritable), and permitted ∩ inheritable (ambient).
//
// execve then computes, as security/commoncap.c does (see capabilities(7)):
//
//	P'(permitted) = (P(inheritable) & F(inheritable)) | (F(permitted) & P(bounding)) | P'(ambient)
//	P'(effective) = F(effective) ? P'(permitted) : P'(ambient)
//
// where for uid 0 the file counts as having every capability in F(permitted)
// and F(inheritable) and F(effective) set, and for another user F is empty.
// With no_new_privileges a permitted set that would gain capabilities is
// cut back to what the process had. The ambient set survives execve of an
// unprivileged file; inheritable and bounding are unchanged.
//
// The kernel does not narrow a spec outside those limits: capset fails and
// the container does not start (an inheritable capability outside the
// bounding list makes runc fail with "unable to apply caps"), so
// [checkKernelLimits] checks them before a container runs.
func afterExec(spec, parent plugin.Sets, uid uint32, noNewPrivs bool) plugin.Sets {
	bounding := spec.Bounding.Intersect(parent.Bounding)
	permitted := spec.Permitted.Intersect(parent.Permitted)
	inheritable := spec.Inheritable.Intersect(parent.Inheritable.Union(bounding))
	ambient := spec.Ambient.Intersect(permitted).Intersect(inheritable)

	var fromFile capnames.Set
	fileEffective := false
	if uid == 0 {
		fromFile = inheritable.Union(bounding)
		fileEffective = true
	}
	if noNewPrivs && fromFile.Minus(permitted) != 0 {
		fromFile = fromFile.Intersect(permitted)
	}
	out := plugin.Sets{Bounding: bounding, Inheritable: inheritable, Ambient: ambient}
	out.Permitted = fromFile.Union(ambient)
	out.Effective = ambient
	if fileEffective {
		out.Effective = out.Permitted
	}
	return out
}

// The model above is what the other tests' expectations rest on: check it
// against the kernel with hand-written specs whose sets differ from list to
// list, as plugin.Apply never writes them, with and without
// no_new_privileges, for root and for another user.
func TestE2EExecveModel(t *testing.T) {
	h, rts := setup(t)
	var (
		chown   = capnames.SetOf(capnames.CAP_CHOWN)
		kill    = capnames.SetOf(capnames.CAP_KILL)
		netBind = capnames.SetOf(capnames.CAP_NET_BIND_SERVICE)
		three   = chown.Union(kill).Union(netBind)
	)
	tests := []struct {
		name       string
		uid        uint32
		noNewPrivs bool
		sets       plugin.Sets
	}{
		{"root, no_new_privileges, empty permitted", 0, true, plugin.Sets{Bounding: three}},
		{"root, empty permitted", 0, false, plugin.Sets{Bounding: three}},
		{"root, no_new_privileges, inheritable outside permitted", 0, true,
			plugin.Sets{Bounding: three, Effective: chown, Permitted: chown, Inheritable: kill}},
		{"root, inheritable outside permitted", 0, false,
			plugin.Sets{Bounding: three, Effective: chown, Permitted: chown, Inheritable: kill}},
		{"user, permitted without ambient", 1000, true,
			plugin.Sets{Bounding: three, Effective: three, Permitted: three}},
		{"user, ambient", 1000, false,
			plugin.Sets{Bounding: three, Effective: netBind, Permitted: chown.Union(netBind), Inheritable: netBind, Ambient: netBind}},
	}
	for _, r := range rts {
		for _, tt := range tests {
			t.Run(r.name+"/"+tt.name, func(t *testing.T) {
				spec := baseSpec(specs.User{UID: tt.uid, GID: tt.uid})
				spec.Process.NoNewPrivileges = tt.noNewPrivs
				spec.Process.Capabilities = &specs.LinuxCapabilities{
					Bounding:    tt.sets.Bounding.Strings(),
					Effective:   tt.sets.Effective.Strings(),
					Inheritable: tt.sets.Inheritable.Strings(),
					Permitted:   tt.sets.Permitted.Strings(),
					Ambient:     tt.sets.Ambient.Strings(),
				}
				checkKernelLimits(t, tt.sets, h.parent)
				got := runConfig(t, r, marshalSpec(t, spec))
				want := afterExec(tt.sets, h.parent, tt.uid, tt.noNewPrivs)
				if d := diffSets(got, want); d != "" {
					t.Errorf("the kernel did not do what afterExec models:%s", d)
				}
			})
		}
	}
}

// checkKernelLimits fails t when sets break a rule capset or
// PR_CAP_AMBIENT_RAISE enforces, so that the runtime would fail: every set
// within parent's bounding set, inheritable within bounding, ambient within
// permitted ∩ inheritable.
func checkKernelLimits(t *testing.T, sets, parent plugin.Sets) {
	t.Helper()
	for _, l := range []struct {
		name string
		set  capnames.Set
	}{
		{"bounding", sets.Bounding}, {"effective", sets.Effective}, {"inheritable", sets.Inheritable},
		{"permitted", sets.Permitted}, {"ambient", sets.Ambient},
	} {
		if extra := l.set.Minus(parent.Bounding); extra != 0 {
			t.Errorf("%s grants %v, outside this process's bounding set", l.name, extra.Strings())
		}
	}
	if extra := sets.Inheritable.Minus(sets.Bounding); extra != 0 {
		t.Errorf("inheritable grants %v, outside the bounding list", extra.Strings())
	}
	if extra := sets.Ambient.Minus(sets.Permitted.Intersect(sets.Inheritable)); extra != 0 {
		t.Errorf("ambient grants %v, outside permitted ∩ inheritable", extra.Strings())
	}
}
