package dns

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	mdns "github.com/miekg/dns"
)

// ServerConfig configures the embedded authoritative server.
type ServerConfig struct {
	Addr        string       // host:port for UDP and TCP alike; port 0 picks a free one (see Server.Addr); default 127.0.0.1:0
	Dir         string       // where each zone's records persist (<dir>/<zone>.json); "" keeps them in memory only
	Zones       []string     // the zones served, e.g. goldenpathidp.io
	NameServers []string     // the apex NS records of every zone; default ns1.<zone>
	Logger      *slog.Logger // nil discards
	// MaxTCPConns bounds the open TCP connections (default 512), MaxTCPConnsPerClient those from one client
	// IP address (default 16). A connection over either limit is closed as soon as it is accepted.
	MaxTCPConns          int
	MaxTCPConnsPerClient int
}

// Server is the embedded DNS provider: an authoritative server for its zones over UDP and TCP whose records
// change through ApplyChanges, live. Every change is written to disk first, then swapped in as a whole new
// compiled snapshot, so a query sees either all of a plan or none of it.
type Server struct {
	log     *slog.Logger
	dir     string
	nsHosts []string
	snap    atomic.Pointer[snapshot]

	mu    sync.Mutex // serialises changes; readers never take it
	zones map[string]*zoneState

	udp    []*net.UDPConn // one socket per reader, sharing the port (SO_REUSEPORT where there is one)
	tcp    net.Listener
	wg     sync.WaitGroup
	closed atomic.Bool
	connMu sync.Mutex
	conns  map[net.Conn]struct{}
	tcpMax int            // see ServerConfig.MaxTCPConns
	perMax int            // see ServerConfig.MaxTCPConnsPerClient
	peers  map[string]int // open TCP connections per client IP, under connMu
	stop   func() bool
}

var _ Provider = (*Server)(nil)

// zoneState is one zone's records as persisted.
type zoneState struct {
	Zone    string   `json:"zone"`
	Serial  uint32   `json:"serial"`
	Records []Record `json:"records"`
}

// NewServer loads the zones' records from cfg.Dir and starts answering on cfg.Addr. It stops when ctx is done
// or Close is called.
func NewServer(ctx context.Context, cfg ServerConfig) (*Server, error) {
	s := &Server{log: cfg.Logger, dir: cfg.Dir, nsHosts: cfg.NameServers, zones: map[string]*zoneState{}, conns: map[net.Conn]struct{}{},
		tcpMax: cmp.Or(cfg.MaxTCPConns, maxTCPConns), perMax: cmp.Or(cfg.MaxTCPConnsPerClient, maxTCPConnsPerClient), peers: map[string]int{}}
	if s.tcpMax < 0 || s.perMax < 0 {
		return nil, errors.New("dns server: MaxTCPConns and MaxTCPConnsPerClient must not be negative")
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "dns")
	if err := s.load(cfg.Zones); err != nil {
		return nil, err
	}
	snap, err := s.build(nil)
	if err != nil {
		return nil, err
	}
	s.snap.Store(snap)
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := s.listen(ctx, addr); err != nil {
		return nil, err
	}
	s.serve()
	s.stop = context.AfterFunc(ctx, func() { _ = s.Close() })
	s.log.Info("dns server started", "addr", s.Addr(), "zones", cfg.Zones)
	return s, nil
}

func (s *Server) load(zones []string) error {
	if len(zones) == 0 {
		return errors.New("dns server: at least one zone is required")
	}
	for _, z := range zones {
		z = normalizeName(z)
		if why := checkName(z); why != "" {
			return fmt.Errorf("dns server: zone %q %s", z, why)
		}
		st, err := loadZone(s.dir, z)
		if err != nil {
			return err
		}
		s.zones[z] = st
	}
	return nil
}

// build compiles a snapshot of every zone, with next standing in for its zone when given.
func (s *Server) build(next *zoneState) (*snapshot, error) {
	var content []zoneContent
	for _, name := range slices.Sorted(maps.Keys(s.zones)) {
		z := s.zones[name]
		if next != nil && next.Zone == name {
			z = next
		}
		content = append(content, zoneContent{apex: name, soa: s.soa(z), ns: s.nameServers(name), records: z.Records})
	}
	return buildSnapshot(content)
}

func (s *Server) nameServers(zone string) []string {
	if len(s.nsHosts) > 0 {
		return s.nsHosts
	}
	return []string{"ns1." + zone}
}

// soa is the zone's start of authority; its serial goes up with every change, and its minimum (60 s) is the
// negative-caching TTL, kept short because records change while developers wait.
func (s *Server) soa(z *zoneState) *mdns.SOA {
	apex := mdns.Fqdn(z.Zone)
	return &mdns.SOA{Hdr: hdr(apex, mdns.TypeSOA, 3600), Ns: mdns.Fqdn(s.nameServers(z.Zone)[0]), Mbox: "hostmaster." + apex,
		Serial: z.Serial, Refresh: 3600, Retry: 600, Expire: 1209600, Minttl: 60}
}

// Addr is the address the server answers on (UDP and TCP share the port).
func (s *Server) Addr() string { return s.udp[0].LocalAddr().String() }

// Serial is the zone's current SOA serial (0 for a zone not served).
func (s *Server) Serial(zone string) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if z, ok := s.zones[normalizeName(zone)]; ok {
		return z.Serial
	}
	return 0
}

