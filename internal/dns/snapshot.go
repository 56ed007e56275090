package dns

import (
	"fmt"
	"strings"

	mdns "github.com/miekg/dns"
)

// A snapshot is the embedded server's compiled, immutable view of every zone it serves. Each name that exists
// (including empty non-terminals) is a node holding a ready-made answer per query type, so answering a query
// is a map lookup and two copies. ApplyChanges builds a new snapshot and swaps it in whole.
type snapshot struct {
	nodes   map[string]*node // by lowercase wire-format name
	refused *tmpl
	scratch []byte // packing space while the snapshot is built
}

// node is one existing name.
type node struct {
	name     string // dotted, lowercase, with the trailing dot
	zone     *zoneInfo
	sets     map[uint16][]mdns.RR
	alias    map[uint16]string // Route53 alias records, served as a CNAME to the alias target
	wildcard *node             // the "*.<name>" node, when there is one
	cut      *node             // the delegation point at or above this name (never the apex), nil when none
	answers  map[uint16]*tmpl  // per query type present here
	other    *tmpl             // for every other query type
}

// zoneInfo is what every answer in a zone shares.
type zoneInfo struct {
	apex     string // dotted with the trailing dot
	soa      *mdns.SOA
	nxdomain *tmpl
}

// tmpl is a compiled response less its header and question: the client's question is copied in front, and
// every record owned by the query name points at it (offset 12), so answers keep the query's spelling.
type tmpl struct {
	rcode      int
	authority  bool // the AA bit
	an, ns, ar uint16
	body       []byte
}

// zoneContent is the input of a snapshot: a zone's apex records and data.
type zoneContent struct {
	apex    string // normalised, no trailing dot
	soa     *mdns.SOA
	ns      []string
	records []Record
}

func buildSnapshot(zones []zoneContent) (*snapshot, error) {
	s := &snapshot{nodes: map[string]*node{}, refused: &tmpl{rcode: mdns.RcodeRefused}}
	var all []*node
	for _, z := range zones {
		nodes, err := s.addZone(z)
		if err != nil {
			return nil, err
		}
		all = append(all, nodes...)
	}
	served := s.servedTypes()
	for _, n := range all {
		n.compile(s, served)
	}
	s.scratch = nil
	return s, nil
}

// addZone creates the nodes of one zone (records, then every ancestor up to the apex as an empty
// non-terminal) and links wildcards and delegations.
func (s *snapshot) addZone(z zoneContent) ([]*node, error) {
	zi := &zoneInfo{apex: mdns.Fqdn(z.apex), soa: z.soa}
	nx := s.newBuilder()
	nx.t.rcode = mdns.RcodeNameError
	nx.authority(z.soa)
	zi.nxdomain = nx.done()
	var nodes []*node
	get := func(name string) (*node, error) {
		k, err := wireKey(name)
		if err != nil {
			return nil, err
		}
		if n, ok := s.nodes[k]; ok {
			return n, nil
		}
		n := &node{name: name, zone: zi, sets: map[uint16][]mdns.RR{}}
		s.nodes[k] = n
		nodes = append(nodes, n)
		return n, nil
	}
	apex, err := get(zi.apex)
	if err != nil {
		return nil, fmt.Errorf("zone %s: %w", z.apex, err)
	}
	apex.sets[mdns.TypeSOA] = []mdns.RR{z.soa}
	for _, ns := range z.ns {
		apex.sets[mdns.TypeNS] = append(apex.sets[mdns.TypeNS], &mdns.NS{Hdr: hdr(zi.apex, mdns.TypeNS, z.soa.Hdr.Ttl), Ns: mdns.Fqdn(ns)})
	}
	for _, r := range z.records {
		n, err := get(mdns.Fqdn(r.Name))
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", r.Name, err)
		}
		if err := n.add(r); err != nil {
			return nil, fmt.Errorf("record %s %s: %w", r.Name, r.Type, err)
		}
		for p := parent(n.name); len(p) >= len(zi.apex); p = parent(p) {
			if _, err := get(p); err != nil {
				return nil, err
			}
		}
	}
	s.link(zi, nodes)
	return nodes, nil
}

// link points each node at its wildcard child and at the delegation above it.
func (s *snapshot) link(zi *zoneInfo, nodes []*node) {
	for _, n := range nodes {
		if strings.HasPrefix(n.name, "*.") {
			if p := s.node(parent(n.name)); p != nil {
				p.wildcard = n
			}
		}
		for p := n.name; len(p) > len(zi.apex); p = parent(p) {
			if c := s.node(p); c != nil && len(c.sets[mdns.TypeNS]) > 0 {
				n.cut = c // keep going: the highest cut wins, names below it are occluded
			}
		}
	}
}

func (s *snapshot) node(name string) *node {
	k, err := wireKey(name)
	if err != nil {
		return nil
	}
	return s.nodes[k]
}

// parent drops the leftmost label of a dotted name with the trailing dot ("a.b." → "b.", "b." → ".").
func parent(name string) string {
	_, rest, ok := strings.Cut(name, ".")
	if !ok || rest == "" {
		return "."
	}
	return rest
}

// wireKey is a name's lowercase wire form, the snapshot's map key.
func wireKey(name string) (string, error) {
	buf := make([]byte, 256)
	n, err := mdns.PackDomainName(mdns.Fqdn(strings.ToLower(name)), buf, 0, nil, false)
	if err != nil {
		return "", fmt.Errorf("name %q: %w", name, err)
	}
	return string(buf[:n]), nil
}

func hdr(name string, t uint16, ttl uint32) mdns.RR_Header {
	return mdns.RR_Header{Name: name, Rrtype: t, Class: mdns.ClassINET, Ttl: ttl}
}

// add turns a Record into resource records at n.
func (n *node) add(r Record) error {
	t, ok := mdns.StringToType[r.Type]
	if !ok {
		return fmt.Errorf("unknown type")
	}
	if r.Alias != nil {
		if n.alias == nil {
			n.alias = map[uint16]string{}
		}
		n.alias[t] = mdns.Fqdn(r.Alias.DNSName)
		return nil
	}
	for _, v := range r.Targets {
		rr, err := toRR(n.name, t, uint32(r.TTL), v)
		if err != nil {
			return err
		}
		n.sets[t] = append(n.sets[t], rr)
	}
	return nil
}

func toRR(name string, t uint16, ttl uint32, v string) (mdns.RR, error) {
	h := hdr(name, t, ttl)
	switch t {
	case mdns.TypeTXT:
		return &mdns.TXT{Hdr: h, Txt: txtChunks(v)}, nil
	case mdns.TypeCNAME:
		return &mdns.CNAME{Hdr: h, Target: mdns.Fqdn(v)}, nil
	case mdns.TypeNS:
		return &mdns.NS{Hdr: h, Ns: mdns.Fqdn(v)}, nil
	}
	rr, err := mdns.NewRR(fmt.Sprintf("%s %d IN %s %s", name, ttl, mdns.TypeToString[t], v))
	if err != nil {
		return nil, err
	}
	if rr == nil {
		return nil, fmt.Errorf("empty value")
	}
	return rr, nil
}

// txtChunks splits a TXT value into the ≤255-byte character-strings DNS carries, escaped the way miekg/dns
// expects its TXT fields (a backslash starts an escape there).
func txtChunks(v string) []string {
	var out []string
	for len(v) > 255 {
		out = append(out, escapeTXT(v[:255]))
		v = v[255:]
	}
	return append(out, escapeTXT(v))
}

func escapeTXT(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
