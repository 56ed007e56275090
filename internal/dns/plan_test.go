package dns

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/platform"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/<name>, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", filepath.FromSlash(name))
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// seedPlatform is the default platform.yaml with a gateway per environment, one of each kind: a load balancer
// with its Route53 zone (alias), a host name (CNAME) and an IP (A).
func seedPlatform(t *testing.T) *platform.Config {
	t.Helper()
	cfg, err := platform.Parse("platform.yaml", platform.DefaultYAML("goldenpathidp.io"))
	if err != nil {
		t.Fatal(err)
	}
	gw := map[string]platform.Gateway{
		"dev":     {Address: "kong-dev-1234.eu-west-1.elb.amazonaws.com", AliasHostedZoneID: "Z32O12XQLNTSW2"},
		"staging": {Address: "kong-staging-5678.eu-west-1.elb.amazonaws.com"},
		"prod":    {Address: "203.0.113.20"},
	}
	for i, e := range cfg.Environments {
		cfg.Environments[i].Gateway = gw[e.Name]
	}
	return cfg
}

func seedRoutes() []Route {
	return []Route{
		{Name: "orders", Environment: "dev", Host: "orders.dev.goldenpathidp.io"},
		{Name: "orders", Environment: "prod", Host: "orders.goldenpathidp.io"},
		{Name: "shop", Environment: "staging", Host: "Shop.Staging.GoldenPathIDP.io."},
		{Name: "argocd", Environment: "dev", Host: "argocd.dev.goldenpathidp.io"}, // the tooling entry itself
	}
}

// apex is what every zone has before goldenpath writes to it.
func apex() []Record {
	return []Record{
		{Name: "goldenpathidp.io", Type: TypeSOA, TTL: 900, Targets: []string{"ns-1.awsdns-01.org. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}},
		{Name: "goldenpathidp.io", Type: TypeNS, TTL: 172800, Targets: []string{"ns-1.awsdns-01.org", "ns-2.awsdns-02.com"}},
	}
}

func TestDesiredFromPlatformSeedTable(t *testing.T) {
	desired, err := DesiredFromPlatform(seedPlatform(t), seedRoutes(), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range desired {
		b.WriteString(r.String() + "  [" + r.Resource + ", " + r.Environment + "]\n")
	}
	golden(t, "desired/seed.txt", []byte(b.String()))

	plan, err := Calculate(desired, apex(), Options{Zone: "goldenpathidp.io", OwnerID: "goldenpath", Policy: PolicySync})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "plans/seed.txt", []byte(plan.String()))
	if len(plan.Create) != 2*len(desired) || plan.HasChanges() && (len(plan.Update)+len(plan.Delete)+len(plan.Conflicts)) > 0 {
		t.Errorf("an empty zone's plan: %d creates, %d updates, %d deletes, %d conflicts; want %d creates only",
			len(plan.Create), len(plan.Update), len(plan.Delete), len(plan.Conflicts), 2*len(desired))
	}
}

func TestDesiredFromPlatformDefaultGateway(t *testing.T) {
	cfg := seedPlatform(t)
	cfg.Environments[0].Gateway = platform.Gateway{} // dev without a load balancer: goldenpath up's dev gateway
	desired, err := DesiredFromPlatform(cfg, nil, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range desired {
		if r.Environment == "dev" && (r.Type != TypeA || len(r.Targets) != 1 || r.Targets[0] != "127.0.0.1") {
			t.Errorf("%s: got %s, want an A record to the default gateway 127.0.0.1", r.Name, r)
		}
	}
	if _, err := DesiredFromPlatform(cfg, nil, ""); err == nil || !strings.Contains(err.Error(), "no default gateway") {
		t.Errorf("no address anywhere: got %v, want an error saying so", err)
	}
}

func TestDesiredFromPlatformRefusesBadRoutes(t *testing.T) {
	tests := []struct {
		name   string
		routes []Route
		want   string
	}{
		{"unknown environment", []Route{{Name: "orders", Environment: "qa", Host: "orders.qa.goldenpathidp.io"}},
			`route 0 (orders in qa, host "orders.qa.goldenpathidp.io"): environment "qa" is not defined in platform.yaml (defined: dev, staging, prod)`},
		{"host outside the domain", []Route{{Name: "orders", Environment: "dev", Host: "orders.example.com"}},
			"host is outside the platform domain goldenpathidp.io"},
		{"two apps, one host", []Route{{Name: "orders", Environment: "dev", Host: "api.dev.goldenpathidp.io"}, {Name: "billing", Environment: "dev", Host: "api.dev.goldenpathidp.io"}},
			"record api.dev.goldenpathidp.io A: is listed twice: claimed by both route/dev/orders and route/dev/billing"},
		{"an app on a tool's host", []Route{{Name: "orders", Environment: "dev", Host: "grafana.dev.goldenpathidp.io"}},
			"claimed by both tool/dev/grafana and route/dev/orders"},
		{"an app on the environment wildcard", []Route{{Name: "orders", Environment: "staging", Host: "*.staging.goldenpathidp.io"}},
			"claimed by both gateway/staging and route/staging/orders"},
		{"no name", []Route{{Environment: "dev", Host: "x.dev.goldenpathidp.io"}}, "the app or tool name is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DesiredFromPlatform(seedPlatform(t), tt.routes, "127.0.0.1")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v\nwant one containing %q", err, tt.want)
			}
		})
	}
	cfg := seedPlatform(t)
	cfg.Environments[2].Gateway = platform.Gateway{Address: "203.0.113.20", AliasHostedZoneID: "Z1"}
	if _, err := DesiredFromPlatform(cfg, nil, "127.0.0.1"); err == nil || !strings.Contains(err.Error(), "alias needs the load balancer's host name") {
		t.Errorf("alias to an IP: got %v, want an error", err)
	}
}

