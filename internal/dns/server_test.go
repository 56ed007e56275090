package dns

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

const testZone = "goldenpathidp.io"

// testRecords is a zone in the seed plan's shape plus the cases RFC 4592 cares about.
func testRecords() []Record {
	return []Record{
		{Name: "*.dev.goldenpathidp.io", Type: TypeCNAME, TTL: 300, Targets: []string{"kong-dev.elb.example.com"}},
		{Name: "*.staging.goldenpathidp.io", Type: TypeA, TTL: 300, Targets: []string{"10.0.1.1"}},
		{Name: "*.goldenpathidp.io", Type: TypeA, TTL: 300, Targets: []string{"10.0.2.1"}},
		{Name: "argocd.dev.goldenpathidp.io", Type: TypeA, TTL: 300, Targets: []string{"10.0.0.1"}},
		{Name: "v6.dev.goldenpathidp.io", Type: TypeAAAA, TTL: 300, Targets: []string{"2001:db8::1"}},
		{Name: "www.goldenpathidp.io", Type: TypeCNAME, TTL: 300, Targets: []string{"argocd.dev.goldenpathidp.io"}},
		{Name: "chain.goldenpathidp.io", Type: TypeCNAME, TTL: 300, Targets: []string{"www.goldenpathidp.io"}},
		{Name: "dangling.goldenpathidp.io", Type: TypeCNAME, TTL: 300, Targets: []string{"gone.web.goldenpathidp.io"}},
		{Name: "web.goldenpathidp.io", Type: TypeA, TTL: 300, Targets: []string{"10.0.3.1", "10.0.3.2"}},
		{Name: "web.goldenpathidp.io", Type: TypeTXT, TTL: 300, Targets: []string{"v=spf1 -all", `say "hi" \ bye`}},
		{Name: "deep.ent.goldenpathidp.io", Type: TypeA, TTL: 300, Targets: []string{"10.0.4.1"}},
		{Name: "lb.goldenpathidp.io", Type: TypeA, TTL: 60, Alias: &Alias{HostedZoneID: "Z35SXDOTRQ7X7K", DNSName: "kong-prod.elb.example.com"}},
	}
}

func startServer(t *testing.T, dir string, records []Record) *Server {
	t.Helper()
	s, err := NewServer(context.Background(), ServerConfig{Addr: "127.0.0.1:0", Dir: dir, Zones: []string{testZone}})
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if len(records) > 0 {
		plan := Plan{Zone: testZone, Create: records}
		if err := s.ApplyChanges(context.Background(), testZone, plan); err != nil {
			t.Fatalf("ApplyChanges: %v", err)
		}
	}
	return s
}

