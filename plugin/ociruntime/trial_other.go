//go:build !linux

package ociruntime

import (
	"errors"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
)

func trialScope() (capnames.Set, error) {
	return 0, errors.Join(errTrialUnavailable, errors.New("trials read /proc, which only Linux has"))
}

func processSets(int) (plugin.Sets, error) { return plugin.Sets{}, errTrialUnavailable }

func inRoot(int, string) bool { return false }

func removeCgroups(string) {}