func TestValidateRefusesBadRecords(t *testing.T) {
	a := func(name string) Record {
		return Record{Name: name, Type: TypeA, TTL: 300, Targets: []string{"10.0.0.1"}}
	}
	cname := func(name, target, res string) Record {
		return Record{Name: name, Type: TypeCNAME, TTL: 300, Targets: []string{target}, Resource: res}
	}
	tests := []struct {
		name    string
		records []Record
		want    string
	}{
		{"outside the zone", []Record{a("web.example.com")}, "record web.example.com A: is outside the zone goldenpathidp.io"},
		{"a suffix is not a subdomain", []Record{a("evilgoldenpathidp.io")}, "is outside the zone"},
		{"CNAME beside other data", []Record{a("web.goldenpathidp.io"), cname("web.goldenpathidp.io", "x.example.com", "")},
			"record web.goldenpathidp.io CNAME: a CNAME cannot sit beside other data, and web.goldenpathidp.io also has A"},
		{"two CNAMEs", []Record{cname("web.goldenpathidp.io", "x.example.com", "route/dev/a"), cname("web.goldenpathidp.io", "y.example.com", "route/dev/b")},
			"has two CNAMEs (a name has at most one): claimed by both route/dev/a and route/dev/b"},
		{"CNAME with two targets", []Record{{Name: "w.goldenpathidp.io", Type: TypeCNAME, TTL: 300, Targets: []string{"a.example.com", "b.example.com"}}},
			"a CNAME has exactly one target, got 2"},
		{"not an IPv4 address", []Record{{Name: "w.goldenpathidp.io", Type: TypeA, TTL: 300, Targets: []string{"2001:db8::1"}}},
			`target "2001:db8::1" is not an IPv4 address`},
		{"no TTL", []Record{{Name: "w.goldenpathidp.io", Type: TypeA, Targets: []string{"10.0.0.1"}}}, "TTL 0 must be between"},
		{"no targets", []Record{{Name: "w.goldenpathidp.io", Type: TypeA, TTL: 300}}, "has no targets"},
		{"wildcard not leftmost", []Record{a("web.*.goldenpathidp.io")}, "'*' label that is not the leftmost"},
		{"label too long", []Record{a(strings.Repeat("x", 64) + ".goldenpathidp.io")}, "is not a valid DNS name"},
		{"unsupported type", []Record{{Name: "w.goldenpathidp.io", Type: "SRV", TTL: 300, Targets: []string{"x"}}}, "type SRV is not supported"},
		{"SOA below the apex", []Record{{Name: "w.goldenpathidp.io", Type: TypeSOA, TTL: 300, Targets: []string{"ns. host. 1 2 3 4 5"}}},
			"an SOA record belongs only at the zone apex"},
		{"alias of type CNAME", []Record{{Name: "w.goldenpathidp.io", Type: TypeCNAME, Alias: &Alias{HostedZoneID: "Z", DNSName: "lb.example.com"}}},
			"an alias must be of type A or AAAA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.records, "goldenpathidp.io")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v\nwant one containing %q", err, tt.want)
			}
			var re *RecordError
			if !errors.As(err, &re) {
				t.Errorf("error %v is not a *RecordError", err)
			}
		})
	}
	ok := append(apex(), a("web.goldenpathidp.io"), Record{Name: "web.goldenpathidp.io", Type: TypeTXT, TTL: 300, Targets: []string{"hello"}},
		cname("*.dev.goldenpathidp.io", "lb.example.com", ""), Record{Name: "cname-*.dev.goldenpathidp.io", Type: TypeTXT, TTL: 300, Targets: []string{"x"}})
	if err := Validate(ok, "goldenpathidp.io."); err != nil {
		t.Errorf("a valid zone: %v", err)
	}
}

