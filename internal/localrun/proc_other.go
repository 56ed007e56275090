//go:build !unix

package localrun

import (
	"os"
	"os/exec"
)

// Without Unix process groups and signals, the app is killed outright.
func configureProcess(*exec.Cmd) {}

func terminate(p *os.Process) error { return p.Kill() }

func killGroup(p *os.Process) error { return p.Kill() }
