//go:build !linux

package plugin

import (
	"errors"

	"github.com/capgen-dev/capgen/capnames"
)

func trialScope() (capnames.Set, error) {
	return 0, errors.Join(errTrialUnavailable, errors.New("trials read /proc, which only Linux has"))
}

func processSets(int) (Sets, error) { return Sets{}, errTrialUnavailable }