// owned returns a record and its ownership record for owner.
func owned(r Record, owner string) []Record {
	return []Record{r, ownershipRecord(r.Normalize(), "goldenpathidp.io", owner)}
}

func TestCalculateLeavesOtherOwnersAlone(t *testing.T) {
	rec := func(name, typ, target, res string) Record {
		return Record{Name: name + ".goldenpathidp.io", Type: typ, TTL: 300, Targets: []string{target}, Resource: res}
	}
	current := apex()
	current = append(current, rec("shop", TypeCNAME, "old-shop.example.com", ""))                                          // made by hand, no ownership record
	current = append(current, owned(rec("billing", TypeA, "10.0.0.5", "ingress/default/billing"), "external-dns-prod")...) // another owner
	current = append(current, rec("blog", TypeCNAME, "blog.example.com", ""))                                              // unowned CNAME where an A is wanted
	current = append(current, owned(rec("keep", TypeA, "10.0.0.7", "route/prod/keep"), "goldenpath")...)
	current = append(current, Record{Name: "a-ghost.goldenpathidp.io", Type: TypeTXT, TTL: 300, Targets: []string{ownershipValue("someone", "x")}}) // a claim without a record
	desired := []Record{
		rec("shop", TypeCNAME, "kong-prod.example.com", "route/prod/shop"),
		rec("billing", TypeA, "10.0.0.9", "route/prod/billing"),
		rec("blog", TypeA, "10.0.0.8", "route/prod/blog"),
		rec("keep", TypeA, "10.0.0.7", "route/prod/keep"),
		rec("ghost", TypeA, "10.0.0.6", "route/prod/ghost"),
		rec("fresh", TypeA, "10.0.0.4", "route/prod/fresh"),
	}
	plan, err := Calculate(desired, current, Options{Zone: "goldenpathidp.io", OwnerID: "goldenpath", Policy: PolicySync})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "plans/conflicts.txt", []byte(plan.String()))
	if len(plan.Conflicts) != 4 {
		t.Errorf("%d conflicts, want 4 (shop, billing, blog, ghost)", len(plan.Conflicts))
	}
	for _, r := range append(plan.Delete, updatedOld(plan)...) {
		if !strings.HasPrefix(r.Name, "fresh.") && !strings.HasPrefix(r.Name, "keep.") {
			t.Errorf("plan touches %s, which is not goldenpath's", r)
		}
	}
}

func updatedOld(p Plan) []Record {
	var out []Record
	for _, u := range p.Update {
		out = append(out, u.Old)
	}
	return out
}

