package gateway

import (
	"io"
	"sync"
	"time"
)

// idlePool keeps idle keep-alive connections per upstream address (host:port), most recently used
// last, closing those idle longer than timeout when they come up and those past max per address.
type idlePool[C io.Closer] struct {
	max     int
	timeout time.Duration

	mu   sync.Mutex
	idle map[string][]idleConn[C]
}

type idleConn[C io.Closer] struct {
	c     C
	since time.Time
}

func newIdlePool[C io.Closer](max int, timeout time.Duration) *idlePool[C] {
	return &idlePool[C]{max: max, timeout: timeout, idle: map[string][]idleConn[C]{}}
}

// get takes the most recently used live connection to addr, if there is one.
func (p *idlePool[C]) get(addr string) (C, bool) {
	now := time.Now()
	p.mu.Lock()
	for conns := p.idle[addr]; len(conns) > 0; conns = p.idle[addr] {
		ic := conns[len(conns)-1]
		conns[len(conns)-1] = idleConn[C]{}
		p.idle[addr] = conns[:len(conns)-1]
		if now.Sub(ic.since) < p.timeout {
			p.mu.Unlock()
			return ic.c, true
		}
		ic.c.Close()
	}
	p.mu.Unlock()
	var zero C
	return zero, false
}

// put keeps c for reuse, or closes it if addr has max idle connections already.
func (p *idlePool[C]) put(addr string, c C) {
	ic := idleConn[C]{c: c, since: time.Now()}
	p.mu.Lock()
	if conns := p.idle[addr]; len(conns) < p.max {
		p.idle[addr] = append(conns, ic)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	c.Close()
}

// drop closes addr's idle connections: the upstream restarted, and they are all as dead as the one
// that failed.
func (p *idlePool[C]) drop(addr string) {
	p.mu.Lock()
	conns := p.idle[addr]
	delete(p.idle, addr)
	p.mu.Unlock()
	for _, ic := range conns {
		ic.c.Close()
	}
}

func (p *idlePool[C]) closeAll() {
	p.mu.Lock()
	idle := p.idle
	p.idle = map[string][]idleConn[C]{}
	p.mu.Unlock()
	for _, conns := range idle {
		for _, ic := range conns {
			ic.c.Close()
		}
	}
}
