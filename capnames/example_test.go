package capnames_test

import (
	"fmt"

	"github.com/capgen-dev/capgen/capnames"
)

func ExampleParse() {
	for _, in := range []string{"CAP_SYS_ADMIN", "sys_admin", "Cap_Net_Raw", "39", "41", "064", "ſys_admin"} {
		c, err := capnames.Parse(in)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s → %d %v\n", in, int(c), c)
	}
	// Output:
	// CAP_SYS_ADMIN → 21 CAP_SYS_ADMIN
	// sys_admin → 21 CAP_SYS_ADMIN
	// Cap_Net_Raw → 13 CAP_NET_RAW
	// 39 → 39 CAP_BPF
	// 41 → 41 41
	// capability "064": unknown capability: leading zero
	// capability "ſys_admin": unknown capability: not ASCII
}

func ExampleCap_String() {
	fmt.Println(capnames.CAP_CHOWN, capnames.CAP_BPF.Since())
	fmt.Println(capnames.Cap(41), capnames.Cap(41).Known(), capnames.Cap(41).Valid())
	// Output:
	// CAP_CHOWN 5.8
	// 41 false true
}

func ExampleSet() {
	s := capnames.SetOf(capnames.CAP_NET_BIND_SERVICE, capnames.CAP_CHOWN)
	s.Add(41)
	fmt.Println(s.Strings(), s.Len(), s.Has(capnames.CAP_SYS_ADMIN))
	fmt.Println(s.Bitmap())

	bnd, err := capnames.ParseBitmap("000001fffeffffff")
	if err != nil {
		panic(err)
	}
	fmt.Println(bnd.Len(), bnd.Has(capnames.CAP_SYS_RESOURCE))
	// Output:
	// [CAP_CHOWN CAP_NET_BIND_SERVICE 41] 3 false
	// 0000020000000401
	// 40 false
}

func ExampleMaterialize() {
	// A runtime on a kernel whose last capability is CAP_AUDIT_READ (37).
	set, unmapped, err := capnames.Materialize([]string{"ALL_CAPS", "CAP_BPF", "41", "CAP_NOPE"}, capnames.CAP_AUDIT_READ)
	if err != nil {
		panic(err)
	}
	fmt.Println(set.Len(), set.Has(capnames.CAP_AUDIT_READ), set.Has(capnames.CAP_PERFMON))
	fmt.Printf("ignored: %q\n", unmapped)
	// Output:
	// 38 true false
	// ignored: ["CAP_BPF" "41" "CAP_NOPE"]
}

func ExampleTable_UpTo() {
	old := capnames.Default().UpTo(capnames.CAP_AUDIT_READ)
	fmt.Println(old.Last(), len(old.Caps()))
	_, err := old.Parse("CAP_BPF")
	fmt.Println(err)
	fmt.Println(old.Name(capnames.CAP_BPF))
	// Output:
	// CAP_AUDIT_READ 38
	// capability "CAP_BPF": unknown capability: no such name
	// 39
}

func ExampleNewTable() {
	// A vendor kernel with an extra capability after a gap.
	t, err := capnames.NewTable("5.10-vendor", []capnames.Entry{
		{Name: "CAP_CHOWN", Value: 0, Since: "2.2"},
		{Name: "CAP_BLOCK_ADMIN", Value: 61},
	})
	if err != nil {
		panic(err)
	}
	c, err := t.Parse("block_admin")
	fmt.Println(int(c), err, t.Name(61), t.Name(40), int(t.Last()))

	_, err = capnames.NewTable("", []capnames.Entry{{Name: "CAP_AUDIT_WRITE", Value: 29}, {Name: "CAP_SETVEID", Value: 29}})
	fmt.Println(err)
	// Output:
	// 61 <nil> CAP_BLOCK_ADMIN 40 61
	// invalid capability table: CAP_AUDIT_WRITE and CAP_SETVEID: both are 29
}