func TestCalculatePolicies(t *testing.T) {
	rec := func(name, target string) Record {
		return Record{Name: name + ".dev.goldenpathidp.io", Type: TypeA, TTL: 300, Targets: []string{target}, Resource: "route/dev/" + name}
	}
	current := apex()
	current = append(current, owned(rec("same", "10.0.0.1"), "goldenpath")...)
	current = append(current, owned(rec("moved", "10.0.0.2"), "goldenpath")...)
	current = append(current, owned(rec("gone", "10.0.0.3"), "goldenpath")...)
	// A CNAME goldenpath owns that must become an A record (the gateway moved from a host name to an IP).
	current = append(current, owned(Record{Name: "retyped.dev.goldenpathidp.io", Type: TypeCNAME, TTL: 300, Targets: []string{"lb.example.com"}, Resource: "route/dev/retyped"}, "goldenpath")...)
	desired := []Record{rec("same", "10.0.0.1"), rec("moved", "10.0.0.9"), rec("new", "10.0.0.4"), rec("retyped", "10.0.0.5")}
	tests := []struct {
		policy                   Policy
		create, update, del, con int
	}{
		{PolicySync, 4, 1, 4, 0},       // new, retyped (+ownership); moved; gone, old CNAME (+ownership)
		{PolicyUpsertOnly, 2, 1, 0, 1}, // new (+ownership); moved; retyped blocked by the CNAME it may not delete
		{PolicyCreateOnly, 2, 0, 0, 1}, // new (+ownership)
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			plan, err := Calculate(desired, current, Options{Zone: "goldenpathidp.io", OwnerID: "goldenpath", Policy: tt.policy})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "plans/policy-"+string(tt.policy)+".txt", []byte(plan.String()))
			if len(plan.Create) != tt.create || len(plan.Update) != tt.update || len(plan.Delete) != tt.del || len(plan.Conflicts) != tt.con {
				t.Errorf("got %d creates, %d updates, %d deletes, %d conflicts; want %d, %d, %d, %d",
					len(plan.Create), len(plan.Update), len(plan.Delete), len(plan.Conflicts), tt.create, tt.update, tt.del, tt.con)
			}
		})
	}
}

func TestCalculateIsStableAfterApply(t *testing.T) {
	desired, err := DesiredFromPlatform(seedPlatform(t), seedRoutes(), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Zone: "goldenpathidp.io", OwnerID: "goldenpath"}
	plan, err := Calculate(desired, apex(), opts)
	if err != nil {
		t.Fatal(err)
	}
	applied, err := applyPlan(apex(), plan, "goldenpathidp.io")
	if err != nil {
		t.Fatal(err)
	}
	again, err := Calculate(desired, applied, opts)
	if err != nil {
		t.Fatal(err)
	}
	if again.HasChanges() || len(again.Conflicts) > 0 {
		t.Errorf("second plan after applying the first:\n%s", again)
	}
}

func TestCalculateRefusesBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no owner", Options{Zone: "goldenpathidp.io"}, "dns owner id"},
		{"owner with a comma", Options{Zone: "goldenpathidp.io", OwnerID: "a,b"}, "dns owner id"},
		{"unknown policy", Options{Zone: "goldenpathidp.io", OwnerID: "goldenpath", Policy: "delete-all"}, `dns policy "delete-all" is not one of`},
		{"bad zone", Options{Zone: "..", OwnerID: "goldenpath"}, `zone ".."`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Calculate(nil, nil, tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestOwnershipNames(t *testing.T) {
	tests := []struct{ name, typ, want string }{
		{"web.dev.goldenpathidp.io", TypeA, "a-web.dev.goldenpathidp.io"},
		{"*.dev.goldenpathidp.io", TypeCNAME, "cname-*.dev.goldenpathidp.io"},
		{"goldenpathidp.io", TypeAAAA, "aaaa-.goldenpathidp.io"},
		{"Web.Dev.GoldenPathIDP.io.", TypeTXT, "txt-web.dev.goldenpathidp.io"},
	}
	for _, tt := range tests {
		got := OwnershipName(tt.name, tt.typ, "goldenpathidp.io")
		if got != tt.want {
			t.Errorf("OwnershipName(%s, %s) = %s, want %s", tt.name, tt.typ, got, tt.want)
		}
		name, typ, ok := parseOwnershipName(got)
		if !ok || name != normalizeName(tt.name) || typ != tt.typ {
			t.Errorf("parseOwnershipName(%s) = %s %s %v, want %s %s", got, name, typ, ok, normalizeName(tt.name), tt.typ)
		}
	}
	for _, n := range []string{"api-gw.goldenpathidp.io", "a.goldenpathidp.io", "www.goldenpathidp.io"} {
		if _, _, ok := parseOwnershipName(n); ok {
			t.Errorf("%s parsed as an ownership name", n)
		}
	}
}
