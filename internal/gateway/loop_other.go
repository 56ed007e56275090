//go:build !linux

package gateway

import (
	"context"
	"errors"
	"net"
)

// loop is the fast path's engine, which needs Linux's epoll: elsewhere net/http serves everything.
type loop struct{ handoff *handoffListener }

func newLoop(*Gateway, net.Listener) (*loop, error) {
	return nil, errors.ErrUnsupported
}

func (*loop) run() error                   { return nil }
func (*loop) shutdown(ctx context.Context) {}