func exchange(t *testing.T, addr, network, name string, qtype uint16, edns bool) *mdns.Msg {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	if edns {
		m.SetEdns0(1232, false)
	}
	c := &mdns.Client{Net: network, Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil && r == nil {
		t.Fatalf("%s %s %s: %v", network, name, mdns.TypeToString[qtype], err)
	}
	if r.Id != m.Id {
		t.Fatalf("response id %d, want %d", r.Id, m.Id)
	}
	return r
}

// rrs renders a section as sorted "name type value" lines without TTLs.
func rrs(section []mdns.RR) []string {
	var out []string
	for _, rr := range section {
		h := rr.Header()
		v := strings.TrimPrefix(rr.String(), h.String())
		out = append(out, fmt.Sprintf("%s %s %s", h.Name, mdns.TypeToString[h.Rrtype], v))
	}
	slices.Sort(out)
	return out
}

func TestServerAnswers(t *testing.T) {
	s := startServer(t, "", testRecords())
	soa := []string{"goldenpathidp.io. SOA ns1.goldenpathidp.io. hostmaster.goldenpathidp.io. 2 3600 600 1209600 60"}
	tests := []struct {
		name      string
		qname     string
		qtype     uint16
		rcode     int
		answer    []string
		authority []string
	}{
		{"A", "argocd.dev.goldenpathidp.io.", mdns.TypeA, mdns.RcodeSuccess,
			[]string{"argocd.dev.goldenpathidp.io. A 10.0.0.1"}, nil},
		{"AAAA", "v6.dev.goldenpathidp.io.", mdns.TypeAAAA, mdns.RcodeSuccess,
			[]string{"v6.dev.goldenpathidp.io. AAAA 2001:db8::1"}, nil},
		{"two addresses", "web.goldenpathidp.io.", mdns.TypeA, mdns.RcodeSuccess,
			[]string{"web.goldenpathidp.io. A 10.0.3.1", "web.goldenpathidp.io. A 10.0.3.2"}, nil},
		{"TXT with quotes and a backslash", "web.goldenpathidp.io.", mdns.TypeTXT, mdns.RcodeSuccess,
			[]string{`web.goldenpathidp.io. TXT "say \"hi\" \\ bye"`, `web.goldenpathidp.io. TXT "v=spf1 -all"`}, nil},
		{"CNAME asked for", "www.goldenpathidp.io.", mdns.TypeCNAME, mdns.RcodeSuccess,
			[]string{"www.goldenpathidp.io. CNAME argocd.dev.goldenpathidp.io."}, nil},
		{"CNAME chased within the zone", "chain.goldenpathidp.io.", mdns.TypeA, mdns.RcodeSuccess,
			[]string{"argocd.dev.goldenpathidp.io. A 10.0.0.1", "chain.goldenpathidp.io. CNAME www.goldenpathidp.io.",
				"www.goldenpathidp.io. CNAME argocd.dev.goldenpathidp.io."}, nil},
		{"CNAME chain ending in NODATA", "www.goldenpathidp.io.", mdns.TypeTXT, mdns.RcodeSuccess,
			[]string{"www.goldenpathidp.io. CNAME argocd.dev.goldenpathidp.io."}, soa},
		{"CNAME to a name that does not exist", "dangling.goldenpathidp.io.", mdns.TypeA, mdns.RcodeNameError,
			[]string{"dangling.goldenpathidp.io. CNAME gone.web.goldenpathidp.io."}, soa},
		{"wildcard CNAME out of zone carries the query name", "shop.dev.goldenpathidp.io.", mdns.TypeA, mdns.RcodeSuccess,
			[]string{"shop.dev.goldenpathidp.io. CNAME kong-dev.elb.example.com."}, nil},
		{"wildcard matches more than one label", "a.b.staging.goldenpathidp.io.", mdns.TypeA, mdns.RcodeSuccess,
			[]string{"a.b.staging.goldenpathidp.io. A 10.0.1.1"}, nil},
		{"wildcard NODATA", "shop.staging.goldenpathidp.io.", mdns.TypeAAAA, mdns.RcodeSuccess, nil, soa},
		{"apex wildcard", "shop.goldenpathidp.io.", mdns.TypeA, mdns.RcodeSuccess,
			[]string{"shop.goldenpathidp.io. A 10.0.2.1"}, nil},
		{"wildcard does not answer for an existing name", "argocd.dev.goldenpathidp.io.", mdns.TypeAAAA, mdns.RcodeSuccess, nil, soa},
		{"wildcard does not answer for an empty non-terminal", "ent.goldenpathidp.io.", mdns.TypeA, mdns.RcodeSuccess, nil, soa},
		{"environment name is an empty non-terminal", "staging.goldenpathidp.io.", mdns.TypeA, mdns.RcodeSuccess, nil, soa},
		{"below the empty non-terminal the apex wildcard does not reach", "x.ent.goldenpathidp.io.", mdns.TypeA, mdns.RcodeNameError, nil, soa},
		{"NXDOMAIN below an existing name", "nope.web.goldenpathidp.io.", mdns.TypeA, mdns.RcodeNameError, nil, soa},
		{"wildcard owner is no wildcard for names below it", "x.*.dev.goldenpathidp.io.", mdns.TypeA, mdns.RcodeNameError, nil, soa},
		{"the wildcard name itself", "*.dev.goldenpathidp.io.", mdns.TypeCNAME, mdns.RcodeSuccess,
			[]string{"*.dev.goldenpathidp.io. CNAME kong-dev.elb.example.com."}, nil},
		{"alias served as a CNAME to its target", "lb.goldenpathidp.io.", mdns.TypeA, mdns.RcodeSuccess,
			[]string{"lb.goldenpathidp.io. CNAME kong-prod.elb.example.com."}, nil},
		{"apex SOA", "goldenpathidp.io.", mdns.TypeSOA, mdns.RcodeSuccess, soa, nil},
		{"apex NS", "goldenpathidp.io.", mdns.TypeNS, mdns.RcodeSuccess, []string{"goldenpathidp.io. NS ns1.goldenpathidp.io."}, nil},
		{"apex NODATA", "goldenpathidp.io.", mdns.TypeA, mdns.RcodeSuccess, nil, soa},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(network+"/"+tt.name, func(t *testing.T) {
				r := exchange(t, s.Addr(), network, tt.qname, tt.qtype, false)
				if r.Rcode != tt.rcode {
					t.Errorf("rcode %s, want %s", mdns.RcodeToString[r.Rcode], mdns.RcodeToString[tt.rcode])
				}
				if !r.Authoritative {
					t.Errorf("AA not set on an answer from the zone")
				}
				if got := rrs(r.Answer); !slices.Equal(got, tt.answer) {
					t.Errorf("answer\n got %q\nwant %q", got, tt.answer)
				}
				if got := rrs(r.Ns); !slices.Equal(got, tt.authority) {
					t.Errorf("authority\n got %q\nwant %q", got, tt.authority)
				}
			})
		}
	}
}

