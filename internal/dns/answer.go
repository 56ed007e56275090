package dns

import (
	"encoding/binary"
	"slices"

	mdns "github.com/miekg/dns"
)

const (
	maxChase = 8      // CNAME hops followed inside the served zones (also ends loops)
	qtNone   = 0      // a query type no record has: the "any other type" answer
	aliasTTL = 60     // TTL of the CNAME that stands in for a Route53 alias
	qtAny    = 255    // ANY
	qtAXFR   = 252    // zone transfers are not offered
	qtIXFR   = 251    //
	maxMsg   = 0xFFFF // largest DNS message
)

// compile precomputes n's answers. A name with a CNAME or alias gets an answer for every type served anywhere,
// since what its chain ends in depends on the query type; other names get one per type they hold.
func (n *node) compile(s *snapshot, served []uint16) {
	n.answers = map[uint16]*tmpl{}
	if n.cut != nil {
		n.other = s.referral(n.cut)
		return
	}
	types := []uint16{qtAny}
	for t := range n.sets {
		types = append(types, t)
	}
	for t := range n.alias {
		types = append(types, t)
	}
	if len(n.sets[mdns.TypeCNAME]) > 0 || len(n.alias) > 0 {
		types = append(types, served...)
	}
	for _, t := range types {
		if _, done := n.answers[t]; !done {
			n.answers[t] = s.resolve(n, t)
		}
	}
	n.other = s.resolve(n, qtNone)
}

