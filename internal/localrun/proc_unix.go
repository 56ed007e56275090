//go:build unix

package localrun

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// configureProcess puts the app in its own process group, so stopping it also stops whatever it
// started, and (on Linux) has the kernel kill it if goldenpath dies without cleaning up.
func configureProcess(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setDeathSignal(cmd.SysProcAttr)
}

func terminate(p *os.Process) error { return signalGroup(p, syscall.SIGTERM) }

func killGroup(p *os.Process) error { return signalGroup(p, syscall.SIGKILL) }

func signalGroup(p *os.Process, sig syscall.Signal) error {
	err := syscall.Kill(-p.Pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil // already gone
	}
	return err
}
