package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/capgen-dev/capgen/internal/containersconf"
	"github.com/capgen-dev/capgen/plugin"
	"go.podman.io/common/pkg/config"
)

// DefaultCapabilities returns containers.conf's default_capabilities as the
// files write them, read from the files go.podman.io/common/pkg/config
// reads when no module is loaded (CONTAINERS_CONF, the system, drop-in and
// user files, CONTAINERS_CONF_OVERRIDE), starting from common's built-in
// defaults. An engine that has its loaded *config.Config calls
// [LoadedDefaults] instead, which also covers modules.
//
// Pass the result as [plugin.Request.Defaults] instead of common's
// Config.Containers.DefaultCapabilities: common prefixes entries with "CAP_"
// after strings.ToUpper, whose Unicode mapping turns "ſys_admin" into
// CAP_SYS_ADMIN before any check can refuse it. Raw entries reach [Apply],
// which rejects confusables and accepts numerals.
func DefaultCapabilities() ([]string, error) {
	return readDefaults(nil)
}

// LoadedDefaults returns default_capabilities exactly as go.podman.io/common
// loaded them into rtc (Podman's and Buildah's *config.Config: system,
// drop-in and user files, CONTAINERS_CONF, CONTAINERS_CONF_OVERRIDE and
// --module), in the raw form that lets [Apply] refuse confusables.
//
// It reads the same files as common did, modules from rtc.LoadedModules(),
// and returns their entries as written when common's CAP_ prefixing of them
// gives exactly rtc's list. When it does not (a file changed after rtc was
// loaded, or a common release that looks for files elsewhere), rtc's own
// list is returned: what the engine would have used without capgen.
func LoadedDefaults(rtc *config.Config) ([]string, error) {
	if rtc == nil {
		return nil, fmt.Errorf("%w: nil containers.conf configuration", plugin.ErrInvalidRequest)
	}
	loaded := rtc.Containers.DefaultCapabilities.Get()
	raw, err := readDefaults(rtc.LoadedModules())
	if err != nil || !slices.Equal(commonPrefixed(raw), loaded) {
		return slices.Clone(loaded), nil
	}
	return raw, nil
}

// commonPrefixed returns entries as go.podman.io/common's loader stores
// them: "CAP_" and the entry upper-cased, unless it starts with "cap_" in
// any case. It mirrors that loader's use of strings.ToUpper on purpose, to
// recognise its output; it is never used to parse an entry.
func commonPrefixed(entries []string) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		if !strings.HasPrefix(strings.ToLower(e), "cap_") {
			e = "CAP_" + strings.ToUpper(e)
		}
		out[i] = e
	}
	return out
}

// readDefaults reads default_capabilities from the containers.conf files and
// the given modules (absolute paths, as common resolved them).
func readDefaults(modules []string) ([]string, error) {
	sources, err := containersconf.Find()
	if err != nil {
		return nil, fmt.Errorf("reading default_capabilities from containers.conf: %w", err)
	}
	list := &confSlice{values: slices.Clone(config.DefaultCapabilities)}
	for _, f := range sources.Files {
		if err := decodeConf(f, list, true); err != nil {
			return nil, err
		}
	}
	for _, m := range modules {
		if err := decodeConf(m, list, false); err != nil {
			return nil, err
		}
	}
	if path := os.Getenv(containersconf.OverrideEnv); path != "" {
		if err := decodeConf(path, list, true); err != nil {
			return nil, err
		}
	}
	return list.values, nil
}

// decodeConf merges the default_capabilities of the file at path into list.
func decodeConf(path string, list *confSlice, optional bool) error {
	var conf struct {
		Containers struct {
			DefaultCapabilities *confSlice `toml:"default_capabilities"`
		} `toml:"containers"`
	}
	conf.Containers.DefaultCapabilities = list
	_, err := toml.DecodeFile(path, &conf)
	if optional && errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading default_capabilities from %s: %w", path, err)
	}
	return nil
}

// confSlice is a containers.conf string array with common's attribute
// syntax: ["a", "b", {append=true}] appends to what earlier files set,
// and once a file has said append=true, later files append too (the
// attribute is kept, as common keeps it); otherwise a file's array
// replaces the earlier one.
type confSlice struct {
	values []string
	append *bool
}

// UnmarshalTOML implements toml.Unmarshaler.
func (s *confSlice) UnmarshalTOML(data any) error {
	items, ok := data.([]any)
	if !ok {
		return fmt.Errorf("default_capabilities: want an array of strings, not %T", data)
	}
	var values []string
	for _, item := range items {
		switch v := item.(type) {
		case string:
			values = append(values, v)
		case map[string]any:
			if err := s.attributes(v); err != nil {
				return err
			}
		default:
			return fmt.Errorf("default_capabilities: unsupported item %v of type %T", item, item)
		}
	}
	if s.append != nil && *s.append {
		s.values = append(s.values, values...)
	} else {
		s.values = values
	}
	return nil
}

func (s *confSlice) attributes(attrs map[string]any) error {
	for k, v := range attrs {
		if k != "append" {
			return fmt.Errorf("default_capabilities: unsupported attribute %q", k)
		}
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("default_capabilities: append=%v is not a boolean", v)
		}
		s.append = &b
	}
	return nil
}
