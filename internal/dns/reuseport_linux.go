package dns

import (
	"syscall"

	"golang.org/x/sys/unix"
)

const canReusePort = true

// msgTrunc is the flag recvmmsg sets on a datagram longer than its buffer.
const msgTrunc = unix.MSG_TRUNC

// reusePort lets several UDP sockets bind one port, so each reader has its own.
func reusePort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
