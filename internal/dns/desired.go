package dns

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/platform"
)

// Route is one host served by an app (or a tool) in an environment; the edge's route table supplies them.
type Route struct {
	Name        string `json:"name"` // the app or tool
	Environment string `json:"environment"`
	Host        string `json:"host"`
}

// DesiredFromPlatform computes the records goldenpath wants in the platform's zone (cfg.Domain), the seed
// plan's table:
//
//   - *.dev.<domain>, *.staging.<domain>, *.<domain> (prod) — one wildcard per environment — to that
//     environment's gateway (resource "gateway/<env>");
//   - each tooling host (argocd|backstage|grafana|keycloak.dev.<domain>) to its environment's gateway
//     (resource "tool/<env>/<name>");
//   - one record per route host to its environment's gateway (resource "route/<env>/<name>"). A route that
//     repeats a tooling entry (same name, environment and host) is that entry, not a second claim.
//
// A gateway address that is an IP gives an A or AAAA record, a host name a CNAME, and a host name with
// gateway.aliasHostedZoneId a Route53 alias A record. An environment without a gateway address points at
// defaultGateway (goldenpath up's dev gateway, 127.0.0.1). A route in an environment that does not exist, or
// with a host outside the domain, is an error, and so is anything Validate refuses (two apps, one host).
func DesiredFromPlatform(cfg *platform.Config, routes []Route, defaultGateway string) ([]Record, error) {
	if cfg == nil || cfg.Domain == "" {
		return nil, errors.New("platform config with a domain is required")
	}
	d := desired{cfg: cfg, defaultGateway: defaultGateway, ttl: cfg.DNS.TTL, tools: map[Route]bool{}}
	if d.ttl <= 0 {
		d.ttl = DefaultTTL
	}
	for _, e := range cfg.Environments {
		d.add("*."+cfg.EnvironmentDomain(e.Name), e.Name, "gateway/"+e.Name, "environment "+e.Name)
	}
	for i, t := range cfg.Tooling {
		host := t.Host
		if host == "" {
			host = t.Name + "." + cfg.EnvironmentDomain(t.Environment)
		}
		d.tools[Route{Name: t.Name, Environment: t.Environment, Host: normalizeName(host)}] = true
		d.add(host, t.Environment, "tool/"+t.Environment+"/"+t.Name, fmt.Sprintf("tooling[%d] (%s)", i, t.Name))
	}
	for i, r := range routes {
		d.route(i, r)
	}
	if err := errors.Join(d.errs...); err != nil {
		return nil, err
	}
	if err := Validate(d.records, cfg.Domain); err != nil {
		return nil, err
	}
	return d.records, nil
}

// desired accumulates DesiredFromPlatform's records and errors.
type desired struct {
	cfg            *platform.Config
	defaultGateway string
	ttl            int
	tools          map[Route]bool
	records        []Record
	errs           []error
}

func (d *desired) route(i int, r Route) {
	what := fmt.Sprintf("route %d (%s in %s, host %q)", i, r.Name, r.Environment, r.Host)
	host := normalizeName(r.Host)
	switch {
	case r.Name == "":
		d.errs = append(d.errs, fmt.Errorf("%s: the app or tool name is empty", what))
	case !inZone(host, normalizeName(d.cfg.Domain)) || host == "":
		d.errs = append(d.errs, fmt.Errorf("%s: host is outside the platform domain %s", what, d.cfg.Domain))
	case d.tools[Route{Name: r.Name, Environment: r.Environment, Host: host}]:
		// the tooling entry already wants this record
	default:
		d.add(host, r.Environment, "route/"+r.Environment+"/"+r.Name, what)
	}
}

// add appends the record that points name at env's gateway.
func (d *desired) add(name, env, resource, what string) {
	e, ok := d.cfg.Environment(env)
	if !ok {
		d.errs = append(d.errs, fmt.Errorf("%s: environment %q is not defined in platform.yaml (defined: %s)",
			what, env, strings.Join(d.cfg.EnvironmentNames(), ", ")))
		return
	}
	r, err := gatewayRecord(e.Gateway, d.defaultGateway)
	if err != nil {
		d.errs = append(d.errs, fmt.Errorf("%s: environment %s: %w", what, env, err))
		return
	}
	r.Name, r.Resource, r.Environment = normalizeName(name), resource, env
	if r.Alias == nil {
		r.TTL = d.ttl
	}
	d.records = append(d.records, r)
}

// gatewayRecord is the record value that sends traffic to gw: A/AAAA for an IP, CNAME for a host name, a
// Route53 alias when the load balancer's hosted zone is known.
func gatewayRecord(gw platform.Gateway, fallback string) (Record, error) {
	addr := strings.TrimSpace(gw.Address)
	if addr == "" {
		addr = fallback
	}
	if addr == "" {
		return Record{}, errors.New("gateway.address is empty and there is no default gateway")
	}
	ip, ipErr := netip.ParseAddr(addr)
	switch {
	case gw.AliasHostedZoneID != "" && ipErr == nil:
		return Record{}, fmt.Errorf("gateway.aliasHostedZoneId is set but gateway.address %q is an IP; an alias needs the load balancer's host name", addr)
	case gw.AliasHostedZoneID != "":
		return Record{Type: TypeA, Alias: &Alias{HostedZoneID: gw.AliasHostedZoneID, DNSName: normalizeName(addr), EvaluateTargetHealth: true}}, nil
	case ipErr == nil && ip.Is4():
		return Record{Type: TypeA, Targets: []string{ip.String()}}, nil
	case ipErr == nil:
		return Record{Type: TypeAAAA, Targets: []string{ip.String()}}, nil
	}
	if why := checkName(normalizeName(addr)); why != "" {
		return Record{}, fmt.Errorf("gateway.address %q is neither an IP nor a host name: %s", addr, why)
	}
	return Record{Type: TypeCNAME, Targets: []string{normalizeName(addr)}}, nil
}
