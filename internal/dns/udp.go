package dns

import (
	"net"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// udpBatch is how many datagrams one system call reads or writes. Under load a reader takes what is queued
// (recvmmsg) and answers it all with one sendmmsg, which is most of the difference between a server that
// spends its time in system calls and one that does not; when idle a batch is one query.
const udpBatch = 64

// maxUDPQuery is the largest query a UDP reader takes whole (miekg/dns servers read 512 bytes by default);
// a longer datagram arrives cut (MSG_TRUNC) and is answered FORMERR. Answers over UDP are at most ednsSize
// bytes (longer ones are sent truncated, for the client to retry over TCP), so a reader's 64 slots hold
// 64 × (4 KB + 1.2 KB) instead of 64 × 128 KB: 16 MB of idle heap with two readers before.
const maxUDPQuery = 4096

// batchConn is the recvmmsg/sendmmsg face of a UDP socket, IPv4 or IPv6.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

func newBatchConn(c *net.UDPConn) batchConn {
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		return ipv6.NewPacketConn(c)
	}
	return ipv4.NewPacketConn(c)
}

func (s *Server) serveUDP(udp *net.UDPConn) {
	conn := newBatchConn(udp)
	in := make([]ipv4.Message, udpBatch)
	out := make([]ipv4.Message, udpBatch)
	outBufs := make([][]byte, udpBatch)
	inSlab, outSlab := make([]byte, udpBatch*maxUDPQuery), make([]byte, udpBatch*ednsSize)
	for i := range in {
		in[i].Buffers = [][]byte{inSlab[i*maxUDPQuery : (i+1)*maxUDPQuery : (i+1)*maxUDPQuery]}
		outBufs[i] = outSlab[i*ednsSize : i*ednsSize : (i+1)*ednsSize]
		out[i].Buffers = make([][]byte, 1)
	}
	key := make([]byte, 0, 256)
	for {
		n, err := conn.ReadBatch(in, 0)
		if err != nil {
			if s.closed.Load() {
				return
			}
			continue
		}
		snap := s.snap.Load()
		k := 0
		for i := range n {
			var resp []byte
			if in[i].Flags&msgTrunc != 0 {
				resp = formErr(outBufs[i][:0], in[i].Buffers[0][:in[i].N])
			} else {
				resp = snap.respond(in[i].Buffers[0][:in[i].N], outBufs[i][:0], key, true)
			}
			if resp == nil {
				continue
			}
			out[k].Buffers[0], out[k].Addr = resp, in[i].Addr
			k++
		}
		for sent := 0; sent < k; {
			m, err := conn.WriteBatch(out[sent:k], 0)
			if err != nil {
				break // the client is gone or the socket closed; answers are best effort over UDP
			}
			sent += m
		}
	}
}
