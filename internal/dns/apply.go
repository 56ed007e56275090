package dns

import (
	"errors"
	"fmt"
)

// applyPlan returns records with the plan applied, or every reason it cannot be: a create whose record set
// exists, an update or delete whose record set is gone or changed since the plan was made, a change to the
// apex SOA or NS (the server's own), or a result Validate refuses. Providers that keep records themselves (the
// embedded server, Terraform files) apply plans through it, so a stale plan fails instead of clobbering.
func applyPlan(records []Record, plan Plan, zone string) ([]Record, error) {
	a := applier{zone: zone, cur: map[key]Record{}}
	for _, r := range records {
		a.cur[r.key()] = r
	}
	for _, d := range normalizeAll(plan.Delete) {
		if a.check("delete", d, true) {
			delete(a.cur, d.key())
		}
	}
	for _, u := range plan.Update {
		old, nw := u.Old.Normalize(), u.New.Normalize()
		if old.key() != nw.key() {
			a.errs = append(a.errs, fmt.Errorf("update %s %s: an update cannot change the name or type (to %s %s)", old.Name, old.Type, nw.Name, nw.Type))
			continue
		}
		if a.check("update", old, true) {
			a.cur[nw.key()] = nw
		}
	}
	for _, c := range normalizeAll(plan.Create) {
		if a.check("create", c, false) {
			a.cur[c.key()] = c
		}
	}
	if err := errors.Join(a.errs...); err != nil {
		return nil, err
	}
	next := sortedRecords(a.cur)
	return next, Validate(next, zone)
}

type applier struct {
	zone string
	cur  map[key]Record
	errs []error
}

// check reports whether r may be changed: it must exist with the same value (wantExisting) or not exist.
func (a *applier) check(verb string, r Record, wantExisting bool) bool {
	if r.Name == a.zone && (r.Type == TypeSOA || r.Type == TypeNS) {
		a.errs = append(a.errs, fmt.Errorf("%s %s %s: the apex SOA and NS records belong to the server", verb, r.Name, r.Type))
		return false
	}
	c, exists := a.cur[r.key()]
	switch {
	case exists && !wantExisting:
		a.errs = append(a.errs, fmt.Errorf("%s %s %s: the record set already exists (%s)", verb, r.Name, r.Type, c))
	case !exists && wantExisting:
		a.errs = append(a.errs, fmt.Errorf("%s %s %s: no such record set", verb, r.Name, r.Type))
	case exists && !c.Equal(r):
		a.errs = append(a.errs, fmt.Errorf("%s %s %s: the record set changed since the plan was made (now %s)", verb, r.Name, r.Type, c))
	default:
		return true
	}
	return false
}
