package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
	"go.podman.io/common/pkg/capabilities"
	"go.podman.io/common/pkg/config"
)

// Lookup returns the runtime lookup of cfg, the containers.conf an engine
// loaded: the paths its engine.runtimes table lists for a name, which an
// [ociruntime.Prober] tries before $PATH, as Podman does. A nil cfg is
// config.Default(), read at the first lookup; if it cannot be read, names
// are looked up in $PATH alone.
func Lookup(cfg *config.Config) func(name string) []string {
	load := sync.OnceValue(func() *config.Config {
		if cfg != nil {
			return cfg
		}
		c, err := config.Default()
		if err != nil {
			return nil
		}
		return c
	})
	return func(name string) []string {
		c := load()
		if c == nil {
			return nil
		}
		return c.Engine.OCIRuntimes[name]
	}
}

// Prober returns the process-wide prober whose runtime names resolve
// through containers.conf (config.Default()), with the default cache
// directory.
func Prober() *ociruntime.Prober { return defaultProber() }

var defaultProber = sync.OnceValue(func() *ociruntime.Prober {
	return &ociruntime.Prober{Lookup: Lookup(nil)}
})

// Probe is [ociruntime.Probe] with runtime names resolved through cfg's
// engine.runtimes (nil: config.Default()), using [Prober].
func Probe(ctx context.Context, cfg *config.Config, runtime string) (*plugin.Features, error) {
	return Prober().ProbeIn(ctx, Lookup(cfg), runtime)
}

// DefaultRuntime returns containers.conf's engine.runtime: the OCI runtime
// Podman and Buildah run containers with when no --runtime names one.
func DefaultRuntime() (string, error) {
	cfg, err := config.Default()
	if err != nil {
		return "", fmt.Errorf("finding the default OCI runtime: %w", err)
	}
	return cfg.Engine.OCIRuntime, nil
}

// commonError adds go.podman.io/common's capabilities.ErrUnknownCapability
// to an error about an entry that is not a capability, so that the engines'
// own errors.Is checks keep working on what the entry points return.
func commonError(err error) error {
	if err == nil || !errors.Is(err, capnames.ErrUnknown) {
		return err
	}
	return &unknownCapability{err}
}

// unknownCapability is an error that matches both capnames.ErrUnknown and
// common's capabilities.ErrUnknownCapability, with err's text.
type unknownCapability struct{ err error }

func (e *unknownCapability) Error() string { return e.err.Error() }

func (e *unknownCapability) Unwrap() []error {
	return []error{capabilities.ErrUnknownCapability, e.err}
}
