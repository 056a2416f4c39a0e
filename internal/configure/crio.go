package configure

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultCrioDropInDir is where CRI-O reads its drop-ins.
const DefaultCrioDropInDir = "/etc/crio/crio.conf.d"

// planCrio is the shim for CRI-O: a crio.conf.d drop-in of its own naming
// capgen-NAME in [crio.runtime.runtimes], the shim as its runtime_path and
// a runtime_root of its own, /run/capgen-NAME (CRI-O would give it
// crun's), and with SetDefault as [crio.runtime] default_runtime, the
// runtime of every pod that names no RuntimeClass. CRI-O reads its
// drop-ins at start: it must be restarted.
func planCrio(opts Options) ([]Change, error) {
	path := opts.Config
	if path == "" {
		path = filepath.Join(DefaultCrioDropInDir, "50-capgen-"+opts.Runtime+".conf")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# The runtime shim %s, written by capgen configure; --remove removes this file.\n", opts.shimName())
	if opts.SetDefault {
		fmt.Fprintf(&b, "[crio.runtime]\ndefault_runtime = %s\n\n", strconv.Quote(opts.shimName()))
	}
	fmt.Fprintf(&b, "[crio.runtime.runtimes.%s]\nruntime_path = %s\nruntime_type = \"oci\"\nruntime_root = %s\n",
		strconv.Quote(opts.shimName()), strconv.Quote(opts.shimPath()), strconv.Quote("/run/"+opts.shimName()))
	return ownFile(path, []byte(b.String()), 0o644, opts.Remove)
}
