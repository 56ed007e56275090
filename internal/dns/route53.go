package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	mdns "github.com/miekg/dns"
)

// Route53API is the part of the Route53 client the provider calls; *route53.Client satisfies it.
type Route53API interface {
	ListHostedZonesByName(ctx context.Context, in *route53.ListHostedZonesByNameInput, opts ...func(*route53.Options)) (*route53.ListHostedZonesByNameOutput, error)
	GetHostedZone(ctx context.Context, in *route53.GetHostedZoneInput, opts ...func(*route53.Options)) (*route53.GetHostedZoneOutput, error)
	CreateHostedZone(ctx context.Context, in *route53.CreateHostedZoneInput, opts ...func(*route53.Options)) (*route53.CreateHostedZoneOutput, error)
	ListResourceRecordSets(ctx context.Context, in *route53.ListResourceRecordSetsInput, opts ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error)
	ChangeResourceRecordSets(ctx context.Context, in *route53.ChangeResourceRecordSetsInput, opts ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error)
	GetChange(ctx context.Context, in *route53.GetChangeInput, opts ...func(*route53.Options)) (*route53.GetChangeOutput, error)
}

var _ Route53API = (*route53.Client)(nil)

// Route53Config configures the Route53 provider; zero values take the defaults noted.
type Route53Config struct {
	HostedZoneID      string        // platform.yaml dns.route53.hostedZoneId: use this zone, do not look it up by name
	WaitTimeout       time.Duration // how long ApplyChanges waits for INSYNC (default 5 min); negative: do not wait
	PollInterval      time.Duration // between GetChange calls (default 5 s)
	RequestsPerSecond float64       // client-side limit (default 5, Route53's account-wide quota)
	MaxRetries        int           // retries of a throttled call (default 8)
	RetryBase         time.Duration // first back-off after throttling, doubled each time up to 30 s (default 500 ms)
	Logger            *slog.Logger  // nil discards
}

func (c *Route53Config) defaults() {
	if c.WaitTimeout == 0 {
		c.WaitTimeout = 5 * time.Minute
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 5 * time.Second
	}
	if c.RequestsPerSecond <= 0 {
		c.RequestsPerSecond = 5
	}
	if c.MaxRetries <= 0 {
		c.MaxRetries = 8
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 500 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Route53 is the provider that keeps the zone in an AWS Route53 hosted zone.
type Route53 struct {
	api Route53API
	cfg Route53Config
	log *slog.Logger

	mu    sync.Mutex
	zones map[string]HostedZone // found or created, by zone name
}

var _ Provider = (*Route53)(nil)

// HostedZone is a Route53 hosted zone as the provider found or created it.
type HostedZone struct {
	ID          string   // e.g. Z0123456789ABCDEFGHIJ, without the /hostedzone/ prefix
	Name        string   // the zone, without the trailing dot
	NameServers []string // what the registrar's NS records must say
	Created     bool     // created by this call
}

// NewRoute53 wraps api with the client-side rate limit and the throttling retries, so every call the provider
// makes goes through both.
func NewRoute53(api Route53API, cfg Route53Config) *Route53 {
	cfg.defaults()
	log := cfg.Logger.With("component", "dns", "provider", "route53")
	return &Route53{api: newThrottled(api, cfg, log), cfg: cfg, log: log, zones: map[string]HostedZone{}}
}

// EnsureZone finds the zone's public hosted zone — by the configured id, else by name — and creates it when
// there is none. Its NameServers are the delegation to set at the registrar.
func (p *Route53) EnsureZone(ctx context.Context, zone string) (HostedZone, error) {
	zone = normalizeName(zone)
	hz, found, err := p.findZone(ctx, zone)
	if err != nil || found {
		return hz, err
	}
	out, err := p.api.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{
		Name:             aws.String(zone),
		CallerReference:  aws.String(fmt.Sprintf("goldenpath-%s-%d", zone, time.Now().UnixNano())),
		HostedZoneConfig: &types.HostedZoneConfig{Comment: aws.String("managed by goldenpath")},
	})
	if err != nil {
		return HostedZone{}, fmt.Errorf("creating hosted zone %s: %w", zone, err)
	}
	hz = HostedZone{ID: bareID(aws.ToString(out.HostedZone.Id)), Name: zone, Created: true}
	if out.DelegationSet != nil {
		hz.NameServers = out.DelegationSet.NameServers
	}
	p.log.Info("created hosted zone", "zone", zone, "id", hz.ID, "nameServers", hz.NameServers)
	p.remember(hz)
	return hz, nil
}

func (p *Route53) remember(hz HostedZone) {
	p.mu.Lock()
	defer p.mu.Unlock()
	hz.Created = false
	p.zones[hz.Name] = hz
}

// findZone returns the zone's hosted zone, or found=false when it has none (an error when an id is configured).
func (p *Route53) findZone(ctx context.Context, zone string) (HostedZone, bool, error) {
	p.mu.Lock()
	hz, ok := p.zones[zone]
	p.mu.Unlock()
	if ok {
		return hz, true, nil
	}
	id := p.cfg.HostedZoneID
	if id == "" {
		var err error
		if id, err = p.zoneIDByName(ctx, zone); err != nil || id == "" {
			return HostedZone{}, false, err
		}
	}
	out, err := p.api.GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: aws.String(id)})
	if err != nil {
		return HostedZone{}, false, fmt.Errorf("reading hosted zone %s: %w", id, err)
	}
	if got := normalizeName(aws.ToString(out.HostedZone.Name)); got != zone {
		return HostedZone{}, false, fmt.Errorf("hosted zone %s is %s, not %s (check dns.route53.hostedZoneId)", id, got, zone)
	}
	hz = HostedZone{ID: bareID(aws.ToString(out.HostedZone.Id)), Name: zone}
	if out.DelegationSet != nil {
		hz.NameServers = out.DelegationSet.NameServers
	}
	p.remember(hz)
	return hz, true, nil
}

