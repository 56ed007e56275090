package e2e

// The security matrix: every route goldenpath serves (walked from the real handlers: REST, catalog,
// scaffolder, portal, webhooks) and the other ways in (git, the registry, S3), tried by five actors on
// things team payments owns. The table it checks is docs/security.md's; `go test ./test/e2e -run
// TestSecurityMatrix -update` writes it there.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/goldenpathidp/goldenpath/internal/app"
	"github.com/goldenpathidp/goldenpath/internal/forge"
)

// The actors, in the matrix's column order: nobody, search's developer and approver (another team),
// payments' developer (the owner of everything tried) and an admin.
var actors = []string{"anonymous", "search developer", "search approver", "payments developer (owner)", "admin"}

// allowed marks a cell the actor may do. Safe methods are tried and must succeed; the others are left
// untried here (they would change the fixture) and are covered by the functional tests.
const allowed = "✓"

// probe is one row: a way in, and what each actor gets.
type probe struct {
	surface, method, path string
	note                  string // why a cell is what it is, for the reader of docs/security.md
	safe                  bool   // changes nothing even when allowed (a POST that reads), so allowed cells are tried too
	want                  [5]string
	// call tries the row as actor i (its index in actors) and returns the HTTP status.
	call func(w *world, i int) int
}

// world is payments' belongings and the actors' credentials.
type world struct {
	e      *env
	tokens [5]string // "" for anonymous
	names  [5]string
	portal [5]*portalClient

	request, secret string // payments' S3Request and SecretRequest, Ready
	change          int64  // payments' open change request on the platform repository
	repoChange      int64  // payments' open change request on payments/orders
	task            string // payments' scaffolder task
	entityUID       string // component:default/orders, owned by group:default/payments
	location        string // its location
	tokenID         string // one of alice's tokens
	aliceS3         map[string]any
	searchS3        map[string]any
	crBranch        string // the branch of payments' open change request
	draft           string // alice's filled-in form in the portal, waiting for review
	imageRepo       string // payments' registry repository, once made
	webhookSecret   string
}

