//go:build !linux

package dns

import "syscall"

const canReusePort = false

func reusePort(network, address string, c syscall.RawConn) error { return nil }
