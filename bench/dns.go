package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/goldenpathidp/goldenpath/internal/dns"
	"github.com/goldenpathidp/goldenpath/internal/platform"
)

const (
	dnsZone     = "goldenpathidp.io"
	dnsApps     = 1000
	dnsDuration = 10 // seconds of load per server
	dnsClients  = 10 // dnsperf -c
	dnsQueries  = 30000
	dnsRounds   = 2
)

// dnsServing loads the embedded DNS server and Knot with the same zone (the seed plan's records and 1,000 app
// hosts, with ownership records) and the same dnsperf run, and prints both rates side by side.
func dnsServing(ctx context.Context) error {
	fmt.Printf("DNS: embedded server vs Knot, zone %s (seed plan + %d app hosts), dnsperf -c %d -q 200 -l %d, %s/%s, %d CPUs\n",
		dnsZone, dnsApps, dnsClients, dnsDuration, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	dir, err := os.MkdirTemp("", "goldenpath-dns-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, queries, err := dnsEmbedded(ctx, dir)
	if err != nil {
		return err
	}
	defer srv.Close()
	queryFile := filepath.Join(dir, "queries.txt")
	if err := os.WriteFile(queryFile, []byte(strings.Join(queries, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	if _, err := exec.LookPath("dnsperf"); err != nil {
		fmt.Println("  dnsperf is not installed: apt-get install -y dnsperf (skipping the load test)")
		return nil
	}
	knot, stopKnot, err := startKnot(ctx, dir, srv)
	if err != nil {
		fmt.Printf("  Knot: %v (measuring the embedded server alone)\n", err)
	} else {
		defer stopKnot()
		if diff := compareAnswers(srv.Addr(), knot, queries); diff != "" {
			fmt.Printf("  answers differ from Knot's: %s\n", diff)
		} else {
			fmt.Printf("  answers: the same as Knot's for all %d distinct queries (rcode, AA, answer and authority)\n", len(uniq(queries)))
		}
	}
	// Alternate the two servers and keep each one's best round: the load generator shares the machine's
	// CPUs with the server under test, and anything else running shows up as noise in a single round.
	var best, bestKnot float64
	for round := 1; round <= dnsRounds; round++ {
		e, err := dnsperf(ctx, srv.Addr(), queryFile)
		if err != nil {
			return fmt.Errorf("dnsperf against the embedded server: %w", err)
		}
		best = max(best, e)
		line := fmt.Sprintf("  round %d: embedded %8.0f qps", round, e)
		if knot != "" {
			k, err := dnsperf(ctx, knot, queryFile)
			if err != nil {
				return fmt.Errorf("dnsperf against knotd: %w", err)
			}
			bestKnot = max(bestKnot, k)
			line += fmt.Sprintf("   knotd %8.0f qps", k)
		}
		fmt.Println(line)
	}
	fmt.Printf("  embedded (goldenpath): %8.0f qps (best of %d)\n", best, dnsRounds)
	if knot != "" {
		fmt.Printf("  knotd %s:         %8.0f qps (best of %d)\n", knotVersion(ctx), bestKnot, dnsRounds)
		fmt.Printf("  ratio embedded/Knot:   %8.2f  (target >= 0.60)\n", best/bestKnot)
	}
	fmt.Println()
	return nil
}

// dnsEmbedded starts the embedded server with the platform's desired records applied through a plan, and
// returns the query mix: existing names, wildcard hits and NXDOMAINs.
func dnsEmbedded(ctx context.Context, dir string) (*dns.Server, []string, error) {
	cfg, err := platform.Parse("platform.yaml", platform.DefaultYAML(dnsZone))
	if err != nil {
		return nil, nil, err
	}
	gateways := map[string]string{"dev": "kong-dev-123.eu-west-1.elb.amazonaws.com", "staging": "203.0.113.10", "prod": "203.0.113.20"}
	for i := range cfg.Environments {
		cfg.Environments[i].Gateway.Address = gateways[cfg.Environments[i].Name]
	}
	envs := cfg.EnvironmentNames()
	var routes []dns.Route
	for i := range dnsApps {
		env := envs[i%len(envs)]
		name := fmt.Sprintf("app%04d", i)
		routes = append(routes, dns.Route{Name: name, Environment: env, Host: name + "." + cfg.EnvironmentDomain(env)})
	}
	desired, err := dns.DesiredFromPlatform(cfg, routes, "127.0.0.1")
	if err != nil {
		return nil, nil, err
	}
	srv, err := dns.NewServer(ctx, dns.ServerConfig{Addr: "127.0.0.1:0", Dir: filepath.Join(dir, "embedded"), Zones: []string{dnsZone}})
	if err != nil {
		return nil, nil, err
	}
	if _, err := dns.Sync(ctx, srv, desired, dns.Options{Zone: dnsZone, OwnerID: "goldenpath", Policy: dns.PolicySync}); err != nil {
		srv.Close()
		return nil, nil, err
	}
	return srv, queryMix(cfg, routes), nil
}

// queryMix is half existing names (app and tool hosts, ownership TXT records), a third wildcard hits and the
// rest NXDOMAINs (names below an app host, where no wildcard reaches), in a fixed pseudo-random order.
func queryMix(cfg *platform.Config, routes []dns.Route) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	envs := cfg.EnvironmentNames()
	var qs []string
	for range dnsQueries {
		r := routes[rng.IntN(len(routes))]
		switch p := rng.IntN(6); {
		case p < 2:
			qs = append(qs, r.Host+" A")
		case p == 2:
			if rng.IntN(2) == 0 {
				qs = append(qs, "a-"+r.Host+" TXT")
			} else {
				t := cfg.Tooling[rng.IntN(len(cfg.Tooling))]
				qs = append(qs, t.Host+" A")
			}
		case p < 5:
			env := envs[rng.IntN(len(envs))]
			qs = append(qs, fmt.Sprintf("pr-%d.%s A", rng.IntN(100000), cfg.EnvironmentDomain(env)))
		default:
			qs = append(qs, fmt.Sprintf("nope%d.%s A", rng.IntN(1000), r.Host))
		}
	}
	return qs
}

var qpsLine = regexp.MustCompile(`Queries per second:\s+([0-9.]+)`)

func dnsperf(ctx context.Context, addr, queryFile string) (float64, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	out, err := exec.CommandContext(ctx, "dnsperf", "-s", host, "-p", port, "-d", queryFile,
		"-l", strconv.Itoa(dnsDuration), "-c", strconv.Itoa(dnsClients), "-q", "200").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%v\n%s", err, out)
	}
	m := qpsLine.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no 'Queries per second' in dnsperf's output:\n%s", out)
	}
	if lost := regexp.MustCompile(`Queries lost:\s+(\d+)`).FindSubmatch(out); lost != nil && string(lost[1]) != "0" {
		fmt.Printf("  (dnsperf lost %s queries against %s)\n", lost[1], addr)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// startKnot serves the embedded server's zone from knotd on a free loopback port.
func startKnot(ctx context.Context, dir string, srv *dns.Server) (string, func(), error) {
	if _, err := exec.LookPath("knotd"); err != nil {
		return "", nil, errors.New("knotd is not installed: apt-get install -y knot")
	}
	kdir := filepath.Join(dir, "knot")
	if err := os.MkdirAll(kdir, 0o755); err != nil {
		return "", nil, err
	}
	records, err := srv.Records(ctx, dnsZone)
	if err != nil {
		return "", nil, err
	}
	var zone bytes.Buffer
	if err := dns.WriteZoneFile(&zone, dnsZone, records); err != nil {
		return "", nil, err
	}
	if err := os.WriteFile(filepath.Join(kdir, dnsZone+".zone"), zone.Bytes(), 0o644); err != nil {
		return "", nil, err
	}
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	conf := fmt.Sprintf(`server:
    listen: 127.0.0.1@%d
    rundir: %q
database:
    storage: %q
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: %q
    file: "%%s.zone"
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: %s
`, port, kdir, kdir, kdir, dnsZone)
	confPath := filepath.Join(kdir, "knot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, "knotd", "-c", confPath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitDNS(addr); err != nil {
		stop()
		return "", nil, fmt.Errorf("knotd did not answer: %v\n%s", err, stderr.String())
	}
	return addr, stop, nil
}

func knotVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "knotd", "--version").Output()
	if err != nil {
		return ""
	}
	f := strings.Fields(string(out))
	return f[len(f)-1]
}

func freePort() (int, error) {
	l, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.LocalAddr().(*net.UDPAddr).Port, nil
}

func waitDNS(addr string) error {
	c := &mdns.Client{Timeout: 200 * time.Millisecond}
	var err error
	for range 50 {
		m := new(mdns.Msg).SetQuestion(dnsZone+".", mdns.TypeSOA)
		var r *mdns.Msg
		if r, _, err = c.Exchange(m, addr); err == nil && r.Rcode == mdns.RcodeSuccess {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// compareAnswers asks both servers every distinct query and reports the first difference in rcode, AA or
// sections (records compared without order and with names in lower case).
func compareAnswers(a, b string, queries []string) string {
	c := &mdns.Client{Timeout: time.Second}
	for _, q := range uniq(queries) {
		name, typ, _ := strings.Cut(q, " ")
		m := new(mdns.Msg).SetQuestion(mdns.Fqdn(name), mdns.StringToType[typ])
		ra, _, errA := c.Exchange(m, a)
		rb, _, errB := c.Exchange(m, b)
		if errA != nil || errB != nil {
			return fmt.Sprintf("%s: %v / %v", q, errA, errB)
		}
		if sa, sb := summary(ra), summary(rb); sa != sb {
			return fmt.Sprintf("%s:\n    embedded %s\n    knot     %s", q, sa, sb)
		}
	}
	return ""
}

func summary(r *mdns.Msg) string {
	section := func(rrs []mdns.RR) string {
		var s []string
		for _, rr := range rrs {
			s = append(s, strings.ToLower(rr.String()))
		}
		slices.Sort(s)
		return strings.Join(s, " | ")
	}
	return fmt.Sprintf("%s aa=%v an=[%s] ns=[%s]", mdns.RcodeToString[r.Rcode], r.Authoritative, section(r.Answer), section(r.Ns))
}

func uniq(qs []string) []string {
	s := slices.Clone(qs)
	slices.Sort(s)
	return slices.Compact(s)
}