// zoneIDByName pages through the hosted zones sorted by name from zone on; "" when there is no public one.
func (p *Route53) zoneIDByName(ctx context.Context, zone string) (string, error) {
	in := &route53.ListHostedZonesByNameInput{DNSName: aws.String(zone)}
	var ids []string
	for {
		out, err := p.api.ListHostedZonesByName(ctx, in)
		if err != nil {
			return "", fmt.Errorf("looking up hosted zone %s: %w", zone, err)
		}
		past := false
		for _, z := range out.HostedZones {
			name := normalizeName(unescapeRoute53(aws.ToString(z.Name)))
			if name != zone {
				past = past || name > zone
				continue
			}
			if z.Config == nil || !z.Config.PrivateZone {
				ids = append(ids, bareID(aws.ToString(z.Id)))
			}
		}
		if past || !out.IsTruncated {
			break
		}
		in.DNSName, in.HostedZoneId = out.NextDNSName, out.NextHostedZoneId
	}
	if len(ids) > 1 {
		return "", fmt.Errorf("%d public hosted zones are named %s (%s); set dns.route53.hostedZoneId to choose one", len(ids), zone, strings.Join(ids, ", "))
	}
	if len(ids) == 0 {
		return "", nil
	}
	return ids[0], nil
}

// Records lists every record set of the zone's hosted zone, page by page. A zone without a hosted zone yet
// has no records (ApplyChanges creates it).
func (p *Route53) Records(ctx context.Context, zone string) ([]Record, error) {
	zone = normalizeName(zone)
	hz, found, err := p.findZone(ctx, zone)
	if err != nil || !found {
		return nil, err
	}
	in := &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(hz.ID)}
	var out []Record
	for {
		page, err := p.api.ListResourceRecordSets(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("listing records of %s (%s): %w", zone, hz.ID, err)
		}
		for _, rs := range page.ResourceRecordSets {
			out = append(out, fromRoute53(rs))
		}
		if !page.IsTruncated {
			return out, nil
		}
		in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = page.NextRecordName, page.NextRecordType, page.NextRecordIdentifier
	}
}

// ApplyChanges sends the plan in batches within Route53's limits — a record and its ownership record always in
// the same batch, deletions first — and waits until Route53 reports every batch INSYNC. A batch Route53
// rejects does not stop the others; all errors are returned together.
func (p *Route53) ApplyChanges(ctx context.Context, zone string, plan Plan) error {
	if !plan.HasChanges() {
		return nil
	}
	zone = normalizeName(zone)
	if plan.Zone != "" && normalizeName(plan.Zone) != zone {
		return fmt.Errorf("plan is for zone %q, not %q", plan.Zone, zone)
	}
	hz, err := p.EnsureZone(ctx, zone)
	if err != nil {
		return err
	}
	batches, err := batchChanges(plan, zone, defaultLimits)
	if err != nil {
		return err
	}
	var errs []error
	var pending []string
	for i, b := range batches {
		out, err := p.api.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
			HostedZoneId: aws.String(hz.ID),
			ChangeBatch:  &types.ChangeBatch{Changes: b, Comment: aws.String(fmt.Sprintf("goldenpath (owner %s) batch %d/%d", plan.OwnerID, i+1, len(batches)))},
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("batch %d of %d (%d changes, first %s): %w", i+1, len(batches), len(b), describe(b[0]), err))
			continue
		}
		p.log.Info("sent change batch", "zone", zone, "batch", i+1, "of", len(batches), "changes", len(b), "change", aws.ToString(out.ChangeInfo.Id))
		if out.ChangeInfo.Status != types.ChangeStatusInsync {
			pending = append(pending, aws.ToString(out.ChangeInfo.Id))
		}
	}
	if err := p.waitInsync(ctx, pending); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func describe(c types.Change) string {
	return fmt.Sprintf("%s %s %s", c.Action, unescapeRoute53(aws.ToString(c.ResourceRecordSet.Name)), c.ResourceRecordSet.Type)
}

