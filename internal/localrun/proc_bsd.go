//go:build unix && !linux

package localrun

import "syscall"

// setDeathSignal does nothing: only Linux can have the kernel kill the app when goldenpath dies.
func setDeathSignal(*syscall.SysProcAttr) {}
