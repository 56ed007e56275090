package dns

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Policy says which kinds of change a plan may contain (external-dns's --policy).
type Policy string

const (
	PolicySync       Policy = "sync"        // create, update and delete
	PolicyUpsertOnly Policy = "upsert-only" // create and update, never delete
	PolicyCreateOnly Policy = "create-only" // create only, never update or delete
)

// ParsePolicy reads platform.yaml's dns.policy; empty means sync.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(s); p {
	case "":
		return PolicySync, nil
	case PolicySync, PolicyUpsertOnly, PolicyCreateOnly:
		return p, nil
	}
	return "", fmt.Errorf("dns policy %q is not one of sync, upsert-only, create-only", s)
}

func (p Policy) updates() bool { return p == PolicySync || p == PolicyUpsertOnly }
func (p Policy) deletes() bool { return p == PolicySync }

// Options configures Calculate.
type Options struct {
	Zone    string // the zone's apex, e.g. goldenpathidp.io
	OwnerID string // written into ownership records; only records with this owner are updated or deleted
	Policy  Policy // empty means sync
}

// Plan is the difference between a zone and what goldenpath wants in it. Ownership records are ordinary TXT
// records in Create, Update and Delete, next to the records they own.
type Plan struct {
	Zone      string     `json:"zone"`
	OwnerID   string     `json:"ownerId"`
	Policy    Policy     `json:"policy"`
	Create    []Record   `json:"create,omitempty"`
	Update    []Update   `json:"update,omitempty"`
	Delete    []Record   `json:"delete,omitempty"`
	Conflicts []Conflict `json:"conflicts,omitempty"`
}

// Update replaces a record set's value.
type Update struct {
	Old Record `json:"old"`
	New Record `json:"new"`
}

// Conflict is a wanted record that the plan leaves alone because someone else has the name.
type Conflict struct {
	Record Record `json:"record"`
	Owner  string `json:"owner,omitempty"` // the other owner, "" when the existing record has no ownership record
	Reason string `json:"reason"`
}

// HasChanges reports whether applying the plan would change the zone.
func (p Plan) HasChanges() bool {
	return len(p.Create)+len(p.Update)+len(p.Delete) > 0
}

// Calculate diffs desired against current, the zone's records as a Provider returns them, in external-dns's
// manner. It is pure: it reads nothing and changes nothing. Desired records must pass Validate. A record set
// is goldenpath's when its ownership record names opts.OwnerID; records of other owners or of none are never
// updated or deleted, and a wanted record that collides with one is reported in Conflicts.
func Calculate(desired, current []Record, opts Options) (Plan, error) {
	policy, err := ParsePolicy(string(opts.Policy))
	if err != nil {
		return Plan{}, err
	}
	if opts.OwnerID == "" || strings.ContainsAny(opts.OwnerID, ",=\" ") {
		return Plan{}, fmt.Errorf("dns owner id %q must be non-empty without spaces, commas, '=' or quotes", opts.OwnerID)
	}
	zone := normalizeName(opts.Zone)
	if why := checkName(zone); why != "" {
		return Plan{}, fmt.Errorf("dns zone %q %s", opts.Zone, why)
	}
	if err := Validate(desired, zone); err != nil {
		return Plan{}, fmt.Errorf("desired records for %s: %w", zone, err)
	}
	c := &calc{zone: zone, owner: opts.OwnerID, policy: policy, wanted: map[key]Record{}}
	c.plan = Plan{Zone: zone, OwnerID: opts.OwnerID, Policy: policy}
	c.data, c.owners = splitOwnership(normalizeAll(current))
	for k, r := range c.data { // so a plan says who wanted what it deletes
		if o, ok := c.owners[k]; ok && r.Resource == "" {
			r.Resource = o.resource
			c.data[k] = r
		}
	}
	c.byName = map[string][]key{}
	for _, k := range sortedKeys(c.data) {
		c.byName[k.name] = append(c.byName[k.name], k)
	}
	for _, d := range normalizeAll(desired) {
		c.wanted[d.key()] = d
	}
	for _, d := range sortedRecords(c.wanted) {
		c.want(d)
	}
	c.dropUnwanted()
	c.plan.sort()
	return c.plan, nil
}

// calc holds one Calculate's working state.
type calc struct {
	zone, owner string
	policy      Policy
	data        map[key]Record
	owners      map[key]ownership
	byName      map[string][]key // data keys by name, sorted
	wanted      map[key]Record
	plan        Plan
}

func (c *calc) mine(k key) bool {
	o, ok := c.owners[k]
	return ok && o.owner == c.owner
}

// want plans one desired record set.
func (c *calc) want(d Record) {
	k := d.key()
	cur, exists := c.data[k]
	o, owned := c.owners[k]
	switch {
	case (exists || owned) && !c.mine(k):
		c.conflict(d, o.owner, owned)
	case !exists:
		if why, owner := c.blocked(d); why != "" {
			c.plan.Conflicts = append(c.plan.Conflicts, Conflict{Record: d, Owner: owner, Reason: "cannot be created: " + why})
			return
		}
		c.plan.Create = append(c.plan.Create, d)
		c.claim(d)
	case c.policy.updates():
		if !cur.Equal(d) {
			c.plan.Update = append(c.plan.Update, Update{Old: cur, New: d})
		}
		c.claim(d)
	}
}

func (c *calc) conflict(d Record, owner string, owned bool) {
	reason := "exists without an ownership record, so it is not goldenpath's; left alone"
	if owned {
		reason = fmt.Sprintf("is owned by %q, not %q; left alone", owner, c.owner)
	}
	c.plan.Conflicts = append(c.plan.Conflicts, Conflict{Record: d, Owner: owner, Reason: reason})
}