func TestServerKeepsTheQueryNamesSpelling(t *testing.T) {
	s := startServer(t, "", testRecords())
	for _, q := range []string{"ArgoCD.Dev.GoldenPathIDP.io.", "ShOp.DEV.goldenpathidp.IO."} {
		r := exchange(t, s.Addr(), "udp", q, mdns.TypeA, false)
		if len(r.Answer) == 0 || r.Answer[0].Header().Name != q {
			t.Errorf("%s: got answer %v, want it owned by %s as spelled", q, r.Answer, q)
		}
		if r.Question[0].Name != q {
			t.Errorf("question echoed as %s, want %s", r.Question[0].Name, q)
		}
	}
}

func TestServerRefusesWhatIsNotItsZone(t *testing.T) {
	s := startServer(t, "", testRecords())
	for _, q := range []string{"example.com.", "io.", "goldenpathidp.io.example.com.", "."} {
		r := exchange(t, s.Addr(), "udp", q, mdns.TypeA, false)
		if r.Rcode != mdns.RcodeRefused || r.Authoritative || len(r.Answer) > 0 {
			t.Errorf("%s: rcode %s AA=%v answers %d, want REFUSED, no AA, no answer", q, mdns.RcodeToString[r.Rcode], r.Authoritative, len(r.Answer))
		}
	}
}

