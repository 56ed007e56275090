package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/catalog"
)

// TestOwnEntities checks the entities goldenpath produces: Users and Groups from its users, a Resource per
// request that follows the request's status, and the templates.
func TestOwnEntities(t *testing.T) {
	e := start(t, startOptions{})
	tm := cast(e)
	ctx := context.Background()
	get := func(kind, name string) *catalog.Entity {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			ent, err := e.app.Catalog.Get(ctx, catalog.Ref{Kind: kind, Namespace: "default", Name: name})
			if err == nil {
				return ent
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s:default/%s never appeared in the catalog: %v", kind, name, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	alice := get("user", "alice")
	if !hasRelation(alice, "memberOf", "group:default/payments") {
		t.Errorf("alice's relations: %+v", alice.Relations)
	}
	get("group", "payments")
	if tmpl := get("template", "app-template"); tmpl.Spec["type"] != "service" {
		t.Errorf("app-template entity spec: %v", tmpl.Spec)
	}
	e.approveAndMerge(e.file(tm.alice, contractDoc("S3Request", "assets", "alice", "payments", "dev", "  size: small\n")), tm.bob)
	e.waitPhase("s3.dev.assets", "Ready", 10*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := e.app.Catalog.Get(ctx, catalog.Ref{Kind: "resource", Namespace: "default", Name: "s3.dev.assets"})
		if err == nil && res.Metadata.Annotations["goldenpath.io/phase"] == "Ready" {
			if !hasRelation(res, "ownedBy", "group:default/payments") || res.Spec["type"] != "s3-bucket" {
				t.Errorf("resource entity: %+v", res)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Resource for s3.dev.assets never showed Ready: %+v, %v", res, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func hasRelation(e *catalog.Entity, typ, target string) bool {
	for _, r := range e.Relations {
		if r.Type == typ && r.TargetRef == target {
			return true
		}
	}
	return false
}
