package plugin_test

import (
	"errors"
	"fmt"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
)

func ExampleMergeCapabilities() {
	// containers.conf default_capabilities (shortened), --cap-add and
	// --cap-drop as a user typed them. "21" is CAP_SYS_ADMIN.
	base := []string{"CAP_CHOWN", "CAP_KILL", "CAP_SETUID"}
	caps, err := plugin.MergeCapabilities(base, []string{"net_admin", "21"}, []string{"kill"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(caps)

	// A long s (U+017F) is not an s: the entry is rejected, not read as
	// CAP_SYS_ADMIN.
	_, err = plugin.MergeCapabilities(base, []string{"ſys_admin"}, nil)
	fmt.Println(err)
	fmt.Println(errors.Is(err, capnames.ErrUnknown))
	// Output:
	// [CAP_CHOWN CAP_NET_ADMIN CAP_SETUID CAP_SYS_ADMIN]
	// cap-add: capability "ſys_admin": unknown capability: not ASCII
	// true
}
