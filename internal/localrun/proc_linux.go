package localrun

import "syscall"

// setDeathSignal: the kernel sends SIGKILL to the app when the thread that started it exits. Go
// only retires threads whose goroutine locked them, which the supervisor never does, so in practice
// this fires when goldenpath itself dies, even by SIGKILL.
func setDeathSignal(attr *syscall.SysProcAttr) {
	attr.Pdeathsig = syscall.SIGKILL
}
