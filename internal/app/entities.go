package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/catalog"
	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/scaffolder"
	"github.com/goldenpathidp/goldenpath/internal/store"
	"go.yaml.in/yaml/v3"
)

// Sources of the entities goldenpath produces itself.
const (
	sourceOrg       = "goldenpath:org"       // Groups and Users from goldenpath's users
	sourceRequests  = "goldenpath:requests"  // a Resource per request, with its live status
	sourceTemplates = "goldenpath:templates" // the platform repository's templates
)

// resourceTypes names the catalog Resource type of each contract kind.
var resourceTypes = map[string]string{
	string(contract.ECR): "container-registry", string(contract.RDS): "database", string(contract.S3): "s3-bucket",
	string(contract.Secret): "secret", string(contract.EKS): "kubernetes-cluster",
}

// syncEntities keeps goldenpath's own entities in the catalog: it rebuilds them when what they come from
// changes (checked every interval; cheap fingerprints, so an idle platform does no catalog writes).
func (a *App) syncEntities(ctx context.Context, interval time.Duration) {
	last := map[string]string{}
	var templates templateCache
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for source, build := range map[string]func(context.Context) ([]*catalog.Entity, error){
			sourceOrg: a.orgEntities, sourceRequests: a.requestEntities, sourceTemplates: func(ctx context.Context) ([]*catalog.Entity, error) { return a.templateEntities(ctx, &templates) },
		} {
			entities, err := build(ctx)
			if err != nil {
				if ctx.Err() == nil {
					a.log.Warn("building catalog entities", "source", source, "err", err)
				}
				continue
			}
			fp := fingerprint(entities)
			if fp == last[source] {
				continue
			}
			if err := a.Catalog.ReplaceSource(ctx, source, entities); err != nil {
				if ctx.Err() == nil {
					a.log.Warn("storing catalog entities", "source", source, "err", err)
				}
				continue
			}
			last[source] = fp
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// fingerprint hashes entities as JSON streamed into the hash: it runs every second, and marshalling every
// template to YAML here was most of an idle goldenpath's garbage (about 4 MB a second).
func fingerprint(entities []*catalog.Entity) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, e := range entities {
		_ = enc.Encode(e)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (a *App) orgEntities(ctx context.Context) ([]*catalog.Entity, error) {
	users, err := a.Store.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	teams := map[string][]string{}
	var out []*catalog.Entity
	for _, u := range users {
		memberOf := make([]any, 0, len(u.Teams))
		for _, t := range u.Teams {
			memberOf = append(memberOf, "group:default/"+t)
			teams[t] = append(teams[t], u.Name)
		}
		profile := map[string]any{"displayName": firstNonEmpty(u.DisplayName, u.Name)}
		if u.Email != "" {
			profile["email"] = u.Email
		}
		out = append(out, &catalog.Entity{APIVersion: "backstage.io/v1alpha1", Kind: "User",
			Metadata: catalog.Metadata{Name: u.Name, Annotations: map[string]string{"goldenpath.io/roles": strings.Join(u.Roles, ",")}},
			Spec:     map[string]any{"profile": profile, "memberOf": memberOf}})
	}
	names := make([]string, 0, len(teams))
	for t := range teams {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		out = append(out, &catalog.Entity{APIVersion: "backstage.io/v1alpha1", Kind: "Group",
			Metadata: catalog.Metadata{Name: t, Description: "A goldenpath team"},
			Spec:     map[string]any{"type": "team", "children": []any{}}})
	}
	return out, nil
}

func (a *App) requestEntities(ctx context.Context) ([]*catalog.Entity, error) {
	reqs, err := a.Store.ListRequests(ctx, store.RequestFilter{Active: true})
	if err != nil {
		return nil, err
	}
	out := make([]*catalog.Entity, 0, len(reqs))
	for _, r := range reqs {
		if r.Phase == store.PhasePending {
			continue // not desired yet: it exists once its change request merges
		}
		reason, message := "", ""
		for _, c := range r.Conditions {
			if c.Type == "Ready" {
				reason, message = c.Reason, c.Message
			}
		}
		kind, _ := contract.Kind(r.Kind).Info()
		out = append(out, &catalog.Entity{APIVersion: "backstage.io/v1alpha1", Kind: "Resource",
			Metadata: catalog.Metadata{Name: r.ID, Title: fmt.Sprintf("%s %s (%s)", kind.Title, r.Name, r.Environment),
				Description: message,
				Labels:      map[string]string{"goldenpath.io/environment": r.Environment, "goldenpath.io/phase": strings.ToLower(r.Phase)},
				Annotations: map[string]string{"goldenpath.io/request-id": r.ID, "goldenpath.io/phase": r.Phase,
					"goldenpath.io/ready-reason": reason, "goldenpath.io/contract": contract.PathFor(contract.Kind(r.Kind), r.Name)},
				Tags: []string{kind.Short, r.Environment}},
			Spec: map[string]any{"type": resourceTypes[r.Kind], "owner": "group:default/" + r.Team, "lifecycle": "production"}})
	}
	return out, nil
}

// templateCache keeps the template entities built for one list of templates (where each was read from).
type templateCache struct {
	key      string
	entities []*catalog.Entity
}

func (a *App) templateEntities(ctx context.Context, cache *templateCache) ([]*catalog.Entity, error) {
	found, _, err := a.Scaffolder.Templates().List(ctx)
	if err != nil {
		return nil, err
	}
	// The templates only change with where they are read from (a commit): rebuild the entities then, not
	// every second.
	var key strings.Builder
	for _, f := range found {
		fmt.Fprintf(&key, "%s@%s:%s\n", f.Source.Repo, f.Source.Commit, f.Source.Dir)
	}
	if cache.entities != nil && cache.key == key.String() {
		return cache.entities, nil
	}
	out := make([]*catalog.Entity, 0, len(found))
	for _, f := range found {
		if f.Registered {
			continue // in the catalog already, through its Location
		}
		e, err := templateEntity(f)
		if err != nil {
			continue // reported once per commit of main by the template list
		}
		out = append(out, e)
	}
	cache.key, cache.entities = key.String(), out
	return out, nil
}

// templateEntity turns a template into its catalog entity (a template.yaml is one).
func templateEntity(f scaffolder.Found) (*catalog.Entity, error) {
	raw, err := yaml.Marshal(f.Template)
	if err != nil {
		return nil, err
	}
	entities, errs := catalog.ParseEntities(f.Source.FilePath(), raw)
	if len(errs) > 0 || len(entities) != 1 {
		return nil, fmt.Errorf("%v", errs)
	}
	e := entities[0]
	if e.Metadata.Annotations == nil {
		e.Metadata.Annotations = map[string]string{}
	}
	e.Metadata.Annotations["goldenpath.io/template-source"] = f.Source.Dir
	return e, nil
}
