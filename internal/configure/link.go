package configure

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// planLink is the shim's name: capgen-NAME beside the binary, a relative
// link to capshim when that is installed there (the shim's fast entry
// point), else to the binary. Removal takes the link away only while no
// other engine's configuration in its default place names it.
func planLink(opts Options) ([]Change, error) {
	path := opts.shimPath()
	target := filepath.Base(opts.Binary)
	if _, err := os.Stat(filepath.Join(filepath.Dir(opts.Binary), "capshim")); err == nil {
		target = "capshim"
	}
	current, err := os.Readlink(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if opts.Remove {
			return nil, nil
		}
		return []Change{{Path: path, LinkTo: target, New: []byte(target)}}, nil
	case err != nil:
		return nil, fmt.Errorf("%w: %s exists and is not configure's link: %w", ErrConfig, path, err)
	case !opts.ownTarget(current):
		return nil, fmt.Errorf("%w: %s links to %s, not to capgen or capshim", ErrConfig, path, current)
	case opts.Remove:
		if other := linkUsedBy(opts); other != "" {
			return nil, nil
		}
		return []Change{{Path: path, LinkTo: current, Old: []byte(current)}}, nil
	case current == target:
		return nil, nil
	}
	return []Change{{Path: path, LinkTo: target, Old: []byte(current), New: []byte(target)}}, nil
}

// linkUsedBy returns the default place of another engine's configuration
// that still names the shim opts' removal would take away, or "".
func linkUsedBy(opts Options) string {
	for _, other := range []Engine{Podman, Buildah, Docker, Containerd} {
		if other == opts.Engine || other == Buildah && opts.Engine == Podman || other == Podman && opts.Engine == Buildah {
			continue // Podman and Buildah share their drop-in
		}
		for _, setDefault := range []bool{false, true} {
			o := opts
			o.Engine, o.Mode, o.Config, o.Remove, o.SetDefault = other, Shim, "", false, setDefault
			if configured(o) {
				return string(other)
			}
		}
	}
	return ""
}

// configured reports whether opts are set up already: planning them
// changes nothing but, at most, the link.
func configured(opts Options) bool {
	changes, err := Plan(opts)
	if err != nil {
		return false
	}
	for _, c := range changes {
		if c.LinkTo == "" {
			return false
		}
	}
	return true
}

// ownTarget reports whether a link target, relative to the link's
// directory or absolute, is the binary or the capshim beside it.
func (opts Options) ownTarget(target string) bool {
	dir := filepath.Dir(opts.Binary)
	if !filepath.IsAbs(target) {
		target = filepath.Join(dir, target)
	}
	return target == opts.Binary || target == filepath.Join(dir, "capshim")
}
