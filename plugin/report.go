package plugin

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/capgen-dev/capgen/capnames"
)

// Reason says why a requested capability was left out of the entries.
type Reason int

const (
	// NotInKernel: the running kernel does not have the capability.
	NotInKernel Reason = iota + 1
	// NotInBoundingSet: the bounding set lacks it, so no runtime started
	// from this process can grant it.
	NotInBoundingSet
	// UnknownToRuntime: the runtime does not list the capability's name
	// and cannot be given a numeral.
	UnknownToRuntime
	// Unnamed: the capability table has no name for the capability (the
	// kernel is newer than the table) and the runtime cannot be given a
	// numeral.
	Unnamed
)

var reasonNames = [...]string{
	NotInKernel:      "not-in-kernel",
	NotInBoundingSet: "not-in-bounding-set",
	UnknownToRuntime: "unknown-to-runtime",
	Unnamed:          "unnamed",
}

// String returns the reason's name: "not-in-kernel", "not-in-bounding-set",
// "unknown-to-runtime" or "unnamed".
func (r Reason) String() string {
	if r > 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// MarshalText encodes the reason as its name.
func (r Reason) MarshalText() ([]byte, error) {
	if r <= 0 || int(r) >= len(reasonNames) {
		return nil, fmt.Errorf("marshal %v: not a reason", r)
	}
	return []byte(r.String()), nil
}

// UnmarshalText decodes a reason's name.
func (r *Reason) UnmarshalText(text []byte) error {
	for i, name := range reasonNames {
		if i > 0 && name == string(text) {
			*r = Reason(i)
			return nil
		}
	}
	return fmt.Errorf("reason %q: want one of %s", text, strings.Join(reasonNames[1:], ", "))
}

// Omission is a requested capability left out of the entries.
type Omission struct {
	Cap    capnames.Cap `json:"cap"`    // the capability left out
	Name   string       `json:"name"`   // the table's name, or the number
	Reason Reason       `json:"reason"` // why, for programs
	Text   string       `json:"text"`   // "needs Linux 5.8; ...", for people
}

// Report accounts for an emission: every requested capability is either
// in Granted or in Omitted, exactly once.
type Report struct {
	// Runtime is the version of the runtime the entries are for
	// ("crun 1.8.1"), else its path, else "".
	Runtime string
	// Learned says how what the runtime takes was learned: its features,
	// a trial, or assumed (unverified entries; Warnings say why).
	Learned Source
	// Policy is the policy applied, after Auto's choice and fallbacks.
	Policy Policy
	// All says whether the request was "all".
	All bool
	// Requested is what the entries were to grant: for [Apply], the
	// bounding list, which bounds the others.
	Requested capnames.Set
	// Granted is what the entries grant: Requested minus Omitted.
	Granted capnames.Set
	// Sets are what each of the five lists grants, filled in by [Apply].
	Sets Sets
	// Omitted are the requested capabilities left out, in ascending order.
	Omitted []Omission
	// Warnings say what was done other than asked, for people.
	Warnings []string
}

// Sets are the capability sets the five process.capabilities lists of a
// spec grant.
type Sets struct {
	// Bounding, Effective, Inheritable, Permitted and Ambient are what
	// the list of the same name grants.
	Bounding, Effective, Inheritable, Permitted, Ambient capnames.Set
}

// jsonSet is a capability set as --json prints it: the kernel's bitmap
// and the names.
type jsonSet struct {
	Bitmap string   `json:"bitmap"`
	Names  []string `json:"names"`
}

type jsonSets struct {
	Bounding    jsonSet `json:"bounding"`
	Effective   jsonSet `json:"effective"`
	Inheritable jsonSet `json:"inheritable"`
	Permitted   jsonSet `json:"permitted"`
	Ambient     jsonSet `json:"ambient"`
}

type jsonReport struct {
	Runtime   string     `json:"runtime"`
	Learned   Source     `json:"learned"`
	Policy    string     `json:"policy"`
	All       bool       `json:"all"`
	Requested jsonSet    `json:"requested"`
	Granted   jsonSet    `json:"granted"`
	Sets      jsonSets   `json:"sets"`
	Omitted   []Omission `json:"omitted"`
	Warnings  []string   `json:"warnings"`
}

func toJSONSet(s capnames.Set) jsonSet { return jsonSet{Bitmap: s.Bitmap(), Names: s.Strings()} }

func (j jsonSet) set(field string) (capnames.Set, error) {
	s, err := capnames.ParseBitmap(j.Bitmap)
	if err != nil {
		return 0, fmt.Errorf("report %s: %w", field, err)
	}
	return s, nil
}

// MarshalJSON encodes the report with sets as {"bitmap": "000001fffeffffff",
// "names": [...]} and the policy and reasons by name.
func (r *Report) MarshalJSON() ([]byte, error) {
	j := jsonReport{
		Runtime:   r.Runtime,
		Learned:   r.Learned,
		Policy:    r.Policy.String(),
		All:       r.All,
		Requested: toJSONSet(r.Requested),
		Granted:   toJSONSet(r.Granted),
		Sets: jsonSets{
			Bounding:    toJSONSet(r.Sets.Bounding),
			Effective:   toJSONSet(r.Sets.Effective),
			Inheritable: toJSONSet(r.Sets.Inheritable),
			Permitted:   toJSONSet(r.Sets.Permitted),
			Ambient:     toJSONSet(r.Sets.Ambient),
		},
		Omitted:  r.Omitted,
		Warnings: r.Warnings,
	}
	if j.Omitted == nil {
		j.Omitted = []Omission{}
	}
	if j.Warnings == nil {
		j.Warnings = []string{}
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON encodes; sets are read from their
// bitmaps.
func (r *Report) UnmarshalJSON(b []byte) error {
	var j jsonReport
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	policy, err := ParsePolicy(j.Policy)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	out := Report{Runtime: j.Runtime, Learned: j.Learned, Policy: policy, All: j.All, Omitted: j.Omitted, Warnings: j.Warnings}
	fields := []struct {
		name string
		in   jsonSet
		out  *capnames.Set
	}{
		{"requested", j.Requested, &out.Requested},
		{"granted", j.Granted, &out.Granted},
		{"bounding", j.Sets.Bounding, &out.Sets.Bounding},
		{"effective", j.Sets.Effective, &out.Sets.Effective},
		{"inheritable", j.Sets.Inheritable, &out.Sets.Inheritable},
		{"permitted", j.Sets.Permitted, &out.Sets.Permitted},
		{"ambient", j.Sets.Ambient, &out.Sets.Ambient},
	}
	for _, f := range fields {
		if *f.out, err = f.in.set(f.name); err != nil {
			return err
		}
	}
	*r = out
	return nil
}
