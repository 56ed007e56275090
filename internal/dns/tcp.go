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
)

func (s *Server) acceptTCP() {
	sem := make(chan struct{}, maxTCPConns)
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			if s.closed.Load() {
				return
			}
			time.Sleep(10 * time.Millisecond) // e.g. out of file descriptors: back off instead of spinning
			continue
		}
		sem <- struct{}{}
		if !s.track(c) {
			<-sem
			return
		}
		s.wg.Go(func() {
			defer func() { <-sem }()
			s.serveTCP(c)
		})
	}
}

// track registers an open connection so Close can end it; false when the server is closing.
func (s *Server) track(c net.Conn) bool {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if s.closed.Load() {
		_ = c.Close()
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

// serveTCP answers length-prefixed queries on one connection, in order, until it goes idle or closes.
func (s *Server) serveTCP(c net.Conn) {
	defer func() {
		s.connMu.Lock()
		delete(s.conns, c)
		s.connMu.Unlock()
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
