package app

import (
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/platform"
)

func TestOwnership(t *testing.T) {
	for _, tt := range []struct {
		repo, owner, team string
		want              bool
	}{
		{"payments/orders", "alice", "payments", true}, // the request's team
		{"alice/tools", "alice", "payments", true},     // a user's repository, the request's owner
		{"search/ledger", "alice", "payments", false},  // another team's request
		{"search/ledger", "", "", false},
		{"orders", "alice", "payments", false}, // a repository without an owner owns nothing
		{"orders", "", "", false},
	} {
		if got := ownedBy(appOwner(tt.repo), tt.owner, tt.team); got != tt.want {
			t.Errorf("ownedBy(%s's owner, %s, %s) = %v, want %v", tt.repo, tt.owner, tt.team, got, tt.want)
		}
	}
}

func TestReservedAppNames(t *testing.T) {
	cfg := &platform.Config{Kong: platform.Kong{Namespace: "kong-system"}}
	for _, name := range []string{"default", "kube-system", "kube-public", "platform", "argocd", "cert-manager", "kong-system"} {
		if reservedAppName(cfg, name) == "" {
			t.Errorf("%s is not reserved", name)
		}
	}
	for _, name := range []string{"orders", "kubernetes-dashboard-x", "platform-api"} {
		if r := reservedAppName(cfg, name); r != "" {
			t.Errorf("%s is reserved: %s", name, r)
		}
	}
}

// TestLogsSinceTheClaim: an app's log shows only what ran since its repository claimed the name.
func TestLogsSinceTheClaim(t *testing.T) {
	claimed := time.Date(2026, 5, 1, 12, 0, 0, 500, time.UTC)
	log := "--- goldenpath: started r/dev/x:v1 (pid 1, port 2) at 2026-05-01T11:00:00Z\nold secret\n" +
		"--- goldenpath: started r/dev/x:v2 (pid 3, port 4) at 2026-05-01T12:00:00Z\nmine\n" +
		"--- goldenpath: started r/dev/x:v3 (pid 5, port 6) at 2026-05-01T13:00:00Z\nmine too\n"
	got := string(since([]byte(log), claimed))
	if strings.Contains(got, "old secret") || !strings.HasPrefix(got, "--- goldenpath: started r/dev/x:v2") || !strings.HasSuffix(got, "mine too\n") {
		t.Errorf("since the claim:\n%s", got)
	}
	if got := since([]byte("output before any start line\n"), claimed); len(got) != 0 {
		t.Errorf("a log without a start since the claim: %q, want nothing", got)
	}
	if got := since([]byte(log), claimed.Add(3*time.Hour)); len(got) != 0 {
		t.Errorf("a log from before the claim: %q, want nothing", got)
	}
}

// TestLoopbackURL: anonymous registry webhooks are allowed only when nothing beyond this machine reaches
// the listener (see openDelivery).
func TestLoopbackURL(t *testing.T) {
	for u, want := range map[string]bool{
		"http://127.0.0.1:7070": true, "http://localhost:7070": true, "http://[::1]:7070": true,
		"http://0.0.0.0:7070": false, "http://10.0.0.5:7070": false, "http://[::]:7070": false, "http://goldenpath.example:7070": false,
	} {
		if got := loopbackURL(u); got != want {
			t.Errorf("loopbackURL(%s) = %v, want %v", u, got, want)
		}
	}
}

// TestHidePrivate: users outside an app's team see its state, not what may quote its output.
func TestHidePrivate(t *testing.T) {
	secret := "boom: DATABASE_URL=postgres://u:hunter2@db/x"
	e := AppEnvironment{Status: "failed", Message: secret, Local: &LocalState{LastError: secret},
		Last: &Deployment{Status: "failed", Message: secret}}
	shared := e.Local
	hidePrivate(&e)
	for what, s := range map[string]string{"message": e.Message, "local.lastError": e.Local.LastError, "last.message": e.Last.Message} {
		if strings.Contains(s, "hunter2") || !strings.Contains(s, privateDetail) {
			t.Errorf("%s = %q, want it hidden", what, s)
		}
	}
	if shared.LastError != secret {
		t.Errorf("hiding changed the shared state: %q", shared.LastError)
	}
	ok := AppEnvironment{Status: "running", Message: "running locally", Local: &LocalState{}, Last: &Deployment{Status: "deployed", Message: "already pinned"}}
	hidePrivate(&ok)
	if ok.Message != "running locally" || ok.Last.Message != "already pinned" {
		t.Errorf("hiding touched what quotes nothing: %+v %+v", ok, ok.Last)
	}
}

func TestOverlayApp(t *testing.T) {
	for p, want := range map[string]string{
		"gitops/kustomize/overlays/dev/apps/orders/kustomization.yaml":     "orders",
		"gitops/kustomize/overlays/prod/apps/orders/patches/env.yaml":      "orders",
		"gitops/argocd/apps/dev/orders.yaml":                               "orders",
		"gitops/argocd/apps/dev/kustomization.yaml":                        "",
		"gitops/kustomize/overlays/dev/platform/kong/ingress-tooling.yaml": "",
		"docs/20-contracts/s3-requests/orders/S3-REQUEST.yaml":             "",
		"gitops/kustomize/overlays/dev/apps/orders":                        "",
	} {
		got, ok := overlayApp(p)
		if got != want || ok != (want != "") {
			t.Errorf("overlayApp(%q) = %q, %v; want %q", p, got, ok, want)
		}
	}
}