// waitInsync polls GetChange until every change is INSYNC or WaitTimeout passes.
func (p *Route53) waitInsync(ctx context.Context, ids []string) error {
	if p.cfg.WaitTimeout < 0 || len(ids) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.WaitTimeout)
	defer cancel()
	for _, id := range ids {
		status := types.ChangeStatusPending
		for status != types.ChangeStatusInsync {
			out, err := p.api.GetChange(ctx, &route53.GetChangeInput{Id: aws.String(strings.TrimPrefix(id, "/change/"))})
			switch {
			case ctx.Err() != nil:
				return fmt.Errorf("change %s still %s after %s, not INSYNC", id, status, p.cfg.WaitTimeout)
			case err != nil:
				return fmt.Errorf("reading change %s: %w", id, err)
			}
			if status = out.ChangeInfo.Status; status != types.ChangeStatusInsync {
				_ = sleep(ctx, p.cfg.PollInterval) // a deadline is caught by the next round
			}
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// bareID drops the "/hostedzone/" (or "/change/") prefix the API puts on ids.
func bareID(id string) string {
	return id[strings.LastIndex(id, "/")+1:]
}

// fromRoute53 converts a record set, undoing Route53's escapes (\052 for '*') and TXT quoting.
func fromRoute53(rs types.ResourceRecordSet) Record {
	r := Record{Name: unescapeRoute53(aws.ToString(rs.Name)), Type: string(rs.Type), TTL: int(aws.ToInt64(rs.TTL))}
	for _, v := range rs.ResourceRecords {
		val := aws.ToString(v.Value)
		if rs.Type == types.RRTypeTxt {
			val = unquoteTXT(val)
		}
		r.Targets = append(r.Targets, val)
	}
	if a := rs.AliasTarget; a != nil {
		r.Alias = &Alias{HostedZoneID: aws.ToString(a.HostedZoneId), DNSName: unescapeRoute53(aws.ToString(a.DNSName)), EvaluateTargetHealth: a.EvaluateTargetHealth}
	}
	return r.Normalize()
}

// toRoute53 converts a record to a record set.
func toRoute53(r Record) *types.ResourceRecordSet {
	rs := &types.ResourceRecordSet{Name: aws.String(mdns.Fqdn(r.Name)), Type: types.RRType(r.Type)}
	if r.Alias != nil {
		rs.AliasTarget = &types.AliasTarget{HostedZoneId: aws.String(r.Alias.HostedZoneID), DNSName: aws.String(mdns.Fqdn(r.Alias.DNSName)),
			EvaluateTargetHealth: r.Alias.EvaluateTargetHealth}
		return rs
	}
	rs.TTL = aws.Int64(int64(r.TTL))
	for _, t := range r.Targets {
		switch r.Type {
		case TypeTXT:
			t = quoteTXT(t)
		case TypeCNAME, TypeNS:
			t = mdns.Fqdn(t)
		}
		rs.ResourceRecords = append(rs.ResourceRecords, types.ResourceRecord{Value: aws.String(t)})
	}
	return rs
}

// unescapeRoute53 turns Route53's \ddd octal escapes back into characters.
func unescapeRoute53(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')*64 + (s[i+2]-'0')*8 + (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return '0' <= c && c <= '7' }

// quoteTXT writes a TXT value the way Route53 takes it: quoted character-strings of at most 255 bytes, with
// quotes and backslashes escaped.
func quoteTXT(v string) string {
	var parts []string
	for {
		n := min(len(v), 255)
		r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
		parts = append(parts, `"`+r.Replace(v[:n])+`"`)
		v = v[n:]
		if v == "" {
			return strings.Join(parts, " ")
		}
	}
}

// unquoteTXT reads a Route53 TXT value: one or more quoted strings (joined), or a bare one.
func unquoteTXT(v string) string {
	v = strings.TrimSpace(v)
	if !strings.HasPrefix(v, `"`) {
		return v
	}
	var b strings.Builder
	in := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"':
			in = !in
		case !in:
			// spaces between strings
		case c == '\\' && i+3 < len(v) && isOctal(v[i+1]) && isOctal(v[i+2]) && isOctal(v[i+3]):
			b.WriteByte((v[i+1]-'0')*64 + (v[i+2]-'0')*8 + (v[i+3] - '0'))
			i += 3
		case c == '\\' && i+1 < len(v):
			i++
			b.WriteByte(v[i])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
