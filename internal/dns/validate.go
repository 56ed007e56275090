package dns

import (
	"errors"
	"fmt"
	"slices"
)

// RecordError says which record broke which rule.
type RecordError struct {
	Name string
	Type string
	Rule string
}

func (e *RecordError) Error() string {
	if e.Type == "" {
		return fmt.Sprintf("record %s: %s", e.Name, e.Rule)
	}
	return fmt.Sprintf("record %s %s: %s", e.Name, e.Type, e.Rule)
}

// Validate checks records meant for zone before anything is planned or applied. It refuses, naming each
// record: an invalid name or value, a record outside the zone, a CNAME beside other data at the same name (or
// two CNAMEs), a record set listed twice — two sources claiming one name, such as two apps routing one host —,
// and an SOA anywhere but the apex. All problems are returned at once, joined; each is a *RecordError.
func Validate(records []Record, zone string) error {
	zone = normalizeName(zone)
	if why := checkName(zone); why != "" {
		return fmt.Errorf("zone %q %s", zone, why)
	}
	var errs []error
	bad := func(r Record, format string, args ...any) {
		errs = append(errs, &RecordError{Name: r.Name, Type: r.Type, Rule: fmt.Sprintf(format, args...)})
	}
	seen := map[key]Record{}
	types := map[string][]string{}
	for _, r := range records {
		r = r.Normalize()
		if why := checkName(r.Name); why != "" {
			bad(r, "name %q %s", r.Name, why)
			continue
		}
		if !inZone(r.Name, zone) {
			bad(r, "is outside the zone %s", zone)
			continue
		}
		if why := r.checkValue(); why != "" {
			bad(r, "%s", why)
		}
		if r.Type == TypeSOA && r.Name != zone {
			bad(r, "an SOA record belongs only at the zone apex %s", zone)
		}
		if prev, dup := seen[r.key()]; dup {
			bad(r, "%s", duplicateRule(prev, r))
			continue
		}
		seen[r.key()] = r
		types[r.Name] = append(types[r.Name], r.Type)
	}
	errs = append(errs, cnameConflicts(types, seen)...)
	return errors.Join(errs...)
}

func duplicateRule(prev, r Record) string {
	what := "is listed twice"
	if r.Type == TypeCNAME {
		what = "has two CNAMEs (a name has at most one)"
	}
	if prev.Resource != r.Resource {
		return fmt.Sprintf("%s: claimed by both %s and %s; one host belongs to one source", what, orUnnamed(prev.Resource), orUnnamed(r.Resource))
	}
	return what
}

func orUnnamed(resource string) string {
	if resource == "" {
		return "an unnamed source"
	}
	return resource
}

// cnameConflicts refuses a CNAME beside any other data at its name (RFC 1034 §3.6.2).
func cnameConflicts(types map[string][]string, seen map[key]Record) []error {
	var errs []error
	names := make([]string, 0, len(types))
	for n := range types {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		ts := types[n]
		if !slices.Contains(ts, TypeCNAME) || len(ts) == 1 {
			continue
		}
		c := seen[key{n, TypeCNAME}]
		for _, t := range ts {
			if t == TypeCNAME {
				continue
			}
			o := seen[key{n, t}]
			rule := fmt.Sprintf("a CNAME cannot sit beside other data, and %s also has %s", n, t)
			if o.Resource != c.Resource && o.Resource != "" && c.Resource != "" {
				rule += fmt.Sprintf(" (CNAME from %s, %s from %s)", c.Resource, t, o.Resource)
			}
			errs = append(errs, &RecordError{Name: n, Type: TypeCNAME, Rule: rule})
		}
	}
	return errs
}
