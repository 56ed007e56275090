package dns

import (
	"fmt"
	"strings"
)

// Ownership records follow external-dns's TXT registry (new format, the only one since v0.18), so a zone can be
// shared with external-dns instances and each keeps off the other's records.
//
// Naming: the record set (name, type) is owned through a TXT record at the name with "<type>-" (type in lower
// case) put in front of its leftmost label:
//
//	web.dev.goldenpathidp.io   A      →  a-web.dev.goldenpathidp.io
//	*.dev.goldenpathidp.io     CNAME  →  cname-*.dev.goldenpathidp.io   (external-dns's default, no wildcard replacement)
//	goldenpathidp.io (apex)    A      →  a-.goldenpathidp.io
//
// The apex gets a label of its own ("a-.") because external-dns's default would name a record outside the zone
// (a-goldenpathidp.io); this matches external-dns run with --txt-prefix="%{record_type}-." for apex records.
//
// Value: "heritage=external-dns,external-dns/owner=<owner id>,external-dns/resource=<source>".
const (
	heritage      = "external-dns"
	ownerLabel    = "external-dns/owner"
	resourceLabel = "external-dns/resource"
)

// ownedTypes are the types whose ownership names parse back; a prefix outside this set is an ordinary label.
var ownedTypes = map[string]bool{TypeA: true, TypeAAAA: true, TypeCNAME: true, TypeTXT: true, TypeNS: true, TypeMX: true,
	"SRV": true, "CAA": true, "PTR": true, "NAPTR": true, "DS": true}

// OwnershipName is the name of the TXT record that records who owns the record set (name, typ) of zone.
func OwnershipName(name, typ, zone string) string {
	name, zone = normalizeName(name), normalizeName(zone)
	prefix := strings.ToLower(typ) + "-"
	if name == zone {
		return prefix + "." + zone
	}
	return prefix + name
}

// parseOwnershipName reverses OwnershipName: the owned record's name and type, or ok=false for a TXT record
// whose name is not an ownership name.
func parseOwnershipName(txtName string) (name, typ string, ok bool) {
	first, rest, found := strings.Cut(txtName, ".")
	if !found {
		return "", "", false
	}
	t, label, found := strings.Cut(first, "-")
	if !found || !ownedTypes[strings.ToUpper(t)] || t != strings.ToLower(t) {
		return "", "", false
	}
	if label == "" {
		return rest, strings.ToUpper(t), true
	}
	return label + "." + rest, strings.ToUpper(t), true
}

// ownershipValue is the TXT string that marks a record set as owner's, wanted by resource.
func ownershipValue(owner, resource string) string {
	v := fmt.Sprintf("heritage=%s,%s=%s", heritage, ownerLabel, owner)
	if resource != "" {
		v += fmt.Sprintf(",%s=%s", resourceLabel, resource)
	}
	return v
}

// parseOwnershipValue reads the labels of an ownership TXT string; ok is false for any other TXT string.
func parseOwnershipValue(v string) (labels map[string]string, ok bool) {
	labels = map[string]string{}
	for _, part := range strings.Split(strings.Trim(v, `"`), ",") {
		k, val, found := strings.Cut(part, "=")
		if !found {
			return nil, false
		}
		labels[k] = val
	}
	return labels, labels["heritage"] == heritage
}

// ownership is what an ownership record says about one record set.
type ownership struct {
	txt      Record // the TXT record itself
	owner    string
	resource string
}

// ownershipRecord builds the TXT record that claims r for owner.
func ownershipRecord(r Record, zone, owner string) Record {
	ttl := r.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return Record{
		Name:        OwnershipName(r.Name, r.Type, zone),
		Type:        TypeTXT,
		TTL:         ttl,
		Targets:     []string{ownershipValue(owner, r.Resource)},
		Resource:    r.Resource,
		Environment: r.Environment,
	}
}

// splitOwnership separates a zone's ownership records from its data, keyed by the record set each one owns.
func splitOwnership(records []Record) (data map[key]Record, owners map[key]ownership) {
	data, owners = map[key]Record{}, map[key]ownership{}
	for _, r := range records {
		if o, k, ok := asOwnership(r); ok {
			owners[k] = o
			continue
		}
		if _, dup := data[r.key()]; !dup { // weighted or latency sets share a key; the first stands for all
			data[r.key()] = r
		}
	}
	return data, owners
}

func asOwnership(r Record) (ownership, key, bool) {
	if r.Type != TypeTXT || len(r.Targets) != 1 {
		return ownership{}, key{}, false
	}
	name, typ, ok := parseOwnershipName(r.Name)
	if !ok {
		return ownership{}, key{}, false
	}
	labels, ok := parseOwnershipValue(r.Targets[0])
	if !ok {
		return ownership{}, key{}, false
	}
	return ownership{txt: r, owner: labels[ownerLabel], resource: labels[resourceLabel]}, key{name, typ}, true
}