func TestServerProtocolCorners(t *testing.T) {
	s := startServer(t, "", testRecords())
	c := &mdns.Client{Net: "udp", Timeout: 2 * time.Second}
	t.Run("EDNS is echoed", func(t *testing.T) {
		r := exchange(t, s.Addr(), "udp", "argocd.dev.goldenpathidp.io.", mdns.TypeA, true)
		if opt := r.IsEdns0(); opt == nil || opt.UDPSize() != ednsSize {
			t.Fatalf("got OPT %v, want one offering %d bytes", opt, ednsSize)
		}
	})
	t.Run("EDNS version 1 gets BADVERS", func(t *testing.T) {
		m := new(mdns.Msg).SetQuestion("argocd.dev.goldenpathidp.io.", mdns.TypeA)
		m.SetEdns0(1232, false)
		m.IsEdns0().SetVersion(1)
		r, _, err := c.Exchange(m, s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if r.Rcode != mdns.RcodeBadVers {
			t.Errorf("rcode %s, want BADVERS", mdns.RcodeToString[r.Rcode])
		}
	})
	t.Run("other opcodes are not implemented", func(t *testing.T) {
		m := new(mdns.Msg).SetQuestion("goldenpathidp.io.", mdns.TypeSOA)
		m.Opcode = mdns.OpcodeNotify
		r, _, err := c.Exchange(m, s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if r.Rcode != mdns.RcodeNotImplemented {
			t.Errorf("rcode %s, want NOTIMP", mdns.RcodeToString[r.Rcode])
		}
	})
	t.Run("CHAOS class is refused", func(t *testing.T) {
		m := new(mdns.Msg).SetQuestion("version.bind.", mdns.TypeTXT)
		m.Question[0].Qclass = mdns.ClassCHAOS
		r, _, err := c.Exchange(m, s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if r.Rcode != mdns.RcodeRefused {
			t.Errorf("rcode %s, want REFUSED", mdns.RcodeToString[r.Rcode])
		}
	})
	t.Run("zone transfer is refused", func(t *testing.T) {
		r := exchange(t, s.Addr(), "tcp", "goldenpathidp.io.", mdns.TypeAXFR, false)
		if r.Rcode != mdns.RcodeRefused {
			t.Errorf("rcode %s, want REFUSED", mdns.RcodeToString[r.Rcode])
		}
	})
	t.Run("a UDP query longer than a reader takes is FORMERR", func(t *testing.T) {
		m := new(mdns.Msg).SetQuestion("argocd.dev.goldenpathidp.io.", mdns.TypeA)
		m.SetEdns0(1232, false)
		m.IsEdns0().Option = append(m.IsEdns0().Option, &mdns.EDNS0_PADDING{Padding: make([]byte, maxUDPQuery)})
		r, _, err := c.Exchange(m, s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if r.Rcode != mdns.RcodeFormatError || r.Id != m.Id {
			t.Errorf("rcode %s id %d, want FORMERR for id %d", mdns.RcodeToString[r.Rcode], r.Id, m.Id)
		}
		m.IsEdns0().Option = []mdns.EDNS0{&mdns.EDNS0_PADDING{Padding: make([]byte, 468)}} // RFC 8467's block size
		if r, _, err = c.Exchange(m, s.Addr()); err != nil || r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 1 {
			t.Errorf("padded query: %v, %v; want one answer", r, err)
		}
	})
	t.Run("RD and CD are copied", func(t *testing.T) {
		m := new(mdns.Msg).SetQuestion("argocd.dev.goldenpathidp.io.", mdns.TypeA)
		m.RecursionDesired, m.CheckingDisabled = true, true
		r, _, err := c.Exchange(m, s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if !r.RecursionDesired || !r.CheckingDisabled || r.RecursionAvailable {
			t.Errorf("RD=%v CD=%v RA=%v, want RD and CD copied, RA unset", r.RecursionDesired, r.CheckingDisabled, r.RecursionAvailable)
		}
	})
}

func TestServerTruncatesLargeUDPAnswersAndTCPCarriesThem(t *testing.T) {
	var txt []string
	for i := range 12 {
		txt = append(txt, fmt.Sprintf("%03d-%s", i, strings.Repeat("x", 200)))
	}
	s := startServer(t, "", []Record{{Name: "big.goldenpathidp.io", Type: TypeTXT, TTL: 300, Targets: txt}})
	m := new(mdns.Msg).SetQuestion("big.goldenpathidp.io.", mdns.TypeTXT)
	udp := &mdns.Client{Net: "udp", Timeout: 2 * time.Second}
	r, _, err := udp.Exchange(m, s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if !r.Truncated || len(r.Answer) != 0 {
		t.Fatalf("UDP answer TC=%v with %d records, want TC and no records", r.Truncated, len(r.Answer))
	}
	tcp := &mdns.Client{Net: "tcp", Timeout: 2 * time.Second}
	r, _, err = tcp.Exchange(m, s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if r.Truncated || len(r.Answer) != len(txt) {
		t.Fatalf("TCP answer TC=%v with %d records, want all %d", r.Truncated, len(r.Answer), len(txt))
	}
}

func TestServerServesChangesAtOnce(t *testing.T) {
	s := startServer(t, "", testRecords())
	before := s.Serial(testZone)
	old := Record{Name: "argocd.dev.goldenpathidp.io", Type: TypeA, TTL: 300, Targets: []string{"10.0.0.1"}}
	nw := Record{Name: "argocd.dev.goldenpathidp.io", Type: TypeA, TTL: 300, Targets: []string{"10.9.9.9"}}
	plan := Plan{Zone: testZone,
		Update: []Update{{Old: old, New: nw}},
		Create: []Record{{Name: "new.dev.goldenpathidp.io", Type: TypeA, TTL: 300, Targets: []string{"10.8.8.8"}}},
		Delete: []Record{{Name: "v6.dev.goldenpathidp.io", Type: TypeAAAA, TTL: 300, Targets: []string{"2001:db8::1"}}},
	}
	if err := s.ApplyChanges(context.Background(), testZone, plan); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		qname string
		qtype uint16
		want  []string
	}{
		{"argocd.dev.goldenpathidp.io.", mdns.TypeA, []string{"argocd.dev.goldenpathidp.io. A 10.9.9.9"}},
		{"new.dev.goldenpathidp.io.", mdns.TypeA, []string{"new.dev.goldenpathidp.io. A 10.8.8.8"}},
		// deleted: the dev wildcard answers for it now
		{"v6.dev.goldenpathidp.io.", mdns.TypeAAAA, []string{"v6.dev.goldenpathidp.io. CNAME kong-dev.elb.example.com."}},
	}
	for _, c := range checks {
		r := exchange(t, s.Addr(), "udp", c.qname, c.qtype, false)
		if got := rrs(r.Answer); !slices.Equal(got, c.want) {
			t.Errorf("%s after the change: got %q, want %q", c.qname, got, c.want)
		}
	}
	r := exchange(t, s.Addr(), "udp", "goldenpathidp.io.", mdns.TypeSOA, false)
	if got := r.Answer[0].(*mdns.SOA).Serial; got != before+1 {
		t.Errorf("SOA serial %d after one change, want %d", got, before+1)
	}
}

func TestServerRefusesBadChangesWhole(t *testing.T) {
	s := startServer(t, "", testRecords())
	before := s.Serial(testZone)
	ok := Record{Name: "fine.goldenpathidp.io", Type: TypeA, TTL: 300, Targets: []string{"10.1.1.1"}}
	tests := []struct {
		name string
		plan Plan
		want string
	}{
		{"create over an existing record", Plan{Create: []Record{ok, {Name: "argocd.dev.goldenpathidp.io", Type: TypeA, TTL: 300, Targets: []string{"10.0.0.2"}}}},
			"already exists"},
		{"delete of a record that is not there", Plan{Create: []Record{ok}, Delete: []Record{{Name: "ghost.goldenpathidp.io", Type: TypeA, TTL: 300, Targets: []string{"10.0.0.2"}}}},
			"no such record set"},
		{"update of a record changed since planning", Plan{Update: []Update{{
			Old: Record{Name: "argocd.dev.goldenpathidp.io", Type: TypeA, TTL: 300, Targets: []string{"10.7.7.7"}},
			New: Record{Name: "argocd.dev.goldenpathidp.io", Type: TypeA, TTL: 300, Targets: []string{"10.0.0.3"}}}}},
			"changed since the plan was made"},
		{"CNAME beside other data", Plan{Create: []Record{{Name: "web.goldenpathidp.io", Type: TypeCNAME, TTL: 300, Targets: []string{"x.example.com"}}}},
			"CNAME cannot sit beside other data"},
		{"the server's own SOA", Plan{Delete: []Record{{Name: "goldenpathidp.io", Type: TypeSOA, TTL: 3600, Targets: []string{"x"}}}},
			"belong to the server"},
		{"a record outside the zone", Plan{Create: []Record{{Name: "web.example.com", Type: TypeA, TTL: 300, Targets: []string{"10.0.0.1"}}}},
			"outside the zone"},
		{"a plan for another zone", Plan{Zone: "example.com", Create: []Record{ok}}, "not \"goldenpathidp.io\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.ApplyChanges(context.Background(), testZone, tt.plan)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
			if got := s.Serial(testZone); got != before {
				t.Errorf("serial moved to %d after a refused plan, want %d", got, before)
			}
			r := exchange(t, s.Addr(), "udp", "fine.goldenpathidp.io.", mdns.TypeA, false)
			if rrs(r.Answer)[0] != "fine.goldenpathidp.io. A 10.0.2.1" { // the apex wildcard, not the refused record
				t.Errorf("part of a refused plan is served: %v", r.Answer)
			}
		})
	}
}

func TestServerPersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, testRecords())
	serial := s.Serial(testZone)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := startServer(t, dir, nil)
	if got := s2.Serial(testZone); got != serial {
		t.Errorf("serial after restart %d, want %d", got, serial)
	}
	r := exchange(t, s2.Addr(), "udp", "argocd.dev.goldenpathidp.io.", mdns.TypeA, false)
	if got := rrs(r.Answer); !slices.Equal(got, []string{"argocd.dev.goldenpathidp.io. A 10.0.0.1"}) {
		t.Errorf("after restart got %q, want the record applied before", got)
	}
	recs, err := s2.Records(context.Background(), testZone)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(recs), len(testRecords())+2; got != want {
		t.Errorf("Records after restart: %d record sets, want %d (SOA, NS and the zone's)", got, want)
	}
}

// TestServerChangesUnderLoad applies changes while clients query; with -race it checks that readers never
// see a snapshot being built, and every answer is one of the two complete states.
func TestServerChangesUnderLoad(t *testing.T) {
	s := startServer(t, "", testRecords())
	a := Record{Name: "flip.goldenpathidp.io", Type: TypeA, TTL: 300, Targets: []string{"10.0.0.1"}}
	b := a
	b.Targets = []string{"10.0.0.2"}
	if err := s.ApplyChanges(context.Background(), testZone, Plan{Create: []Record{a}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for range 4 {
		wg.Go(func() {
			c := &mdns.Client{Net: "udp", Timeout: time.Second}
			for ctx.Err() == nil {
				m := new(mdns.Msg).SetQuestion("flip.goldenpathidp.io.", mdns.TypeA)
				r, _, err := c.Exchange(m, s.Addr())
				if err != nil {
					continue
				}
				if got := rrs(r.Answer); len(got) != 1 {
					errs <- fmt.Sprintf("answer %q, want exactly one address", got)
					return
				}
			}
		})
	}
	for i := 0; ctx.Err() == nil; i++ {
		from, to := a, b
		if i%2 == 1 {
			from, to = b, a
		}
		if err := s.ApplyChanges(context.Background(), testZone, Plan{Update: []Update{{Old: from, New: to}}}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestServerRefersDelegatedSubzones(t *testing.T) {
	s := startServer(t, "", []Record{
		{Name: "team.goldenpathidp.io", Type: TypeNS, TTL: 300, Targets: []string{"ns1.team.goldenpathidp.io", "ns.example.net"}},
		{Name: "ns1.team.goldenpathidp.io", Type: TypeA, TTL: 300, Targets: []string{"10.0.0.53"}},
		{Name: "*.goldenpathidp.io", Type: TypeA, TTL: 300, Targets: []string{"10.0.2.1"}},
	})
	for _, q := range []string{"team.goldenpathidp.io.", "www.team.goldenpathidp.io.", "ns1.team.goldenpathidp.io."} {
		r := exchange(t, s.Addr(), "udp", q, mdns.TypeA, false)
		want := []string{"team.goldenpathidp.io. NS ns.example.net.", "team.goldenpathidp.io. NS ns1.team.goldenpathidp.io."}
		if r.Rcode != mdns.RcodeSuccess || r.Authoritative || len(r.Answer) != 0 || !slices.Equal(rrs(r.Ns), want) {
			t.Errorf("%s: rcode %s AA=%v answer %v authority %q; want a referral: NOERROR, no AA, the NS records", q,
				mdns.RcodeToString[r.Rcode], r.Authoritative, r.Answer, rrs(r.Ns))
		}
		if got := rrs(r.Extra); !slices.Equal(got, []string{"ns1.team.goldenpathidp.io. A 10.0.0.53"}) {
			t.Errorf("%s: glue %q, want the in-zone name server's address", q, got)
		}
	}
}

func TestServerZoneFiles(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, testRecords())
	s.Close()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != testZone+".json" {
		t.Errorf("data dir holds %v, want only %s.json (no temporary files left behind)", entries, testZone)
	}
	if err := os.WriteFile(filepath.Join(dir, testZone+".json"), []byte(`{"zone": "goldenpathidp.io", "records": [{"name": "x.example.com", "type": "A", "ttl": 1, "targets": ["10.0.0.1"]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = NewServer(context.Background(), ServerConfig{Dir: dir, Zones: []string{testZone}})
	if err == nil || !strings.Contains(err.Error(), "goldenpathidp.io.json") || !strings.Contains(err.Error(), "outside the zone") {
		t.Errorf("a zone file with a record outside the zone: got %v, want an error naming the file and the record", err)
	}
	if _, err := NewServer(context.Background(), ServerConfig{Zones: nil}); err == nil || !strings.Contains(err.Error(), "at least one zone") {
		t.Errorf("no zones: got %v, want an error saying a zone is required", err)
	}
}

func TestServerRefusesATakenPort(t *testing.T) {
	s := startServer(t, "", nil)
	_, err := NewServer(context.Background(), ServerConfig{Addr: s.Addr(), Zones: []string{testZone}})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("a second server on %s: got %v, want address already in use", s.Addr(), err)
	}
	r := exchange(t, s.Addr(), "udp", "goldenpathidp.io.", mdns.TypeSOA, false)
	if r.Rcode != mdns.RcodeSuccess {
		t.Errorf("the first server stopped answering after the second failed to start: %s", mdns.RcodeToString[r.Rcode])
	}
}

func TestServerOnIPv6Loopback(t *testing.T) {
	s, err := NewServer(context.Background(), ServerConfig{Addr: "[::1]:0", Zones: []string{testZone}})
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	defer s.Close()
	for _, network := range []string{"udp", "tcp"} {
		r := exchange(t, s.Addr(), network, "goldenpathidp.io.", mdns.TypeSOA, false)
		if r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 1 {
			t.Errorf("%s over IPv6: rcode %s, %d answers; want the SOA", network, mdns.RcodeToString[r.Rcode], len(r.Answer))
		}
	}
}