// claim makes the ownership record of d say what it should.
func (c *calc) claim(d Record) {
	want := ownershipRecord(d, c.zone, c.owner)
	o, ok := c.owners[d.key()]
	switch {
	case !ok:
		c.plan.Create = append(c.plan.Create, want)
	case !o.txt.Equal(want) && c.policy.updates():
		c.plan.Update = append(c.plan.Update, Update{Old: o.txt, New: want})
	}
}

// blocked says why d cannot be created beside the data already at its name (a CNAME shares its name with
// nothing), or "" when it can — also when the blocking record is goldenpath's and this plan deletes it.
func (c *calc) blocked(d Record) (why, owner string) {
	for _, k := range c.byName[d.Name] {
		r := c.data[k]
		if k.typ == d.Type || (k.typ != TypeCNAME && d.Type != TypeCNAME) {
			continue
		}
		_, stillWanted := c.wanted[k]
		if c.mine(k) && !stillWanted && c.policy.deletes() {
			continue
		}
		who := "which has no ownership record"
		o, ok := c.owners[k]
		if ok {
			who = fmt.Sprintf("owned by %q", o.owner)
			if o.owner == c.owner {
				who = "which this plan may not delete under policy " + string(c.policy)
			}
		}
		return fmt.Sprintf("%s already has %s %s record, %s", d.Name, article(r.Type), r.Type, who), o.owner
	}
	return "", ""
}

func article(typ string) string {
	if strings.ContainsRune("AEIOU", rune(typ[0])) {
		return "an"
	}
	return "a"
}

// dropUnwanted deletes goldenpath's record sets that are no longer wanted, with their ownership records, and
// ownership records left without a record set.
func (c *calc) dropUnwanted() {
	if !c.policy.deletes() {
		return
	}
	for _, k := range sortedKeys(c.owners) {
		o := c.owners[k]
		if o.owner != c.owner {
			continue
		}
		if _, ok := c.wanted[k]; ok {
			continue
		}
		if r, ok := c.data[k]; ok {
			c.plan.Delete = append(c.plan.Delete, r)
		}
		c.plan.Delete = append(c.plan.Delete, o.txt)
	}
}

func (p *Plan) sort() {
	byKey := func(a, b Record) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Type, b.Type)) }
	slices.SortFunc(p.Create, byKey)
	slices.SortFunc(p.Delete, byKey)
	slices.SortFunc(p.Update, func(a, b Update) int { return byKey(a.New, b.New) })
	slices.SortFunc(p.Conflicts, func(a, b Conflict) int { return byKey(a.Record, b.Record) })
}

func normalizeAll(rs []Record) []Record {
	out := make([]Record, len(rs))
	for i, r := range rs {
		out[i] = r.Normalize()
	}
	return out
}

func sortedKeys[V any](m map[key]V) []key {
	ks := make([]key, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b key) int { return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.typ, b.typ)) })
	return ks
}

func sortedRecords(m map[key]Record) []Record {
	out := make([]Record, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out
}

// String prints the plan the way external-dns and terraform do: "+ create", "~ update", "- delete", each
// record set followed by its ownership record, and "! conflict" for wanted records left alone.
func (p Plan) String() string {
	var b strings.Builder
	n := func(rs []Record) int { return len(rs) - ownershipCount(rs) }
	var updated []Record
	for _, u := range p.Update {
		updated = append(updated, u.New)
	}
	fmt.Fprintf(&b, "DNS plan for zone %s (owner %s, policy %s): %d to create, %d to update, %d to delete, %d conflicts\n",
		p.Zone, p.OwnerID, p.Policy, n(p.Create), n(updated), n(p.Delete), len(p.Conflicts))
	writeChanges(&b, "+ create", p.Create, nil)
	writeChanges(&b, "~ update", updated, p.Update)
	writeChanges(&b, "- delete", p.Delete, nil)
	for _, c := range p.Conflicts {
		fmt.Fprintf(&b, "  ! conflict %s %s%s: %s\n", c.Record.Name, c.Record.Type, from(c.Record), c.Reason)
	}
	return b.String()
}

func ownershipCount(rs []Record) int {
	n := 0
	for _, r := range rs {
		if _, _, ok := asOwnership(r); ok {
			n++
		}
	}
	return n
}

// writeChanges prints record sets, each with its ownership record indented below it; updates (when given,
// parallel to rs) also print the value they replace.
func writeChanges(b *strings.Builder, verb string, rs []Record, updates []Update) {
	owners := map[key]int{}
	for i, r := range rs {
		if _, k, ok := asOwnership(r); ok {
			owners[k] = i
		}
	}
	printed := map[int]bool{}
	line := func(i int, indent string) {
		printed[i] = true
		fmt.Fprintf(b, "%s%s%s\n", indent, rs[i], from(rs[i]))
		if updates != nil {
			fmt.Fprintf(b, "%s    was %s\n", strings.Repeat(" ", len(indent)), updates[i].Old)
		}
	}
	for i, r := range rs {
		if _, _, ok := asOwnership(r); ok {
			continue
		}
		line(i, "  "+verb+" ")
		if j, ok := owners[r.key()]; ok {
			line(j, "      owner ")
		}
	}
	for i := range rs {
		if !printed[i] {
			line(i, "  "+verb+" ")
		}
	}
}

func from(r Record) string {
	if r.Resource == "" || r.Type == TypeTXT {
		return ""
	}
	return "  (" + r.Resource + ")"
}