func TestSecurityMatrix(t *testing.T) {
	w := newWorld(t)
	probes := matrixProbes()

	// Every route the program serves has a row, and every row names a route the program serves.
	served := map[string]bool{}
	for _, r := range w.e.app.Routes() {
		served[r] = true
	}
	rows := map[string]bool{}
	for _, p := range probes {
		if p.surface == "git" || p.surface == "registry" || p.surface == "S3" {
			continue
		}
		key := p.method + " " + p.path
		rows[key] = true
		if !served[key] {
			t.Errorf("the matrix has a row for %s, which goldenpath does not serve", key)
		}
	}
	for r := range served {
		if !rows[r] {
			t.Errorf("goldenpath serves %s, which has no row in the security matrix: add one to matrixProbes", r)
		}
	}

	for _, p := range probes {
		for i := range actors {
			want := p.want[i]
			if want == allowed && !p.safe && p.method != "GET" && p.method != "CLONE" && p.method != "PULL" {
				continue
			}
			got := p.call(w, i)
			switch {
			case want == allowed && (got < 200 || got > 299):
				t.Errorf("%s %s %s as %s: got %d, want 2xx", p.surface, p.method, p.path, actors[i], got)
			case want != allowed && strconv.Itoa(got) != want:
				t.Errorf("%s %s %s as %s: got %d, want %s", p.surface, p.method, p.path, actors[i], got, want)
			}
		}
	}
	checkMatrixDoc(t, probes)

	// What was done above is in the audit log, which admins read (the API's refusal of others is a row).
	var audit struct {
		Items []struct{ Actor, Action, Target string }
	}
	w.e.must(200, "GET", "/api/v1/audit?limit=1000", w.tokens[4], nil).json(t, &audit)
	seen := map[string]bool{}
	for _, a := range audit.Items {
		seen[a.Actor+" "+a.Action+" "+a.Target] = true
	}
	for _, want := range []string{"alice request.credentials " + w.request, "alice secret.set " + w.secret, "alice token.list user/alice",
		"alice portal.signin user/alice", fmt.Sprintf("alice change.open change/%d", w.change)} {
		if !seen[want] {
			t.Errorf("the audit log lacks %q", want)
		}
	}
	if code, out, errOut := w.e.goldenpath(w.tokens[4], "audit", "--limit", "5"); code != 0 || !strings.Contains(out, "ACTION") {
		t.Errorf("goldenpath audit: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := w.e.goldenpath(w.tokens[1], "audit"); code == 0 || !strings.Contains(errOut, "admin") {
		t.Errorf("goldenpath audit as a developer: exit %d, %s; want refused", code, errOut)
	}
}

func newWorld(t *testing.T) *world {
	secret := "matrix-webhook-secret"
	e := start(t, startOptions{config: func(c *app.Config) {
		c.Getenv = func(k string) string {
			if k == "GOLDENPATH_WEBHOOK_SECRET" {
				return secret
			}
			return testGetenv(k)
		}
	}})
	tm := twoTeams(e)
	w := &world{e: e, webhookSecret: secret}
	w.tokens = [5]string{"", tm.seadev, tm.sara, tm.alice, e.admin}
	w.names = [5]string{"", "seadev", "sara", "alice", "admin"}
	ctx := context.Background()

	// Requests: a bucket and a secret of payments', Ready; a bucket of search's.
	for _, doc := range []string{
		contractDoc("S3Request", "mx-bucket", "alice", "payments", "dev", "  size: small\n"),
		contractDoc("SecretRequest", "mx-key", "alice", "payments", "dev", "  description: a key\n"),
	} {
		e.approveAndMerge(e.file(tm.alice, doc), tm.paula)
	}
	e.approveAndMerge(e.file(tm.seadev, contractDoc("S3Request", "mx-search", "seadev", "search", "dev", "  size: small\n")), tm.sara)
	w.request, w.secret = "s3.dev.mx-bucket", "secret.dev.mx-key"
	e.waitPhase(w.request, "Ready", 30*time.Second)
	e.waitPhase(w.secret, "Ready", 30*time.Second)
	e.waitPhase("s3.dev.mx-search", "Ready", 30*time.Second)
	e.must(200, "PUT", "/api/v1/secrets/"+w.secret, tm.alice, map[string]string{"value": "s3cr3t"})
	w.aliceS3 = e.credentials(w.request, tm.alice)
	w.searchS3 = e.credentials("s3.dev.mx-search", tm.seadev)

	// An open change request of payments' on the platform repository.
	w.change = e.file(tm.alice, contractDoc("S3Request", "mx-bucket", "alice", "payments", "dev", "  size: medium\n"))
	w.crBranch = e.must(200, "GET", fmt.Sprintf("/api/v1/changes/%d", w.change), tm.alice, nil).field(t, "branch").(string)

	// payments/orders: an app repository with a catalog file, a work-in-progress branch and its change request.
	if _, err := e.app.Forge.CreateRepo(ctx, "payments/orders", "main"); err != nil {
		t.Fatal(err)
	}
	dir := clone(t, e, "alice", tm.alice, "payments/orders")
	git(t, dir, "config", "user.name", "alice")
	git(t, dir, "config", "user.email", "alice@example.com")
	commitFiles(t, dir, "main", map[string]string{
		"catalog-info.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: orders\nspec:\n  type: service\n  lifecycle: production\n  owner: group:default/payments\n",
		"README.md":         "orders\n",
		"score.yaml":        "apiVersion: score.dev/v1b1\nmetadata:\n  name: orders\ncontainers:\n  main:\n    image: .\n",
	})
	git(t, dir, "push", "-q", "origin", "HEAD:main")
	commitFiles(t, dir, "wip", map[string]string{"README.md": "work in progress\n"})
	git(t, dir, "push", "-q", "origin", "wip")
	w.repoChange = changeNumber(e, openChange(e, tm.alice, "payments/orders", "wip"))
	loc := e.must(201, "POST", "/api/catalog/locations", tm.alice, map[string]string{"type": "url", "target": e.app.URL() + "/git/payments/orders/blob/main/catalog-info.yaml"})
	var added struct {
		Location struct{ ID string } `json:"location"`
	}
	loc.json(t, &added)
	w.location = added.Location.ID
	waitFor(t, 10*time.Second, "the orders component in the catalog", func() bool {
		r := e.call("GET", "/api/catalog/entities/by-name/component/default/orders", tm.alice, nil)
		if r.status != 200 {
			return false
		}
		var ent struct{ Metadata struct{ UID string } }
		r.json(t, &ent)
		w.entityUID = ent.Metadata.UID
		return w.entityUID != ""
	})

	// A scaffolder task of payments' (a template of one step, merged to main as an admin would).
	e.commitMain(ctx, "a template", forge.Change{Path: "templates/mx-hello/template.yaml", Content: []byte(
		"apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: mx-hello}\nspec:\n  type: service\n  steps:\n    - {id: hi, action: debug:log, input: {message: hello}}\n")})
	waitFor(t, 10*time.Second, "the mx-hello template", func() bool {
		return e.call("GET", "/api/scaffolder/v2/templates/default/template/mx-hello/parameter-schema", tm.alice, nil).status == 200
	})
	w.task = e.task(tm.alice, "mx-hello", map[string]any{}, nil)
	e.waitTask(tm.alice, w.task, 30*time.Second)

	var toks struct{ Items []struct{ ID string } }
	e.must(200, "GET", "/api/v1/users/alice/tokens", tm.alice, nil).json(t, &toks)
	w.tokenID = toks.Items[0].ID

	for i, tok := range w.tokens {
		w.portal[i] = newPortalClient(t, e, tok)
	}
	resp := w.portal[3].post("/create/mx-hello", url.Values{"csrf": {w.portal[3].csrf}})
	draft, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || err != nil || draft.Query().Get("draft") == "" {
		t.Fatalf("filling in mx-hello's form: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	w.draft = draft.Query().Get("draft")
	return w
}

// rest calls a JSON endpoint as actor i.
func (w *world) rest(i int, method, path string, body any) int {
	return w.e.call(method, path, w.tokens[i], body).status
}

// restProbe is a row for a Bearer-token endpoint (REST, catalog, scaffolder).
func restProbe(surface, method, pattern, path string, body any, note string, want ...string) probe {
	return probe{surface: surface, method: method, path: pattern, note: note, want: [5]string(want),
		call: func(w *world, i int) int { return w.rest(i, method, w.fill(path), w.fillBody(body)) }}
}

// fillBody fills the fixture's identifiers into a body's strings.
func (w *world) fillBody(body any) any {
	switch b := body.(type) {
	case string:
		return w.fill(b)
	case map[string]string:
		out := map[string]string{}
		for k, v := range b {
			out[k] = w.fill(v)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, v := range b {
			out[k] = w.fillBody(v)
		}
		return out
	}
	return body
}

// reads marks a row whose request changes nothing, so its allowed cells are tried too.
func reads(p probe) probe { p.safe = true; return p }

// fill puts the fixture's identifiers into a path: {request}, {secret}, {change}, {repoChange}, {task},
// {uid}, {location}, {token}.
func (w *world) fill(p string) string {
	return strings.NewReplacer("{request}", w.request, "{secret}", w.secret, "{change}", strconv.FormatInt(w.change, 10),
		"{repoChange}", strconv.FormatInt(w.repoChange, 10), "{task}", w.task, "{uid}", w.entityUID,
		"{location}", w.location, "{token}", w.tokenID, "{base}", w.e.app.URL(), "{draft}", w.draft).Replace(p)
}

const (
	ok = allowed
	u  = "401"
	fb = "403"
	nf = "404"
)

func matrixProbes() []probe {
	update := contractDoc("S3Request", "mx-bucket", "seadev", "search", "dev", "  size: large\n")
	return []probe{
		// REST: /api/v1
		restProbe("REST", "GET", "/api/v1/openapi.json", "/api/v1/openapi.json", nil, "public", ok, ok, ok, ok, ok),
		restProbe("REST", "GET", "/api/v1/whoami", "/api/v1/whoami", nil, "", u, ok, ok, ok, ok),
		restProbe("REST", "GET", "/api/v1/platform", "/api/v1/platform", nil, "no secrets: the PostgreSQL URL is redacted", u, ok, ok, ok, ok),
		restProbe("REST", "GET", "/api/v1/schemas/{kind}", "/api/v1/schemas/S3Request", nil, "public", ok, ok, ok, ok, ok),
		restProbe("REST", "POST", "/api/v1/requests", "/api/v1/requests", update, "another team's request: only its owners may change or transfer it", u, fb, fb, ok, ok),
		restProbe("REST", "GET", "/api/v1/requests", "/api/v1/requests", nil, "status only; secrets are never in a request record", u, ok, ok, ok, ok),
		restProbe("REST", "GET", "/api/v1/requests/{id}", "/api/v1/requests/{request}", nil, "", u, ok, ok, ok, ok),
		restProbe("REST", "DELETE", "/api/v1/requests/{id}", "/api/v1/requests/{request}", nil, "", u, fb, fb, ok, ok),
		restProbe("REST", "GET", "/api/v1/requests/{id}/credentials", "/api/v1/requests/{request}/credentials", nil, "owner, team, admins; audited", u, fb, fb, ok, ok),
		restProbe("REST", "GET", "/api/v1/changes", "/api/v1/changes", nil, "", u, ok, ok, ok, ok),
		restProbe("REST", "POST", "/api/v1/changes", "/api/v1/changes", map[string]string{"repo": "payments/orders", "branch": "wip"}, "on payments/orders: needs the right to push to it", u, fb, fb, ok, ok),
		restProbe("REST", "GET", "/api/v1/changes/{number}", "/api/v1/changes/{change}", nil, "", u, ok, ok, ok, ok),
		restProbe("REST", "POST", "/api/v1/changes/{number}/approve", "/api/v1/changes/{change}/approve", nil, "approvers other than the author and the commits' pushers; an approval from another team does not consent for payments", u, fb, ok, fb, ok),
		restProbe("REST", "POST", "/api/v1/changes/{number}/reject", "/api/v1/changes/{change}/reject", nil, "approvers", u, fb, ok, fb, ok),
		restProbe("REST", "POST", "/api/v1/changes/{number}/close", "/api/v1/changes/{change}/close", nil, "the author or an admin", u, fb, fb, ok, ok),
		restProbe("REST", "POST", "/api/v1/changes/{number}/merge", "/api/v1/changes/{repoChange}/merge", nil, "on payments/orders: needs the right to push to it", u, fb, fb, "422", ok),
		restProbe("REST", "POST", "/api/v1/changes/{number}/comments", "/api/v1/changes/{change}/comments", map[string]string{"body": "hi"}, "anyone may comment", u, ok, ok, ok, ok),
		restProbe("REST", "PUT", "/api/v1/secrets/{id}", "/api/v1/secrets/{secret}", map[string]string{"value": "x"}, "owner, team, admins; audited", u, fb, fb, ok, ok),
		restProbe("REST", "GET", "/api/v1/secrets/{id}", "/api/v1/secrets/{secret}", nil, "owner, team, admins; audited", u, fb, fb, ok, ok),
		restProbe("REST", "GET", "/api/v1/edge", "/api/v1/edge", nil, "", u, ok, ok, ok, ok),
		restProbe("REST", "GET", "/api/v1/dns/plan", "/api/v1/dns/plan", nil, "", u, ok, ok, ok, ok),
		restProbe("REST", "POST", "/api/v1/dns/apply", "/api/v1/dns/apply", nil, "admins", u, fb, fb, fb, ok),
		restProbe("REST", "GET", "/api/v1/gateway/ca.pem", "/api/v1/gateway/ca.pem", nil, "public: the root to trust", ok, ok, ok, ok, ok),
		restProbe("REST", "GET", "/api/v1/apps", "/api/v1/apps", nil, "", u, ok, ok, ok, ok),
		restProbe("REST", "GET", "/api/v1/apps/{name}", "/api/v1/apps/orders", nil, "failure details only to the owning team and admins", u, ok, ok, ok, ok),
		restProbe("REST", "GET", "/api/v1/apps/{name}/logs", "/api/v1/apps/orders/logs", nil, "the app's owning team and admins; orders never ran, so 404 to them", u, fb, fb, nf, nf),
		restProbe("REST", "GET", "/api/v1/deployments", "/api/v1/deployments", nil, "", u, ok, ok, ok, ok),
		restProbe("REST", "GET", "/api/v1/audit", "/api/v1/audit", nil, "admins", u, fb, fb, fb, ok),
		restProbe("REST", "GET", "/api/v1/users", "/api/v1/users", nil, "admins", u, fb, fb, fb, ok),
		restProbe("REST", "POST", "/api/v1/users", "/api/v1/users", map[string]any{"name": "mx-new", "roles": []string{"admin"}}, "admins", u, fb, fb, fb, ok),
		restProbe("REST", "POST", "/api/v1/users/{name}/tokens", "/api/v1/users/alice/tokens", nil, "the user, or admins; never outliving the caller's token", u, fb, fb, ok, ok),
		restProbe("REST", "GET", "/api/v1/users/{name}/tokens", "/api/v1/users/alice/tokens", nil, "the user, or admins; never the token itself", u, fb, fb, ok, ok),
		restProbe("REST", "DELETE", "/api/v1/tokens/{id}", "/api/v1/tokens/{token}", nil, "the token's user, or admins", u, fb, fb, ok, ok),
		restProbe("REST", "PATCH", "/api/v1/users/{name}", "/api/v1/users/alice", map[string]any{"roles": []string{"admin"}}, "admins; never the last admin", u, fb, fb, fb, ok),
		restProbe("REST", "DELETE", "/api/v1/users/{name}", "/api/v1/users/alice", nil, "admins; never the last admin or goldenpath's bot", u, fb, fb, fb, ok),

		// Backstage's catalog API.
		restProbe("catalog", "GET", "/api/catalog/entities", "/api/catalog/entities", nil, "everyone signed in reads the catalog", u, ok, ok, ok, ok),
		restProbe("catalog", "GET", "/api/catalog/entities/by-query", "/api/catalog/entities/by-query", nil, "", u, ok, ok, ok, ok),
		reads(restProbe("catalog", "POST", "/api/catalog/entities/by-query", "/api/catalog/entities/by-query", map[string]any{}, "a read", u, ok, ok, ok, ok)),
		restProbe("catalog", "GET", "/api/catalog/entities/by-uid/{uid}", "/api/catalog/entities/by-uid/{uid}", nil, "", u, ok, ok, ok, ok),
		restProbe("catalog", "DELETE", "/api/catalog/entities/by-uid/{uid}", "/api/catalog/entities/by-uid/{uid}", nil, "the owning team, its location's owner, admins; never goldenpath's own", u, fb, fb, ok, ok),
		restProbe("catalog", "GET", "/api/catalog/entities/by-name/{kind}/{namespace}/{name}", "/api/catalog/entities/by-name/component/default/orders", nil, "", u, ok, ok, ok, ok),
		restProbe("catalog", "GET", "/api/catalog/entities/by-name/{kind}/{namespace}/{name}/ancestry", "/api/catalog/entities/by-name/component/default/orders/ancestry", nil, "", u, ok, ok, ok, ok),
		reads(restProbe("catalog", "POST", "/api/catalog/entities/by-refs", "/api/catalog/entities/by-refs", map[string]any{"entityRefs": []string{"component:default/orders"}}, "a read", u, ok, ok, ok, ok)),
		restProbe("catalog", "GET", "/api/catalog/entity-facets", "/api/catalog/entity-facets?facet=kind", nil, "", u, ok, ok, ok, ok),
		reads(restProbe("catalog", "POST", "/api/catalog/entity-facets", "/api/catalog/entity-facets", map[string]any{"facets": []string{"kind"}}, "a read", u, ok, ok, ok, ok)),
		restProbe("catalog", "GET", "/api/catalog/locations", "/api/catalog/locations", nil, "", u, ok, ok, ok, ok),
		restProbe("catalog", "POST", "/api/catalog/locations", "/api/catalog/locations", map[string]string{"type": "url", "target": "{base}/git/payments/orders/blob/main/other.yaml"}, "into payments' repository: its team and admins", u, fb, fb, ok, ok),
		reads(restProbe("catalog", "POST", "/api/catalog/locations/by-query", "/api/catalog/locations/by-query", map[string]any{"limit": 10}, "a read", u, ok, ok, ok, ok)),
		restProbe("catalog", "GET", "/api/catalog/locations/{id}", "/api/catalog/locations/{location}", nil, "", u, ok, ok, ok, ok),
		restProbe("catalog", "PUT", "/api/catalog/locations/{id}", "/api/catalog/locations/{location}", map[string]string{"type": "url", "target": "{base}/git/payments/orders/blob/main/other.yaml"},
			"as removing it, and the new target's repository must be the caller's to register in; never goldenpath's own", u, fb, fb, ok, ok),
		restProbe("catalog", "DELETE", "/api/catalog/locations/{id}", "/api/catalog/locations/{location}", nil, "the repository's team or the registrant, admins; never goldenpath's own", u, fb, fb, ok, ok),
		restProbe("catalog", "GET", "/api/catalog/locations/by-entity/{kind}/{namespace}/{name}", "/api/catalog/locations/by-entity/component/default/orders", nil, "", u, ok, ok, ok, ok),
		reads(restProbe("catalog", "POST", "/api/catalog/refresh", "/api/catalog/refresh", map[string]string{"entityRef": "component:default/orders"}, "anyone, when it changes nothing; the owners otherwise", u, ok, ok, ok, ok)),
		reads(restProbe("catalog", "POST", "/api/catalog/validate-entity", "/api/catalog/validate-entity", map[string]any{"location": "url:{base}/x",
			"entity": map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": map[string]any{"name": "x"},
				"spec": map[string]any{"type": "service", "lifecycle": "production", "owner": "group:default/payments"}}}, "validation only", u, ok, ok, ok, ok)),
		reads(restProbe("catalog", "POST", "/api/catalog/analyze-location", "/api/catalog/analyze-location", map[string]any{"location": map[string]string{"type": "url", "target": "{base}/git/payments/orders/blob/main/catalog-info.yaml"}}, "a read", u, ok, ok, ok, ok)),

		// Backstage's scaffolder API.
		restProbe("scaffolder", "POST", "/api/scaffolder/v2/tasks", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/mx-hello", "values": map[string]any{}}, "anyone may run a template on main; the task is theirs", u, ok, ok, ok, ok),
		restProbe("scaffolder", "GET", "/api/scaffolder/v2/tasks", "/api/scaffolder/v2/tasks", nil, "lists only the tasks the caller may read", u, ok, ok, ok, ok),
		restProbe("scaffolder", "GET", "/api/scaffolder/v2/tasks/{id}", "/api/scaffolder/v2/tasks/{task}", nil, "the creator, the creator's teams, admins; 404 to the rest", u, nf, nf, ok, ok),
		restProbe("scaffolder", "GET", "/api/scaffolder/v2/tasks/{id}/events", "/api/scaffolder/v2/tasks/{task}/events", nil, "", u, nf, nf, ok, ok),
		restProbe("scaffolder", "GET", "/api/scaffolder/v2/tasks/{id}/eventstream", "/api/scaffolder/v2/tasks/{task}/eventstream", nil, "", u, nf, nf, ok, ok),
		restProbe("scaffolder", "POST", "/api/scaffolder/v2/tasks/{id}/cancel", "/api/scaffolder/v2/tasks/{task}/cancel", nil, "the creator or admins", u, nf, nf, ok, ok),
		restProbe("scaffolder", "POST", "/api/scaffolder/v2/tasks/{id}/retry", "/api/scaffolder/v2/tasks/{task}/retry", nil, "the creator or admins", u, nf, nf, ok, ok),
		reads(restProbe("scaffolder", "POST", "/api/scaffolder/v2/dry-run", "/api/scaffolder/v2/dry-run", map[string]any{"values": map[string]any{}, "template": map[string]any{
			"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": map[string]any{"name": "dry"},
			"spec": map[string]any{"type": "service", "steps": []any{map[string]any{"id": "hi", "action": "debug:log", "input": map[string]any{"message": "hi"}}}}}},
			"creates nothing: a workspace in memory, capped", u, ok, ok, ok, ok)),
		restProbe("scaffolder", "GET", "/api/scaffolder/v2/actions", "/api/scaffolder/v2/actions", nil, "", u, ok, ok, ok, ok),
		restProbe("scaffolder", "GET", "/api/scaffolder/v2/templates/{ns}/{kind}/{name}/parameter-schema", "/api/scaffolder/v2/templates/default/template/mx-hello/parameter-schema", nil, "", u, ok, ok, ok, ok),
		restProbe("scaffolder", "GET", "/api/scaffolder/v2/templates", "/api/scaffolder/v2/templates", nil, "", u, ok, ok, ok, ok),

		restProbe("health", "GET", "/healthz", "/healthz", nil, "public", ok, ok, ok, ok, ok),

		// Webhooks: a shared secret, never a user's token.
		webhookProbe("/webhooks/registry"),
		webhookProbe("/webhooks/ecr"),

		// The portal (a signed-in session; actions also need the session's CSRF token).
		portalProbe("GET", "/static/", "/static/style.css", "public", ok, ok, ok, ok, ok),
		portalProbe("GET", "/signin", "/signin", "signed-in visitors are sent on (303)", ok, "303", "303", "303", "303"),
		portalProbe("POST", "/signin", "", "a token is the sign-in", ok, ok, ok, ok, ok),
		portalProbe("POST", "/signout", "", "", ok, ok, ok, ok, ok),
		portalProbe("GET", "/{$}", "/", "anonymous visitors are sent to sign in (303)", "303", ok, ok, ok, ok),
		portalProbe("GET", "/catalog", "/catalog", "", "303", ok, ok, ok, ok),
		portalProbe("GET", "/catalog/{kind}/{namespace}/{name}", "/catalog/component/default/orders", "", "303", ok, ok, ok, ok),
		portalProbe("GET", "/create", "/create", "", "303", ok, ok, ok, ok),
		portalProbe("GET", "/create/{name}", "/create/mx-hello", "", "303", ok, ok, ok, ok),
		portalProbe("POST", "/create/{name}", "/create/mx-hello", "", u, ok, ok, ok, ok),
		portalProbe("GET", "/create/{name}/review", "/create/mx-hello/review?draft={draft}", "a draft is its session's alone", "303", nf, nf, ok, nf),
		portalProbe("POST", "/create/{name}/run", "/create/mx-hello/run", "", u, ok, ok, ok, ok),
		portalProbe("GET", "/tasks", "/tasks", "lists only readable tasks", "303", ok, ok, ok, ok),
		portalProbe("GET", "/tasks/{id}", "/tasks/{task}", "", "303", nf, nf, ok, ok),
		portalProbe("GET", "/tasks/{id}/events", "/tasks/{task}/events", "", "303", nf, nf, ok, ok),
		portalProbe("POST", "/tasks/{id}/cancel", "/tasks/{task}/cancel", "", u, nf, nf, ok, ok),
		portalProbe("POST", "/tasks/{id}/retry", "/tasks/{task}/retry", "", u, nf, nf, ok, ok),
		portalProbe("GET", "/apps", "/apps", "", "303", ok, ok, ok, ok),
		portalProbe("GET", "/apps/{name}", "/apps/orders", "failure details only to the owning team and admins", "303", ok, ok, ok, ok),
		portalProbe("GET", "/requests", "/requests", "", "303", ok, ok, ok, ok),
		portalProbe("GET", "/requests/{id}", "/requests/{request}", "", "303", ok, ok, ok, ok),
		portalProbe("GET", "/requests/{id}/credentials", "/requests/{request}/credentials", "owner, team, admins; audited", "303", fb, fb, ok, ok),
		portalProbe("POST", "/requests/{id}/delete", "/requests/{request}/delete", "", u, fb, fb, ok, ok),
		portalProbe("GET", "/changes", "/changes", "", "303", ok, ok, ok, ok),
		portalProbe("GET", "/changes/{number}", "/changes/{change}", "", "303", ok, ok, ok, ok),
		portalProbe("POST", "/changes/{number}/{verb}", "/changes/{repoChange}/merge", "merging into payments/orders: needs the right to push to it", u, fb, fb, "422", ok),
		portalProbe("GET", "/users", "/users", "admins", "303", fb, fb, fb, ok),
		portalProbe("GET", "/users/{name}", "/users/alice", "the user, or admins", "303", fb, fb, ok, ok),
		portalProbe("POST", "/users/{name}/set", "/users/alice/set", "admins", u, fb, fb, fb, ok),
		portalProbe("POST", "/users/{name}/delete", "/users/alice/delete", "admins", u, fb, fb, fb, ok),
		portalProbe("POST", "/tokens/{id}/revoke", "/tokens/{token}/revoke", "the token's user, or admins", u, fb, fb, ok, ok),

		// git: payments/orders is payments'; every signed-in user may read it.
		{surface: "git", method: "CLONE", path: "/git/payments/orders.git", note: "every signed-in user reads every repository", want: [5]string{u, ok, ok, ok, ok},
			call: func(w *world, i int) int { return w.gitStatus(i, "clone", "payments/orders", "") }},
		{surface: "git", method: "PUSH", path: "/git/payments/orders.git (main)", note: "the team that owns the repository, admins", want: [5]string{u, fb, fb, ok, ok},
			call: func(w *world, i int) int { return w.gitStatus(i, "push", "payments/orders", "main") }},
		{surface: "git", method: "PUSH", path: "/git/platform.git (main)", note: "admins only; everyone else opens change requests", want: [5]string{u, fb, fb, fb, ok},
			call: func(w *world, i int) int { return w.gitStatus(i, "push", "platform", "main") }},
		{surface: "git", method: "PUSH", path: "/git/platform.git (a change request's branch)", note: "its author and admins", want: [5]string{u, fb, fb, ok, ok},
			call: func(w *world, i int) int { return w.gitStatus(i, "push", "platform", w.crBranch) }},

		// The registry: payments' repository dev/mx-images (an ECRRequest of payments').
		{surface: "registry", method: "PULL", path: "/v2/dev/<payments' repository>", note: "every signed-in user pulls", want: [5]string{u, ok, ok, ok, ok},
			call: func(w *world, i int) int { return w.registryStatus(i, false) }},
		{surface: "registry", method: "PUSH", path: "/v2/dev/<payments' repository>", note: "the request's owner, team, admins", want: [5]string{u, fb, fb, ok, ok},
			call: func(w *world, i int) int { return w.registryStatus(i, true) }},

		// S3: payments' bucket, with each actor's own key (search's key is for search's bucket).
		{surface: "S3", method: "GET", path: "/<payments' bucket>/<key>", note: "only the bucket's own key; no user token is an S3 key", want: [5]string{fb, fb, fb, ok, fb},
			call: func(w *world, i int) int { return w.s3Status(i) }},
	}
}

// webhookProbe is a row for a webhook: a user's token is no credential; only the shared secret (an HMAC
// of the body) is, and what the event claims is checked with the registry before anything is committed.
func webhookProbe(path string) probe {
	return probe{surface: "webhooks", method: "POST", path: path, note: "needs the shared secret (X-Goldenpath-Signature); a user's token is not one",
		want: [5]string{u, u, u, u, u},
		call: func(w *world, i int) int {
			req, _ := http.NewRequest("POST", w.e.app.URL()+path, strings.NewReader(`{"events":[]}`))
			req.Header.Set("Content-Type", "application/json")
			if w.tokens[i] != "" {
				req.Header.Set("Authorization", "Bearer "+w.tokens[i])
			}
			resp, err := w.e.http.Do(req)
			if err != nil {
				w.e.t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}}
}

// portalClient is a browser: a cookie jar, no redirects followed, and the session's CSRF token.
type portalClient struct {
	base string
	c    *http.Client
	csrf string
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func newPortalClient(t *testing.T, e *env, token string) *portalClient {
	jar, _ := cookiejar.New(nil)
	pc := &portalClient{base: e.app.URL(), c: &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if token == "" {
		return pc
	}
	status, body := pc.do("GET", "/signin", nil)
	m := csrfInput.FindStringSubmatch(body)
	if status != 200 || m == nil {
		t.Fatalf("the sign-in page: %d", status)
	}
	if status, _ := pc.do("POST", "/signin", url.Values{"token": {token}, "csrf": {m[1]}, "next": {"/"}}); status != http.StatusSeeOther {
		t.Fatalf("signing in: %d", status)
	}
	status, body = pc.do("GET", "/", nil)
	if m = csrfInput.FindStringSubmatch(body); status != 200 || m == nil {
		t.Fatalf("the home page after signing in: %d", status)
	}
	pc.csrf = m[1]
	return pc
}

func (pc *portalClient) do(method, path string, form url.Values) (int, string) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, pc.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := pc.c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post submits a form and returns the response (its body closed).
func (pc *portalClient) post(path string, form url.Values) *http.Response {
	req, _ := http.NewRequest("POST", pc.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := pc.c.Do(req)
	if err != nil {
		return &http.Response{StatusCode: 0, Header: http.Header{}}
	}
	resp.Body.Close()
	return resp
}

func portalProbe(method, pattern, path, note string, want ...string) probe {
	return probe{surface: "portal", method: method, path: pattern, note: note, want: [5]string(want),
		call: func(w *world, i int) int {
			pc := w.portal[i]
			if method == "GET" {
				status, _ := pc.do("GET", w.fill(path), nil)
				return status
			}
			switch pattern {
			case "/signin": // a fresh client: the form's own CSRF cookie
				fresh := newPortalClient(w.e.t, w.e, "")
				_, page := fresh.do("GET", "/signin", nil)
				m := csrfInput.FindStringSubmatch(page)
				status, _ := fresh.do("POST", "/signin", url.Values{"token": {w.tokens[i]}, "csrf": {m[1]}})
				if w.tokens[i] == "" {
					return map[int]int{400: 200}[status] // an empty token is asked for again: not an error to sign-in
				}
				return map[bool]int{true: 200, false: status}[status == http.StatusSeeOther]
			case "/signout": // on a session of its own, so the actor's stays
				if w.tokens[i] == "" {
					return 200
				}
				s := newPortalClient(w.e.t, w.e, w.tokens[i])
				status, _ := s.do("POST", "/signout", url.Values{"csrf": {s.csrf}})
				return map[bool]int{true: 200, false: status}[status == http.StatusSeeOther]
			}
			status, _ := pc.do(method, w.fill(path), url.Values{"csrf": {pc.csrf}, "roles": {"admin"}})
			return status
		}}
}

// gitStatus clones a repository or pushes a new commit to one of its branches as actor i, and maps the
// outcome to an HTTP status: 200 done, 401 no credentials, 403 refused.
func (w *world) gitStatus(i int, op, repo, branch string) int {
	t := w.e.t
	u, _ := url.Parse(w.e.app.URL() + "/git/" + repo + ".git")
	if w.tokens[i] != "" {
		u.User = url.UserPassword(w.names[i], w.tokens[i])
	}
	dir := filepath.Join(t.TempDir(), "c")
	out, err := gitOut(t.TempDir(), "clone", "-q", u.String(), dir)
	if op == "clone" || err != nil {
		return gitOutcome(out, err)
	}
	if branch != "main" {
		if _, err := gitOut(dir, "fetch", "-q", "origin", branch); err != nil {
			t.Fatalf("fetching %s: %v", branch, err)
		}
		git(t, dir, "checkout", "-q", "-B", branch, "FETCH_HEAD")
	}
	if err := os.WriteFile(filepath.Join(dir, "matrix.txt"), []byte(w.names[i]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "matrix")
	out, err = gitOut(dir, "push", "origin", "HEAD:"+branch)
	return gitOutcome(out, err)
}

func gitOutcome(out string, err error) int {
	switch {
	case err == nil:
		return 200
	case strings.Contains(out, "Authentication failed") || strings.Contains(out, "could not read Username") || strings.Contains(out, "401"):
		return 401
	default:
		return 403
	}
}

// registryStatus pulls from or pushes to payments' registry repository as actor i.
func (w *world) registryStatus(i int, push bool) int {
	t := w.e.t
	repo := w.ensureImageRepo()
	ref, err := name.ParseReference(strings.TrimPrefix(w.e.app.URL(), "http://") + "/" + repo + ":v1")
	if err != nil {
		t.Fatal(err)
	}
	opt := remote.WithAuth(authn.Anonymous)
	if w.tokens[i] != "" {
		opt = remote.WithAuth(&authn.Basic{Username: w.names[i], Password: w.tokens[i]})
	}
	if push {
		img, _ := random.Image(64, 1)
		err = remote.Write(ref, img, opt)
	} else {
		_, err = remote.Image(ref, opt)
	}
	var te *transport.Error
	switch {
	case err == nil:
		return 200
	case errors.As(err, &te):
		return te.StatusCode
	default:
		t.Fatalf("registry: %v", err)
		return 0
	}
}

// ensureImageRepo makes payments' registry repository (once per world) with an image in it.
func (w *world) ensureImageRepo() string {
	if w.imageRepo != "" {
		return w.imageRepo
	}
	e := w.e
	e.approveAndMerge(e.file(w.tokens[3], contractDoc("ECRRequest", "mx-images", "alice", "payments", "dev", "  size: small\n")), w.tokens[4])
	e.waitPhase("ecr.dev.mx-images", "Ready", 30*time.Second)
	pushImage(e.t, e, "alice", w.tokens[3], "dev/mx-images", "v1", time.Now())
	w.imageRepo = "dev/mx-images"
	return w.imageRepo
}

// s3Status reads an object of payments' bucket with actor i's key: alice's own, seadev's and sara's
// search key, none for anonymous, and for the admin a goldenpath API token posing as a key.
func (w *world) s3Status(i int) int {
	ctx := context.Background()
	creds := w.aliceS3
	bucket := str(w.aliceS3, "outputs", "bucket")
	if _, err := s3Client(w.e, creds).PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("m"), Body: strings.NewReader("x")}); err != nil {
		w.e.t.Fatal(err)
	}
	switch i {
	case 0:
		resp, err := http.Get(str(creds, "outputs", "endpoint") + "/" + bucket + "/m")
		if err != nil {
			w.e.t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	case 1, 2:
		creds = w.searchS3
	case 4:
		creds = map[string]any{"outputs": map[string]any{"region": str(creds, "outputs", "region"), "endpoint": str(creds, "outputs", "endpoint"), "accessKeyId": "admin"},
			"secrets": map[string]any{"secretAccessKey": w.tokens[4]}}
	}
	_, err := s3Client(w.e, creds).GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("m")})
	var re *awshttp.ResponseError
	var apiErr smithy.APIError
	switch {
	case err == nil:
		return 200
	case errors.As(err, &re):
		return re.HTTPStatusCode()
	case errors.As(err, &apiErr):
		return 403
	default:
		w.e.t.Fatalf("S3: %v", err)
		return 0
	}
}

// checkMatrixDoc compares docs/security.md's matrix with the table (or writes it with -update).
func checkMatrixDoc(t *testing.T, probes []probe) {
	const begin, end = "<!-- matrix:begin (generated by TestSecurityMatrix; go test ./test/e2e -run TestSecurityMatrix -update) -->", "<!-- matrix:end -->"
	var b bytes.Buffer
	b.WriteString(begin + "\n\n")
	surface := ""
	for _, p := range probes {
		if p.surface != surface {
			if surface != "" {
				b.WriteString("\n")
			}
			surface = p.surface
			fmt.Fprintf(&b, "**%s**\n\n| %s | %s | note |\n|---|%s---|\n", surface, "route", strings.Join(actors, " | "), strings.Repeat("---|", len(actors)))
		}
		route := p.method + " " + p.path
		if strings.HasPrefix(p.path, p.method+" ") {
			route = p.path
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", route, strings.Join(p.want[:], " | "), p.note)
	}
	b.WriteString("\n" + end)
	path := filepath.Join("..", "..", "docs", "security.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	i, j := bytes.Index(doc, []byte(begin)), bytes.Index(doc, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("%s has no matrix markers (%q ... %q)", path, begin, end)
	}
	current := doc[i : j+len(end)]
	if bytes.Equal(current, b.Bytes()) {
		return
	}
	if *update {
		out := append(append(append([]byte{}, doc[:i]...), b.Bytes()...), doc[j+len(end):]...)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/security.md's matrix differs from the test's table; run go test ./test/e2e -run TestSecurityMatrix -update and review the diff")
}
