package dns

import (
	"encoding/binary"

	mdns "github.com/miekg/dns"
)

const (
	ednsSize   = 1232 // the UDP payload we offer and accept (DNS flag day 2020)
	plainLimit = 512  // UDP answers without EDNS
)

// respond writes the response to query q into out and returns it; nil means no response (q is a response
// itself or too short to answer). udp is false over TCP, where answers are never truncated. key is scratch
// space of at least 256 bytes. Ordinary queries take a path that allocates nothing; anything unusual goes
// through miekg/dns.
func (s *snapshot) respond(q, out, key []byte, udp bool) []byte {
	p, ok := parseQuery(q, key)
	if !ok {
		return s.slow(q, out, key, udp)
	}
	return s.answer(q, out, p, udp)
}

// query is what the fast path reads from a question.
type query struct {
	key     []byte // the query name, lowercase wire form
	qend    int    // end of the question section
	qtype   uint16
	edns    bool
	do      bool
	udpSize int
}

// parseQuery reads a plain query: opcode QUERY, one question of class IN, no compression, nothing but an
// OPT record (EDNS version 0) in the additional section.
func parseQuery(q, key []byte) (query, bool) {
	var p query
	if len(q) < 17 || q[2]&0xF8 != 0 { // QR=0 and opcode QUERY
		return p, false
	}
	if q[4] != 0 || q[5] != 1 || q[6]|q[7]|q[8]|q[9]|q[10] != 0 || q[11] > 1 {
		return p, false
	}
	off, k := 12, key[:0]
	for {
		if off >= len(q) {
			return p, false
		}
		l := int(q[off])
		if l == 0 {
			k = append(k, 0)
			off++
			break
		}
		if l > 63 || off+1+l > len(q) || len(k)+1+l > 254 {
			return p, false
		}
		k = append(k, q[off])
		for _, c := range q[off+1 : off+1+l] {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			k = append(k, c)
		}
		off += 1 + l
	}
	if off+4 > len(q) || binary.BigEndian.Uint16(q[off+2:]) != mdns.ClassINET {
		return p, false
	}
	p.key, p.qtype, p.qend, p.udpSize = k, binary.BigEndian.Uint16(q[off:]), off+4, plainLimit
	if q[11] == 1 {
		return p, p.readOPT(q[p.qend:])
	}
	return p, true
}

// readOPT reads an OPT pseudo-record (RFC 6891) of EDNS version 0; options are ignored.
func (p *query) readOPT(rr []byte) bool {
	if len(rr) < 11 || rr[0] != 0 || binary.BigEndian.Uint16(rr[1:]) != mdns.TypeOPT || rr[6] != 0 {
		return false
	}
	if 11+int(binary.BigEndian.Uint16(rr[9:])) > len(rr) {
		return false
	}
	p.edns, p.do = true, rr[7]&0x80 != 0
	p.udpSize = min(max(int(binary.BigEndian.Uint16(rr[3:])), plainLimit), ednsSize)
	return true
}

// answer assembles the response from the compiled snapshot.
func (s *snapshot) answer(q, out []byte, p query, udp bool) []byte {
	t := s.refused
	if p.qtype != qtAXFR && p.qtype != qtIXFR {
		switch n, r := s.find(p.key); r {
		case found:
			if t = n.answers[p.qtype]; t == nil {
				t = n.other
			}
		case nxdomain:
			t = n.zone.nxdomain
		}
	}
	var opt uint16
	if p.edns {
		opt = 1
	}
	out = t.header(out, q, opt)
	out = append(out, q[12:p.qend]...)
	out = append(out, t.body...)
	if p.edns {
		out = appendOPT(out, p.do)
	}
	if udp && len(out) > p.udpSize {
		return truncated(out[:0], q, p, t)
	}
	return out
}

// truncated is the UDP answer that did not fit: header with TC, the question, and OPT; the client retries
// over TCP.
func truncated(out, q []byte, p query, t *tmpl) []byte {
	empty := tmpl{rcode: t.rcode, authority: t.authority}
	var opt uint16
	if p.edns {
		opt = 1
	}
	out = empty.header(out, q, opt)
	out[2] |= 0x02
	out = append(out, q[12:p.qend]...)
	if p.edns {
		out = appendOPT(out, p.do)
	}
	return out
}

func appendOPT(out []byte, do bool) []byte {
	var flags byte
	if do {
		flags = 0x80 // RFC 3225: the DO bit is copied into the response
	}
	return append(out, 0, 0, byte(mdns.TypeOPT), byte(ednsSize>>8), byte(ednsSize&0xFF), 0, 0, flags, 0, 0, 0)
}

// slow answers what the fast path does not read: other opcodes (NOTIMP), malformed queries (FORMERR),
// other EDNS versions (BADVERS), other classes (REFUSED); anything else it rewrites as a plain query and
// answers the ordinary way.
func (s *snapshot) slow(q, out, key []byte, udp bool) []byte {
	m := new(mdns.Msg)
	if err := m.Unpack(q); err != nil {
		return formErr(out, q)
	}
	if m.Response {
		return nil
	}
	r := new(mdns.Msg)
	opt := m.IsEdns0()
	switch {
	case m.Opcode != mdns.OpcodeQuery:
		r.SetRcode(m, mdns.RcodeNotImplemented)
	case len(m.Question) != 1:
		r.SetRcode(m, mdns.RcodeFormatError)
	case opt != nil && opt.Version() != 0:
		r.SetRcode(m, mdns.RcodeBadVers)
		r.SetEdns0(ednsSize, false)
	case m.Question[0].Qclass != mdns.ClassINET:
		r.SetRcode(m, mdns.RcodeRefused)
	default:
		return s.plain(m, opt, out, key, udp)
	}
	r.Question = m.Question
	wire, err := r.PackBuffer(out)
	if err != nil {
		return formErr(out, q)
	}
	return wire
}

// plain re-encodes an answerable query without its extras and answers it on the fast path.
func (s *snapshot) plain(m *mdns.Msg, opt *mdns.OPT, out, key []byte, udp bool) []byte {
	c := new(mdns.Msg)
	c.Id, c.RecursionDesired, c.CheckingDisabled = m.Id, m.RecursionDesired, m.CheckingDisabled
	c.Question = m.Question
	if opt != nil {
		c.SetEdns0(opt.UDPSize(), opt.Do())
	}
	wire, err := c.Pack()
	if err != nil {
		return nil
	}
	p, ok := parseQuery(wire, key)
	if !ok {
		return nil
	}
	return s.answer(wire, out, p, udp)
}

// formErr answers a message that does not parse: its ID and opcode, FORMERR, nothing else.
func formErr(out, q []byte) []byte {
	if len(q) < 12 || q[2]&0x80 != 0 {
		return nil
	}
	return append(out, q[0], q[1], 0x80|q[2]&0x78, mdns.RcodeFormatError, 0, 0, 0, 0, 0, 0, 0, 0)
}
