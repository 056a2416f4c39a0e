package gen_test

import (
	"errors"
	"fmt"

	"github.com/capgen-dev/capgen/gen"
)

func ExampleParseHeader() {
	src := []byte(`/* Allow binding to ports below 1024 */
#define CAP_NET_BIND_SERVICE 10
#define CAP_NET_ADMIN        12
#define CAP_LAST_CAP         CAP_NET_ADMIN
#define CAP_TO_MASK(x)       (1U << ((x) & 31))
`)
	h, err := gen.ParseHeader("capability.h", src)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range h.Capabilities {
		fmt.Println(c.Value, c.Name, "line", c.Line)
	}
	fmt.Println("last:", h.Last, h.Aliases["CAP_LAST_CAP"])
	fmt.Println(h.Warnings)
	// Output:
	// 10 CAP_NET_BIND_SERVICE line 2
	// 12 CAP_NET_ADMIN line 3
	// last: 12 CAP_NET_ADMIN
	// [capabilities 0..9 are not defined capability 11 is not defined]
}

func ExampleParseHeader_error() {
	src := []byte(`#define CAP_AUDIT_WRITE      29
#define CAP_SETVEID          29
`)
	_, err := gen.ParseHeader("openvz/capability.h", src)
	fmt.Println(errors.Is(err, gen.ErrInvalidHeader))
	fmt.Println(err)
	// Output:
	// true
	// openvz/capability.h:2: invalid capability header: CAP_SETVEID and CAP_AUDIT_WRITE (openvz/capability.h:1) both have value 29
}

func ExampleVersionFromVersionH() {
	v, err := gen.VersionFromVersionH([]byte("#define LINUX_VERSION_CODE 393659\n"))
	fmt.Println(v, err)
	// Output: 6.1.187 <nil>
}

func ExampleVersionFromMakefile() {
	v, err := gen.VersionFromMakefile([]byte("VERSION = 6\nPATCHLEVEL = 6\nSUBLEVEL = 0\nEXTRAVERSION = -rc5\n"))
	fmt.Println(v, err)
	// Output: 6.6.0 <nil>
}

// ExampleMerge merges two versioned headers and a man page: each
// capability's since-version is the man page's when it gives one, else the
// release of the oldest header that defines it.
func ExampleMerge() {
	old, _ := gen.ParseHeader("5.8/capability.h", []byte(`#define CAP_CHOWN 0
#define CAP_PERFMON 1
#define CAP_LAST_CAP CAP_PERFMON
`))
	old.Version = "5.8.0"
	cur, _ := gen.ParseHeader("6.1/capability.h", []byte(`#define CAP_CHOWN 0
#define CAP_PERFMON 1
#define CAP_CHECKPOINT_RESTORE 2
#define CAP_LAST_CAP CAP_CHECKPOINT_RESTORE
`))
	cur.Version = "6.1.187"
	t, warnings, err := gen.Merge(gen.Sources{
		Headers:     []*gen.Header{old, cur},
		ManPage:     map[string]string{"CAP_CHOWN": "2.2"},
		ManPageName: "capabilities(7)",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(t.MarshalIndent()))
	fmt.Println(warnings)
	// Output:
	// {
	//   "kernel": "6.1.187",
	//   "capabilities": [
	//     {"name": "CAP_CHOWN", "value": 0, "since": "2.2"},
	//     {"name": "CAP_PERFMON", "value": 1, "since": "5.8"},
	//     {"name": "CAP_CHECKPOINT_RESTORE", "value": 2, "since": "6.1"}
	//   ]
	// }
	// []
}

// ExampleMerge_conflict shows that two sources disagreeing is an error
// naming both.
func ExampleMerge_conflict() {
	h, _ := gen.ParseHeader("vendor/capability.h", []byte("#define CAP_CHOWN 0\n#define CAP_KILL 6\n"))
	committed := &gen.Table{Kernel: "6.1", Capabilities: []gen.Entry{
		{Name: "CAP_CHOWN", Value: 0, Since: "2.2"},
		{Name: "CAP_KILL", Value: 5, Since: "2.2"},
	}}
	_, _, err := gen.Merge(gen.Sources{Committed: committed, Headers: []*gen.Header{h}})
	fmt.Println(errors.Is(err, gen.ErrConflict))
	fmt.Println(err)
	// Output:
	// true
	// capability sources disagree: CAP_KILL is 5 in the committed table but 6 in vendor/capability.h
}
