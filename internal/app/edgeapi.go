package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/goldenpathidp/goldenpath/internal/dns"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/rest"
)

// edgeAPI serves the edge's REST endpoints.
type edgeAPI struct{ a *App }

var _ rest.Edge = edgeAPI{}

// View is the edge now: routes, desired records, problems, the gateway's addresses.
func (e edgeAPI) View(ctx context.Context) (any, error) {
	st, _, _, err := e.a.computeEdge(ctx)
	if err != nil {
		return nil, err
	}
	view := map[string]any{"domain": st.Domain, "routes": st.Routes, "records": st.Records, "problems": st.Problems,
		"dnsProvider": st.cfg.DNS.Provider}
	if e.a.DNS != nil {
		view["dnsServer"] = e.a.DNS.Addr()
	}
	if e.a.Gateway != nil {
		view["gateway"] = map[string]string{"http": e.a.gatewayURL, "https": e.a.gatewayTLSURL}
	}
	return view, nil
}

// provider returns the DNS provider platform.yaml names.
func (e edgeAPI) provider(ctx context.Context, cfg *platform.Config) (dns.Provider, error) {
	switch cfg.DNS.Provider {
	case "embedded":
		if e.a.DNS == nil {
			return nil, problem.New(problem.Precondition, "the embedded DNS server is off (goldenpath was started with --dns-addr off)")
		}
		return e.a.DNS, nil
	case "route53":
		opts := []func(*config.LoadOptions) error{}
		if cfg.DNS.Route53.Region != "" {
			opts = append(opts, config.WithRegion(cfg.DNS.Route53.Region))
		}
		awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return nil, problem.New(problem.Unavailable, "AWS configuration for Route53: %v", err)
		}
		return dns.NewRoute53(route53.NewFromConfig(awsCfg), dns.Route53Config{HostedZoneID: cfg.DNS.Route53.HostedZoneID, Logger: e.a.log}), nil
	case "terraform":
		return terraformState{a: e.a, cfg: cfg}, nil
	}
	return nil, fmt.Errorf("unknown dns.provider %q", cfg.DNS.Provider)
}

// Plan computes the DNS changes for one environment ("" for all).
func (e edgeAPI) Plan(ctx context.Context, env string) (dns.Plan, error) {
	st, _, _, err := e.a.computeEdge(ctx)
	if err != nil {
		return dns.Plan{}, err
	}
	if env != "" {
		if _, ok := st.cfg.Environment(env); !ok {
			return dns.Plan{}, problem.Field("env", "environment %q is not defined (defined: %s)", env, strings.Join(st.cfg.EnvironmentNames(), ", "))
		}
	}
	if st.Records == nil {
		return dns.Plan{}, problem.New(problem.Precondition, "the desired records cannot be computed: %s", strings.Join(st.Problems, "; "))
	}
	p, err := e.provider(ctx, st.cfg)
	if err != nil {
		return dns.Plan{}, err
	}
	current, err := p.Records(ctx, st.Domain)
	if err != nil {
		return dns.Plan{}, problem.New(problem.Unavailable, "reading the zone from %s: %v", st.cfg.DNS.Provider, err)
	}
	plan, err := dns.Calculate(st.Records, current, dnsOptions(st.cfg))
	if err != nil {
		return dns.Plan{}, err
	}
	return onlyEnvironment(plan, env, st.cfg), nil
}

// Apply applies the plan of one environment ("" for all) through the provider.
func (e edgeAPI) Apply(ctx context.Context, env string) (dns.Plan, error) {
	plan, err := e.Plan(ctx, env)
	if err != nil || !plan.HasChanges() {
		return plan, err
	}
	cfg, err := e.a.Requests.Config(ctx)
	if err != nil {
		return plan, err
	}
	p, err := e.provider(ctx, cfg)
	if err != nil {
		return plan, err
	}
	if err := p.ApplyChanges(ctx, plan.Zone, plan); err != nil {
		return plan, problem.New(problem.Unavailable, "applying to %s: %v", cfg.DNS.Provider, err)
	}
	return plan, nil
}

// CACert is the dev gateway's root certificate (PEM).
func (e edgeAPI) CACert() []byte {
	if e.a.Gateway == nil {
		return nil
	}
	return e.a.Gateway.CACertPEM()
}

// onlyEnvironment keeps the changes to records of one environment: by the record's Environment when it has
// one, else by the environment's DNS suffix.
func onlyEnvironment(p dns.Plan, env string, cfg *platform.Config) dns.Plan {
	if env == "" {
		return p
	}
	in := func(r dns.Record) bool {
		if r.Environment != "" {
			return r.Environment == env
		}
		return belongsTo(r.Name, env, cfg)
	}
	out := dns.Plan{Zone: p.Zone, OwnerID: p.OwnerID, Policy: p.Policy}
	for _, r := range p.Create {
		if in(r) {
			out.Create = append(out.Create, r)
		}
	}
	for _, u := range p.Update {
		if in(u.New) || in(u.Old) {
			out.Update = append(out.Update, u)
		}
	}
	for _, r := range p.Delete {
		if in(r) {
			out.Delete = append(out.Delete, r)
		}
	}
	for _, c := range p.Conflicts {
		if in(c.Record) {
			out.Conflicts = append(out.Conflicts, c)
		}
	}
	return out
}

// belongsTo tells whether a name lies under an environment's suffix rather than under a longer suffix of
// another environment (prod's suffix is the bare domain, which every other environment's names end with).
func belongsTo(name, env string, cfg *platform.Config) bool {
	best, bestLen := "", -1
	for _, e := range cfg.EnvironmentNames() {
		suffix := cfg.EnvironmentDomain(e)
		if (name == suffix || strings.HasSuffix(name, "."+suffix)) && len(suffix) > bestLen {
			best, bestLen = e, len(suffix)
		}
	}
	return best == env
}

// terraformState is the Terraform provider over the platform repository: the records are the rendered
// envs/<env>/route53.tf files on main, and applying means rendering them (the platform team's CI runs
// terraform apply).
type terraformState struct {
	a   *App
	cfg *platform.Config
}

func (t terraformState) Records(ctx context.Context, zone string) ([]dns.Record, error) {
	files, err := t.a.Platform.ReadTree(ctx, "main", "envs")
	if err != nil {
		return nil, err
	}
	var out []dns.Record
	for _, f := range files {
		if !strings.HasSuffix(f.Path, "/route53.tf") {
			continue
		}
		recs, err := dns.ParseTerraformEnv(f.Path, f.Content)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			out = append(out, r, dns.Record{Name: dns.OwnershipName(r.Name, r.Type, zone), Type: dns.TypeTXT,
				Targets: []string{"heritage=external-dns,external-dns/owner=" + t.cfg.DNS.OwnerID}})
		}
	}
	return out, nil
}

func (t terraformState) ApplyChanges(ctx context.Context, _ string, _ dns.Plan) error {
	return t.a.syncEdge(ctx)
}
