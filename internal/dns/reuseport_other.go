//go:build !linux

package dns

import "syscall"

const canReusePort = false

// msgTrunc is 0: without recvmmsg a reader takes one datagram at a time and is not told it was cut.
const msgTrunc = 0

func reusePort(network, address string, c syscall.RawConn) error { return nil }
