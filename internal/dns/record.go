// Package dns keeps the platform's DNS names: it computes the records goldenpath wants from platform.yaml and the
// apps' routes, diffs them against a zone as a plan with external-dns-style ownership, and applies the plan
// through a Provider — the embedded authoritative server that `goldenpath up` runs, Route53, or Terraform files
// that the platform team's CI applies.
//
// Names in this package are fully qualified, lowercase and written without the trailing dot
// ("*.dev.goldenpathidp.io"); inputs with a trailing dot or upper case are normalised.
package dns

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	mdns "github.com/miekg/dns"
)

// Record types goldenpath reads and writes.
const (
	TypeA     = "A"
	TypeAAAA  = "AAAA"
	TypeCNAME = "CNAME"
	TypeTXT   = "TXT"
	TypeNS    = "NS"
	TypeSOA   = "SOA"
	TypeMX    = "MX"
)

// DefaultTTL is the TTL of records whose source gives none (external-dns's and Route53's usual 300 s).
const DefaultTTL = 300

// Record is one record set: every value of one type at one name.
type Record struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	TTL     int      `json:"ttl,omitempty"`
	Targets []string `json:"targets,omitempty"` // A/AAAA addresses, CNAME/NS hosts, TXT strings (unquoted), SOA/MX in zone-file form
	Alias   *Alias   `json:"alias,omitempty"`   // a Route53 alias instead of Targets (A or AAAA only)

	// Resource names the source that wants the record ("gateway/dev", "tool/dev/argocd", "route/dev/web"); it is
	// written into the ownership record and is not part of the record's value.
	Resource string `json:"resource,omitempty"`
	// Environment is the platform environment the record serves; Terraform output groups records by it.
	Environment string `json:"environment,omitempty"`
}

// Alias is a Route53 alias target: the load balancer's DNS name and the hosted zone it lives in.
type Alias struct {
	HostedZoneID         string `json:"hostedZoneId"`
	DNSName              string `json:"dnsName"`
	EvaluateTargetHealth bool   `json:"evaluateTargetHealth,omitempty"`
}

// key identifies a record set in a zone.
type key struct{ name, typ string }

func (r Record) key() key { return key{r.Name, r.Type} }

// String renders the record in zone-file style, for plans and errors.
func (r Record) String() string {
	if r.Alias != nil {
		return fmt.Sprintf("%s %s ALIAS %s (zone %s)", r.Name, r.Type, r.Alias.DNSName, r.Alias.HostedZoneID)
	}
	vals := make([]string, len(r.Targets))
	for i, t := range r.Targets {
		if r.Type == TypeTXT {
			t = fmt.Sprintf("%q", t)
		}
		vals[i] = t
	}
	return fmt.Sprintf("%s %d %s %s", r.Name, r.TTL, r.Type, strings.Join(vals, ", "))
}

// Equal reports whether two records have the same value: name, type, TTL (ignored for aliases, which have
// none), targets in any order, and alias. Resource and Environment are labels, not values.
func (r Record) Equal(o Record) bool {
	if r.Name != o.Name || r.Type != o.Type {
		return false
	}
	if (r.Alias == nil) != (o.Alias == nil) {
		return false
	}
	if r.Alias != nil {
		return *r.Alias == *o.Alias
	}
	return r.TTL == o.TTL && slices.Equal(sortedCopy(r.Targets), sortedCopy(o.Targets))
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// Normalize returns the record in canonical form: lowercase names without the trailing dot, upper-case type,
// sorted and de-duplicated targets (host targets lowercased; TXT strings kept as written).
func (r Record) Normalize() Record {
	r.Name = normalizeName(r.Name)
	r.Type = strings.ToUpper(strings.TrimSpace(r.Type))
	t := make([]string, 0, len(r.Targets))
	for _, v := range r.Targets {
		t = append(t, normalizeTarget(r.Type, v))
	}
	slices.Sort(t)
	r.Targets = slices.Compact(t)
	if r.Alias != nil {
		a := *r.Alias
		a.DNSName = normalizeName(a.DNSName)
		r.Alias = &a
	}
	return r
}

func normalizeTarget(typ, v string) string {
	switch typ {
	case TypeCNAME, TypeNS:
		return normalizeName(v)
	case TypeA, TypeAAAA:
		if a, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil {
			return a.String()
		}
		return strings.TrimSpace(v)
	}
	return v
}

// normalizeName lowercases a DNS name and drops the trailing dot.
func normalizeName(n string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(n)), ".")
}

// inZone reports whether name is the zone's apex or below it.
func inZone(name, zone string) bool {
	return name == zone || strings.HasSuffix(name, "."+zone)
}

// checkName returns why name is not a usable DNS name, or "".
func checkName(name string) string {
	if name == "" {
		return "the name is empty"
	}
	if _, ok := mdns.IsDomainName(name + "."); !ok {
		return "is not a valid DNS name (labels of at most 63 characters, at most 253 in all)"
	}
	for i, l := range strings.Split(name, ".") {
		if l == "" {
			return "has an empty label"
		}
		// "*" alone is the wildcard label and only leads; inside a label (cname-*.dev…, an ownership name)
		// it is an ordinary character.
		if l == "*" && i > 0 {
			return "has a '*' label that is not the leftmost (a wildcard is written *.<name>)"
		}
	}
	return ""
}

// checkValue returns why the record's value is unusable, or "".
func (r Record) checkValue() string {
	if r.Alias != nil {
		if r.Type != TypeA && r.Type != TypeAAAA {
			return fmt.Sprintf("an alias must be of type A or AAAA, not %s", r.Type)
		}
		if len(r.Targets) > 0 {
			return "has both an alias and targets; an alias record has no targets"
		}
		if r.Alias.HostedZoneID == "" || checkName(r.Alias.DNSName) != "" {
			return "alias needs the load balancer's hosted zone id and a valid DNS name"
		}
		return ""
	}
	if len(r.Targets) == 0 {
		return "has no targets"
	}
	if r.TTL <= 0 || r.TTL > 2147483647 {
		return fmt.Sprintf("TTL %d must be between 1 and 2147483647 seconds", r.TTL)
	}
	for _, t := range r.Targets {
		if why := checkTarget(r.Type, t); why != "" {
			return why
		}
	}
	if r.Type == TypeCNAME && len(r.Targets) > 1 {
		return fmt.Sprintf("a CNAME has exactly one target, got %d", len(r.Targets))
	}
	return ""
}

func checkTarget(typ, t string) string {
	switch typ {
	case TypeA, TypeAAAA:
		a, err := netip.ParseAddr(t)
		if err != nil || (typ == TypeA) != a.Is4() {
			return fmt.Sprintf("target %q is not an IPv%s address", t, map[string]string{TypeA: "4", TypeAAAA: "6"}[typ])
		}
	case TypeCNAME, TypeNS:
		if why := checkName(t); why != "" || strings.HasPrefix(t, "*") {
			return fmt.Sprintf("target %q is not a host name", t)
		}
	case TypeTXT:
		if len(t) > 4000 {
			return "a TXT string longer than 4,000 characters"
		}
	case TypeSOA, TypeMX:
		if _, err := mdns.NewRR(". 1 IN " + typ + " " + t); err != nil {
			return fmt.Sprintf("target %q is not %s data: %v", t, typ, err)
		}
	default:
		return fmt.Sprintf("type %s is not supported (A, AAAA, CNAME, TXT, NS, MX, SOA)", typ)
	}
	return ""
}
