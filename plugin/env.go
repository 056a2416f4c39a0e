package plugin

import (
	"errors"
	"fmt"

	"github.com/capgen-dev/capgen/capnames"
)

// Env is the machine process.capabilities are emitted for: the capability
// table that names capabilities, the running kernel's last capability, and
// the bounding set of the process that starts the runtime. [HostEnv]
// returns this machine's; tests build others to stand in for kernels newer
// than the table or for restricted hosts.
type Env struct {
	// Table names the capabilities; nil means capnames.Default().
	Table *capnames.Table
	// KernelLast is the kernel's highest capability.
	KernelLast capnames.Cap
	// Bounding is the bounding set; the runtime cannot grant anything
	// outside it.
	Bounding capnames.Set
}

// ErrInvalidEnv is wrapped by the errors about an [Env] that no kernel can
// have.
var ErrInvalidEnv = errors.New("invalid capability environment")

// HostEnv returns the environment of this process: the package's table,
// the running kernel's last capability and this process's bounding set.
func HostEnv() (Env, error) {
	last, err := capnames.KernelLast()
	if err != nil {
		return Env{}, err
	}
	bounding, err := capnames.Bounding()
	if err != nil {
		return Env{}, err
	}
	return Env{Table: capnames.Default(), KernelLast: last, Bounding: bounding}, nil
}

// UserNSEnv returns the environment of a container that a rootless engine
// runs in a user namespace of its own: the package's table, the running
// kernel's last capability, and the full bounding set every new user
// namespace starts with (the kernel gives it CAP_FULL_SET, whatever the
// bounding set of the user who creates it). It is the environment to
// emit for when this process is not the one that starts the runtime: an
// unprivileged user asking what a rootless engine would grant.
func UserNSEnv() (Env, error) {
	last, err := capnames.KernelLast()
	if err != nil {
		return Env{}, err
	}
	return Env{Table: capnames.Default(), KernelLast: last, Bounding: capnames.UpTo(last)}, nil
}

func (e Env) check() error {
	if !e.KernelLast.Valid() {
		return fmt.Errorf("%w: kernel last capability %d outside 0..%d", ErrInvalidEnv, e.KernelLast, capnames.MaxCap)
	}
	if extra := e.Bounding.Minus(e.kernel()); extra != 0 {
		return fmt.Errorf("%w: bounding set %s holds capabilities above the kernel's last, %d",
			ErrInvalidEnv, e.Bounding.Bitmap(), e.KernelLast)
	}
	return nil
}

func (e Env) table() *capnames.Table {
	if e.Table == nil {
		return capnames.Default()
	}
	return e.Table
}

// kernel returns every capability of the kernel, 0..KernelLast.
func (e Env) kernel() capnames.Set { return capnames.UpTo(e.KernelLast) }
