package plugin

import (
	"fmt"
	"slices"

	"go.podman.io/common/pkg/config"
	"go.podman.io/storage/pkg/configfile"
	"go.podman.io/storage/pkg/unshare"
)

// DefaultCapabilities returns containers.conf's default_capabilities as the
// files write them, found and merged by the same configfile lookup
// go.podman.io/common/pkg/config uses (CONTAINERS_CONF, the system, drop-in
// and user files), starting from common's built-in defaults.
//
// Pass it as [Request.Defaults] instead of common's
// Config.Containers.DefaultCapabilities: common prefixes entries with "CAP_"
// after strings.ToUpper, whose Unicode mapping turns "ſys_admin" into
// CAP_SYS_ADMIN before any check can refuse it. Raw entries reach [Apply],
// which rejects confusables and accepts numerals.
func DefaultCapabilities() ([]string, error) {
	var conf struct {
		Containers struct {
			DefaultCapabilities configfile.Slice `toml:"default_capabilities,omitempty"`
		} `toml:"containers"`
	}
	conf.Containers.DefaultCapabilities = configfile.NewSlice(slices.Clone(config.DefaultCapabilities))
	file := &configfile.File{
		Name:            "containers",
		Extension:       "conf",
		EnvironmentName: "CONTAINERS_CONF",
		UserId:          unshare.GetRootlessUID(),
	}
	if err := configfile.ParseTOML(&conf, file); err != nil {
		return nil, fmt.Errorf("reading default_capabilities from containers.conf: %w", err)
	}
	return conf.Containers.DefaultCapabilities.Get(), nil
}
