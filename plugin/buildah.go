package plugin

import (
	"fmt"
	"slices"

	"github.com/capgen-dev/capgen/capnames"
)

// BuildahRequest states Buildah's capability merge (setupCapabilities in
// its run_linux.go) as a [Request] for [Apply]:
//
//   - "all" in drops clears every list, even what adds asked for;
//   - otherwise "all" in adds is every capability, less the drops;
//   - otherwise the lists are defaults ∪ adds − drops: Buildah adds, then
//     drops, so a capability both added and dropped is dropped, without
//     the conflict error of [MergeCapabilities].
//
// Entries of adds that are not capabilities are an error wrapping
// [ErrInvalidRequest] and capnames.ErrUnknown that names them, not
// containers.conf; those of defaults and drops are checked by Apply.
// The request has no User: Buildah sets a non-root user's lists itself.
func BuildahRequest(defaults, adds, drops []string) (Request, error) {
	switch {
	case slices.ContainsFunc(drops, IsAll):
		return Request{}, nil
	case slices.ContainsFunc(adds, IsAll):
		return Request{Adds: []string{"all"}, Drops: drops}, nil
	}
	for _, a := range adds {
		if _, err := capnames.Parse(a); err != nil {
			return Request{}, fmt.Errorf("%w: cap-add: %w", ErrInvalidRequest, err)
		}
	}
	return Request{Defaults: slices.Concat(defaults, adds), Drops: drops}, nil
}
