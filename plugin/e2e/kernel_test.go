package e2e

import (
	"fmt"

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
//   - a name: both take the canonical "CAP_X" (runc matches names exactly;
//     anything else is counted as dropped, since the plugin must write
//     canonical names). Both runtimes installed here name every capability
//     of the package's table.
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
			taken = capnames.Default().Name(c) == e
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