// Records returns the zone's records, its apex SOA and NS first.
func (s *Server) Records(ctx context.Context, zone string) ([]Record, error) {
	zone = normalizeName(zone)
	s.mu.Lock()
	defer s.mu.Unlock()
	z, ok := s.zones[zone]
	if !ok {
		return nil, fmt.Errorf("zone %q is not served here (served: %v)", zone, slices.Sorted(maps.Keys(s.zones)))
	}
	soa := s.soa(z)
	out := []Record{
		{Name: zone, Type: TypeSOA, TTL: int(soa.Hdr.Ttl), Targets: []string{soaValue(soa)}},
		{Name: zone, Type: TypeNS, TTL: int(soa.Hdr.Ttl), Targets: normalizeAll([]Record{{Type: TypeNS, Targets: s.nameServers(zone)}})[0].Targets},
	}
	return append(out, slices.Clone(z.Records)...), nil
}

func soaValue(soa *mdns.SOA) string {
	return fmt.Sprintf("%s %s %d %d %d %d %d", soa.Ns, soa.Mbox, soa.Serial, soa.Refresh, soa.Retry, soa.Expire, soa.Minttl)
}

// ApplyChanges applies a plan to a zone as one change: it is refused whole if any create finds its record
// set already there, any update or delete finds it gone or changed since the plan was made, it touches the
// apex SOA or NS (the server's own), or the result breaks a rule of Validate. The new records are saved
// before they are served, and the SOA serial goes up by one.
func (s *Server) ApplyChanges(ctx context.Context, zone string, plan Plan) error {
	zone = normalizeName(zone)
	if plan.Zone != "" && normalizeName(plan.Zone) != zone {
		return fmt.Errorf("plan is for zone %q, not %q", plan.Zone, zone)
	}
	if !plan.HasChanges() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	z, ok := s.zones[zone]
	if !ok {
		return fmt.Errorf("zone %q is not served here", zone)
	}
	records, err := applyPlan(z.Records, plan, zone)
	if err != nil {
		return fmt.Errorf("applying plan to %s: %w", zone, err)
	}
	next := &zoneState{Zone: zone, Serial: z.Serial + 1, Records: records}
	snap, err := s.build(next)
	if err != nil {
		return fmt.Errorf("compiling zone %s: %w", zone, err)
	}
	if err := saveZone(ctx, s.dir, next); err != nil {
		return err
	}
	s.zones[zone] = next
	s.snap.Store(snap)
	s.log.Info("dns zone changed", "zone", zone, "serial", next.Serial,
		"created", len(plan.Create), "updated", len(plan.Update), "deleted", len(plan.Delete))
	return nil
}

// listen binds UDP, then TCP on the same port (retrying when port 0 gave a UDP port whose TCP twin is taken),
// then the other readers' UDP sockets on that port.
func (s *Server) listen(ctx context.Context, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("dns server address %q: %w", addr, err)
	}
	lc := net.ListenConfig{Control: reusePort}
	for attempt := 0; ; attempt++ {
		pc, err := lc.ListenPacket(ctx, "udp", addr)
		if err != nil {
			return fmt.Errorf("dns server: listening on udp %s: %w", addr, err)
		}
		udp := pc.(*net.UDPConn)
		bound := net.JoinHostPort(host, strconv.Itoa(udp.LocalAddr().(*net.UDPAddr).Port))
		// TCP binds without SO_REUSEPORT, so a second server on a taken port fails here instead of quietly
		// sharing the port's UDP traffic.
		tcp, err := (&net.ListenConfig{}).Listen(ctx, "tcp", bound)
		if err == nil {
			s.udp, s.tcp = []*net.UDPConn{udp}, tcp
			if err := s.moreUDP(ctx, lc, bound); err != nil {
				_ = s.closeListeners()
				return err
			}
			return nil
		}
		_ = udp.Close()
		if port != "0" || attempt == 9 {
			return fmt.Errorf("dns server: listening on tcp %s: %w", addr, err)
		}
	}
}

// moreUDP opens a socket per further reader; the kernel spreads clients over them, so readers do not queue on
// one socket's lock. Without SO_REUSEPORT the readers share the first socket.
func (s *Server) moreUDP(ctx context.Context, lc net.ListenConfig, addr string) error {
	for len(s.udp) < readers() {
		pc, err := lc.ListenPacket(ctx, "udp", addr)
		if err != nil {
			if !canReusePort {
				return nil
			}
			return fmt.Errorf("dns server: listening on udp %s: %w", addr, err)
		}
		s.udp = append(s.udp, pc.(*net.UDPConn))
	}
	return nil
}

func readers() int { return max(2, runtime.GOMAXPROCS(0)) }

// serve starts one UDP reader per CPU (udp.go) and the TCP acceptor (tcp.go).
func (s *Server) serve() {
	for i := range readers() {
		conn := s.udp[i%len(s.udp)]
		s.wg.Go(func() { s.serveUDP(conn) })
	}
	s.wg.Go(s.acceptTCP)
}

func (s *Server) closeListeners() error {
	errs := []error{s.tcp.Close()}
	for _, c := range s.udp {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Close stops answering and waits for the readers to finish.
func (s *Server) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.stop != nil {
		s.stop()
	}
	err := s.closeListeners()
	s.connMu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.connMu.Unlock()
	s.wg.Wait()
	return err
}
