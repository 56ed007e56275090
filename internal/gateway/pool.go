package gateway

import (
	"sync"
	"time"
)

// idlePool keeps the net/http path's idle keep-alive upstream connections per address (host:port),
// most recently used last, closing those idle longer than timeout when they come up and those past max
// per address. (The fast path's loop keeps its own, without locks.)
type idlePool struct {
	max     int
	timeout time.Duration

	mu   sync.Mutex
	idle map[string][]idleConn
}

type idleConn struct {
	c     *upstreamConn
	since time.Time
}

func newIdlePool(max int, timeout time.Duration) *idlePool {
	return &idlePool{max: max, timeout: timeout, idle: map[string][]idleConn{}}
}

// get takes the most recently used live connection to addr, if there is one.
func (p *idlePool) get(addr string) (*upstreamConn, bool) {
	now := time.Now()
	p.mu.Lock()
	for conns := p.idle[addr]; len(conns) > 0; conns = p.idle[addr] {
		ic := conns[len(conns)-1]
		conns[len(conns)-1] = idleConn{}
		p.idle[addr] = conns[:len(conns)-1]
		if now.Sub(ic.since) < p.timeout {
			p.mu.Unlock()
			return ic.c, true
		}
		ic.c.close()
	}
	p.mu.Unlock()
	return nil, false
}

// put keeps c for reuse, or closes it if addr has max idle connections already.
func (p *idlePool) put(addr string, c *upstreamConn) {
	ic := idleConn{c: c, since: time.Now()}
	p.mu.Lock()
	if conns := p.idle[addr]; len(conns) < p.max {
		p.idle[addr] = append(conns, ic)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	c.close()
}

// drop closes addr's idle connections: the upstream restarted, and they are all as dead as the one
// that failed.
func (p *idlePool) drop(addr string) {
	p.mu.Lock()
	conns := p.idle[addr]
	delete(p.idle, addr)
	p.mu.Unlock()
	for _, ic := range conns {
		ic.c.close()
	}
}

func (p *idlePool) closeAll() {
	p.mu.Lock()
	idle := p.idle
	p.idle = map[string][]idleConn{}
	p.mu.Unlock()
	for _, conns := range idle {
		for _, ic := range conns {
			ic.c.close()
		}
	}
}
