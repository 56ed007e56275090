//go:build !linux

package sandbox

import (
	"errors"
	"runtime"
)

// Main records that this program can start the launcher; outside Linux there is nothing to launch,
// since no mechanism is available.
func Main() { installed.Store(true) }

func landlockABI() (int, error) {
	return 0, errors.New("Landlock is a Linux feature and this is " + runtime.GOOS)
}

// userSwitch: the launcher that switches users is Linux-only for now.
func userSwitch() error {
	return errors.New("running apps as users of their own is implemented on Linux only")
}

func uidsInUse() map[int]bool { return map[int]bool{} }
