package dns

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"time"
)

const (
	tcpIdle     = 10 * time.Second // RFC 7766 §6.2.3: close idle connections after some seconds
	maxTCPConns = 512
	// maxTCPConnsPerClient keeps one client from holding every connection (RFC 7766 §6.2.2). A resolver uses
	// TCP only for truncated answers and zone transfers, so a few connections serve it well.
	maxTCPConnsPerClient = 16
)

// acceptTCP accepts connections until the listener closes. A connection over the global or the per-client
// limit is closed at once: the acceptor never waits for a free slot, so a client holding many connections
// delays nobody else's.
func (s *Server) acceptTCP() {
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			if s.closed.Load() {
				return
			}
			time.Sleep(10 * time.Millisecond) // e.g. out of file descriptors: back off instead of spinning
			continue
		}
		peer := peerIP(c.RemoteAddr())
		ok, closing := s.admit(c, peer)
		if closing {
			return
		}
		if !ok {
			_ = c.Close()
			continue
		}
		s.wg.Go(func() { s.serveTCP(c, peer) })
	}
}

// admit registers an accepted connection, so Close can end it, when it is within the limits. closing is
// true (and the connection closed) when the server is shutting down.
func (s *Server) admit(c net.Conn, peer string) (ok, closing bool) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if s.closed.Load() {
		_ = c.Close()
		return false, true
	}
	if len(s.conns) >= s.tcpMax || s.peers[peer] >= s.perMax {
		return false, false
	}
	s.conns[c] = struct{}{}
	s.peers[peer]++
	return true, false
}

// release forgets a connection that serveTCP is done with.
func (s *Server) release(c net.Conn, peer string) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	delete(s.conns, c)
	if s.peers[peer]--; s.peers[peer] <= 0 {
		delete(s.peers, peer)
	}
}

// peerIP names the client a connection counts against: its IPv4 address, or the /64 of its IPv6 address
// (one host commonly holds a whole /64).
func peerIP(a net.Addr) string {
	t, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if t.IP.To4() != nil {
		return t.IP.String()
	}
	return (&net.IPNet{IP: t.IP.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}

// serveTCP answers length-prefixed queries on one connection, in order, until it goes idle or closes.
func (s *Server) serveTCP(c net.Conn, peer string) {
	defer func() {
		s.release(c, peer)
		_ = c.Close()
	}()
	r := bufio.NewReader(c)
	buf := make([]byte, maxMsg)
	out := make([]byte, 2, maxMsg+2)
	key := make([]byte, 0, 256)
	for {
		_ = c.SetReadDeadline(time.Now().Add(tcpIdle))
		if _, err := io.ReadFull(r, buf[:2]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(buf))
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			return
		}
		resp := s.snap.Load().respond(buf[:n], out[2:2], key, false)
		if resp == nil {
			continue
		}
		msg := append(out[:0], byte(len(resp)>>8), byte(len(resp)))
		msg = append(msg, resp...)
		_ = c.SetWriteDeadline(time.Now().Add(tcpIdle))
		if _, err := c.Write(msg); err != nil {
			return
		}
	}
}