// servedTypes lists every type held by some node.
func (s *snapshot) servedTypes() []uint16 {
	seen := map[uint16]bool{}
	for _, n := range s.nodes {
		for t := range n.sets {
			seen[t] = true
		}
		for t := range n.alias {
			seen[t] = true
		}
	}
	out := make([]uint16, 0, len(seen))
	for t := range seen {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// resolve builds the response to a query of type qt whose name reached n (exactly or through a wildcard),
// following CNAMEs through the served zones (RFC 1034 §4.3.2, RFC 6604 for the final RCODE).
func (s *snapshot) resolve(n *node, qt uint16) *tmpl {
	b := s.newBuilder()
	owner := "" // the query name
	for hops := 0; ; hops++ {
		if n.cut != nil {
			break // the chain went below a delegation: what we have is all we know
		}
		target, follow := b.step(n, qt, owner)
		if !follow {
			break
		}
		if hops == maxChase {
			break
		}
		next, ok := s.findName(target)
		if !ok {
			break // out of the served zones: the resolver takes it from here
		}
		if next == nil {
			b.t.rcode = mdns.RcodeNameError
			b.authority(s.zoneOf(target).soa)
			break
		}
		n, owner = next, target
	}
	return b.done()
}

// step adds what n holds for qt and, when that is a CNAME (or alias) to chase, returns its target.
func (b *builder) step(n *node, qt uint16, owner string) (target string, follow bool) {
	if a, ok := n.alias[qt]; ok {
		b.answer(&mdns.CNAME{Hdr: hdr(n.name, mdns.TypeCNAME, aliasTTL), Target: a}, owner)
		return a, true
	}
	if rrs := n.sets[qt]; len(rrs) > 0 {
		b.answers(rrs, owner)
		return "", false
	}
	if qt == qtAny && (len(n.sets) > 0 || len(n.alias) > 0) {
		for _, t := range sortedTypes(n.sets) {
			b.answers(n.sets[t], owner)
		}
		for _, t := range sortedTypes(n.alias) {
			b.answer(&mdns.CNAME{Hdr: hdr(n.name, mdns.TypeCNAME, aliasTTL), Target: n.alias[t]}, owner)
		}
		return "", false
	}
	if c := n.sets[mdns.TypeCNAME]; len(c) > 0 {
		b.answers(c, owner)
		return c[0].(*mdns.CNAME).Target, true
	}
	b.authority(n.zone.soa) // NODATA
	return "", false
}

func sortedTypes[V any](m map[uint16]V) []uint16 {
	ts := make([]uint16, 0, len(m))
	for t := range m {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}

// referral answers every query at or below a delegation: not authoritative, the delegation's NS records in
// the authority section and their addresses below the cut as glue.
func (s *snapshot) referral(cut *node) *tmpl {
	b := s.newBuilder()
	b.t.authority = false
	for _, rr := range cut.sets[mdns.TypeNS] {
		b.add(&b.t.ns, rr, cut.name)
		host := rr.(*mdns.NS).Ns
		if g := s.node(host); g != nil && mdns.IsSubDomain(cut.name, host) {
			for _, t := range []uint16{mdns.TypeA, mdns.TypeAAAA} {
				for _, a := range g.sets[t] {
					b.add(&b.t.ar, a, host)
				}
			}
		}
	}
	return b.done()
}

// findName looks a dotted name up the way a query would: the node that answers it (ok, non-nil), NXDOMAIN
// inside a served zone (ok, nil), or outside every served zone (!ok).
func (s *snapshot) findName(name string) (*node, bool) {
	k, err := wireKey(name)
	if err != nil {
		return nil, false
	}
	n, r := s.find([]byte(k))
	switch r {
	case found:
		return n, true
	case nxdomain:
		return nil, true
	}
	return nil, false
}

func (s *snapshot) zoneOf(name string) *zoneInfo {
	for p := name; ; p = parent(p) {
		if n := s.node(p); n != nil {
			return n.zone
		}
		if p == "." {
			return nil
		}
	}
}

type findResult int

const (
	found findResult = iota
	nxdomain
	refused
)

// find is the lookup behind every query: the exact node; else, from the closest encloser, a delegation above
// the name or the wildcard that synthesises it (RFC 4592: a wildcard never answers for a name that exists,
// empty non-terminals included, because those are found exactly); else NXDOMAIN in the encloser's zone, or
// REFUSED when no served zone contains the name. name is lowercase wire format.
func (s *snapshot) find(name []byte) (*node, findResult) {
	if n, ok := s.nodes[string(name)]; ok {
		return n, found
	}
	for off := 0; off < len(name) && name[off] != 0; {
		off += 1 + int(name[off])
		if off >= len(name) {
			break
		}
		ce, ok := s.nodes[string(name[off:])]
		if !ok {
			continue
		}
		switch {
		case ce.cut != nil:
			return ce, found
		case ce.wildcard != nil:
			return ce.wildcard, found
		}
		return ce, nxdomain
	}
	return nil, refused
}

// builder assembles a tmpl.
type builder struct {
	t       tmpl
	scratch []byte
}

// newBuilder starts a tmpl; builders share the snapshot's scratch space, since a snapshot is built by one
// goroutine.
func (s *snapshot) newBuilder() *builder {
	if s.scratch == nil {
		s.scratch = make([]byte, maxMsg)
	}
	return &builder{t: tmpl{authority: true}, scratch: s.scratch}
}

func (b *builder) answers(rrs []mdns.RR, owner string) {
	for _, rr := range rrs {
		b.answer(rr, owner)
	}
}

func (b *builder) answer(rr mdns.RR, owner string) { b.add(&b.t.an, rr, owner) }

// authority adds a zone's SOA for a negative answer, with the negative-caching TTL of RFC 2308 §3.
func (b *builder) authority(soa *mdns.SOA) {
	if soa == nil {
		return
	}
	neg := mdns.Copy(soa).(*mdns.SOA)
	neg.Hdr.Ttl = min(soa.Hdr.Ttl, soa.Minttl)
	b.add(&b.t.ns, neg, soa.Hdr.Name)
}

// add appends rr to a section, owned by owner, or by the query name when owner is "" (a pointer to offset 12,
// so the answer spells the name as the query did). Other names are written in full: the question's length
// varies, so no other offset is known in advance.
func (b *builder) add(count *uint16, rr mdns.RR, owner string) {
	rr = mdns.Copy(rr)
	if owner == "" {
		rr.Header().Name = "."
	} else {
		rr.Header().Name = owner
	}
	off, err := mdns.PackRR(rr, b.scratch, 0, nil, false)
	if err != nil {
		return // values were validated before they got here
	}
	if owner == "" {
		b.t.body = append(b.t.body, 0xC0, 12)
		b.t.body = append(b.t.body, b.scratch[1:off]...)
	} else {
		b.t.body = append(b.t.body, b.scratch[:off]...)
	}
	*count++
}

func (b *builder) done() *tmpl {
	t := b.t
	t.body = slices.Clip(t.body)
	return &t
}

// header writes a response header for query q (its ID, RD and CD bits) with t's flags and counts.
func (t *tmpl) header(out []byte, q []byte, ar uint16) []byte {
	flags1 := byte(0x80) | q[2]&0x01 // QR, RD copied
	if t.authority {
		flags1 |= 0x04
	}
	flags2 := q[3]&0x10 | byte(t.rcode&0x0F) // CD copied
	out = append(out, q[0], q[1], flags1, flags2, 0, 1)
	out = binary.BigEndian.AppendUint16(out, t.an)
	out = binary.BigEndian.AppendUint16(out, t.ns)
	return binary.BigEndian.AppendUint16(out, t.ar+ar)
}
