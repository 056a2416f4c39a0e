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
