// Package plan computes what a change to the platform repository will do: for every request it creates,
// updates or deletes, the fields that change and the concrete resources the provisioner will create. It is a
// pure function of two contract sets, used both for the preview on a change request and by the reconciler,
// so the preview is never a second code path.
package plan

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/goldenpathidp/goldenpath/internal/contract"
)

// Action is what happens to a request.
type Action string

const (
	Create Action = "create"
	Update Action = "update"
	Delete Action = "delete"
)

// Resource is a concrete thing a provisioner manages for a request.
type Resource struct {
	Type     string    `json:"type"` // e.g. "postgres database"
	Name     string    `json:"name"` // e.g. "orders_dev"
	Settings []Setting `json:"settings,omitempty"`
}

// Setting is one concrete setting of a resource, in display order.
type Setting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Entry is the plan for one request.
type Entry struct {
	Action      Action        `json:"action"`
	RequestID   contract.ID   `json:"requestId"`
	Kind        contract.Kind `json:"kind"`
	Environment string        `json:"environment"`
	Name        string        `json:"name"`
	Owner       string        `json:"owner"`
	Team        string        `json:"team"`
	Changes     []string      `json:"changes,omitempty"` // for updates: "spec.size: small → large"
	Resources   []Resource    `json:"resources,omitempty"`
}

// Describer tells what resources a request maps to.
type Describer func(r *contract.Request) []Resource

// Diff compares the requests of base (e.g. main) with desired (e.g. main with a change request applied) and
// returns an entry per request that is created, updated or deleted, ordered by request ID.
func Diff(base, desired map[contract.ID]*contract.Request, describe Describer) []Entry {
	var out []Entry
	for id, d := range desired {
		b, ok := base[id]
		switch {
		case !ok:
			out = append(out, entry(Create, d, nil, describe))
		default:
			if changes := FieldChanges(b, d); len(changes) > 0 {
				out = append(out, entry(Update, d, changes, describe))
			}
		}
	}
	for id, b := range base {
		if _, ok := desired[id]; !ok {
			out = append(out, entry(Delete, b, nil, describe))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RequestID < out[j].RequestID })
	return out
}

func entry(a Action, r *contract.Request, changes []string, describe Describer) Entry {
	e := Entry{Action: a, RequestID: r.ID(), Kind: r.Kind, Environment: r.Metadata.Environment, Name: r.Metadata.Name,
		Owner: r.Metadata.Owner, Team: r.Metadata.Team, Changes: changes}
	if describe != nil {
		e.Resources = describe(r)
	}
	return e
}

// FieldChanges lists the fields that differ between two versions of a request, as "path: old → new".
func FieldChanges(old, new *contract.Request) []string {
	a, b := flatten(old), flatten(new)
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var out []string
	for k := range keys {
		if a[k] != b[k] {
			out = append(out, fmt.Sprintf("%s: %s → %s", k, show(a[k]), show(b[k])))
		}
	}
	sort.Strings(out)
	return out
}

func show(s string) string {
	if s == "" {
		return "(unset)"
	}
	return s
}

func flatten(r *contract.Request) map[string]string {
	raw, _ := json.Marshal(struct {
		Metadata contract.Metadata `json:"metadata"`
		Spec     contract.Spec     `json:"spec"`
	}{r.Metadata, r.Spec})
	var v any
	_ = json.Unmarshal(raw, &v)
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, c := range t {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, c)
			}
		default:
			out[prefix] = fmt.Sprint(t)
		}
	}
	walk("", v)
	return out
}
