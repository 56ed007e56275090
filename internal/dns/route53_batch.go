package dns

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// batchLimits are Route53's limits on one ChangeResourceRecordSets request. An UPSERT counts twice towards
// both the ResourceRecord elements and the characters of Value elements.
type batchLimits struct {
	changes int // Change elements
	records int // ResourceRecord elements
	chars   int // characters in all Value elements
}

var defaultLimits = batchLimits{changes: 1000, records: 1000, chars: 32000}

// changeGroup is the changes that must land together: a record set's and its ownership record's.
type changeGroup struct {
	owned   key
	phase   int // 0 delete, 1 update, 2 create: a batch order in which no create meets a record set it replaces
	changes []types.Change
	records int
	chars   int
}

// batchChanges turns a plan into ChangeResourceRecordSets batches within lim.
func batchChanges(plan Plan, zone string, lim batchLimits) ([][]types.Change, error) {
	groups := groupChanges(plan)
	var batches [][]types.Change
	var cur []types.Change
	var records, chars int
	for _, g := range groups {
		if len(g.changes) > lim.changes || g.records > lim.records || g.chars > lim.chars {
			return nil, fmt.Errorf("record %s %s: its changes alone exceed Route53's limits for one request (%d records, %d characters)",
				g.owned.name, g.owned.typ, g.records, g.chars)
		}
		if len(cur)+len(g.changes) > lim.changes || records+g.records > lim.records || chars+g.chars > lim.chars {
			batches = append(batches, cur)
			cur, records, chars = nil, 0, 0
		}
		cur = append(cur, g.changes...)
		records += g.records
		chars += g.chars
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	return batches, nil
}

func groupChanges(plan Plan) []*changeGroup {
	byKey := map[key]*changeGroup{}
	add := func(action types.ChangeAction, phase int, r Record) {
		r = r.Normalize()
		k := r.key()
		if _, owned, ok := asOwnership(r); ok {
			k = owned
		}
		g := byKey[k]
		if g == nil {
			g = &changeGroup{owned: k, phase: phase}
			byKey[k] = g
		}
		g.phase = min(g.phase, phase)
		g.changes = append(g.changes, types.Change{Action: action, ResourceRecordSet: toRoute53(r)})
		weight := 1
		if action == types.ChangeActionUpsert {
			weight = 2
		}
		g.records += weight * max(1, len(r.Targets))
		for _, t := range toRoute53(r).ResourceRecords {
			g.chars += weight * len(*t.Value)
		}
	}
	for _, r := range plan.Delete {
		add(types.ChangeActionDelete, 0, r)
	}
	for _, u := range plan.Update {
		add(types.ChangeActionUpsert, 1, u.New)
	}
	for _, r := range plan.Create {
		add(types.ChangeActionCreate, 2, r)
	}
	groups := make([]*changeGroup, 0, len(byKey))
	for _, g := range byKey {
		groups = append(groups, g)
	}
	slices.SortFunc(groups, func(a, b *changeGroup) int {
		return cmp.Or(cmp.Compare(a.phase, b.phase), cmp.Compare(a.owned.name, b.owned.name), cmp.Compare(a.owned.typ, b.owned.typ))
	})
	return groups
}
