package engine

import (
	"fmt"

	"github.com/capgen-dev/capgen/plugin"
	"github.com/opencontainers/runtime-tools/generate"
)

// Buildah does what Buildah's setupCapabilities(g, defaultCapabilities,
// adds, drops) in run_linux.go does, for the OCI runtime that runs the
// container (Buildah's options.Runtime, else util.Runtime()), and returns
// the report; the caller logs its Warnings.
//
// As Buildah: bounding, effective and permitted are defaults ∪ adds −
// drops, inheritable and ambient empty; "all" in drops clears every list,
// even what adds asked for; "all" in adds is every capability. Buildah then
// keeps only bounding for a non-root user, as before.
//
// Where it differs from Buildah, on purpose: "all" is every capability of
// the kernel within the bounding set, not every name
// capabilities.AllCapabilities() lists (on a host whose bounding set lacks
// one, Buildah's container fails "unable to apply caps: operation not
// permitted"); numerals are accepted; and nothing is written that the
// runtime cannot apply, the report saying what was left out and why.
func Buildah(g *generate.Generator, defaults, adds, drops []string, runtime string) (*plugin.Report, error) {
	return Recipe{}.Buildah(g, defaults, adds, drops, runtime)
}

// Buildah is [Buildah] with r's prober.
func (r Recipe) Buildah(g *generate.Generator, defaults, adds, drops []string, runtime string) (*plugin.Report, error) {
	if g == nil {
		return nil, fmt.Errorf("%w: nil generator", plugin.ErrInvalidRequest)
	}
	req, err := plugin.BuildahRequest(defaults, adds, drops)
	if err != nil {
		return nil, commonError(err)
	}
	if req.Runtime, err = r.probeIn(nil, runtime); err != nil {
		return nil, err
	}
	report, err := plugin.Apply(g.Config, req)
	return report, commonError(err)
}
