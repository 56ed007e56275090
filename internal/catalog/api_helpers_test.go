package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/store"
	"github.com/goldenpathidp/goldenpath/internal/store/sqlite"
)

// api is the catalog API served over real HTTP with goldenpath's real token authentication.
type api struct {
	t     *testing.T
	c     *Catalog
	files *files
	srv   *httptest.Server
	dev   string // token of a developer of team-a (alice)
	other string // token of a developer of team-b (bob)
	admin string // token of an admin
}

// teamOwner is the tests' Options.Owner: files under /teams/<team>/ are in repositories of <team>, the rest
// in repositories no one owns.
func teamOwner(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return ""
	}
	rest, ok := strings.CutPrefix(u.Path, "/teams/")
	if !ok {
		return ""
	}
	team, _, _ := strings.Cut(rest, "/")
	return team
}

func newAPI(t *testing.T, opts Options) *api {
	t.Helper()
	ctx := context.Background()
	f := newFiles(t)
	if opts.Owner == nil {
		opts.Owner = teamOwner
	}
	c, _ := openCatalog(t, f.read, opts)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "goldenpath.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	authn := auth.New(st)
	token := func(name, team string, roles ...string) string {
		if _, err := authn.AddUser(ctx, store.User{Name: name, Roles: roles, Teams: []string{team}}); err != nil {
			t.Fatal(err)
		}
		tok, _, err := authn.IssueToken(ctx, name, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	a := &api{t: t, c: c, files: f, dev: token("alice", "team-a", store.RoleDeveloper), other: token("bob", "team-b", store.RoleDeveloper), admin: token("ada", "platform", store.RoleAdmin)}
	a.srv = httptest.NewServer(c.Handler(authn))
	t.Cleanup(a.srv.Close)
	return a
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// call sends a request as the developer unless token says otherwise ("" sends none).
func (a *api) call(method, path string, body any, token ...string) reply {
	a.t.Helper()
	var rd io.Reader
	if raw, ok := body.([]byte); ok {
		rd = bytes.NewReader(raw)
	} else if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.srv.URL+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	tok := a.dev
	if len(token) > 0 {
		tok = token[0]
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// get expects 200 and decodes the body into v.
func (a *api) get(path string, v any) reply {
	a.t.Helper()
	r := a.call("GET", path, nil)
	if r.status != http.StatusOK {
		a.t.Fatalf("GET %s = %d %s, want 200", path, r.status, r.body)
	}
	if v != nil {
		r.json(a.t, v)
	}
	return r
}

// backstageError is Backstage's error body, declared apart from errorBody so that the tests check the
// wire shape rather than the type the handlers fill.
type backstageError struct {
	Error struct {
		Name    string `json:"name"`
		Message string `json:"message"`
	} `json:"error"`
	Request struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"request"`
	Response struct {
		StatusCode int `json:"statusCode"`
	} `json:"response"`
}

// wantError checks a reply is an error in Backstage's shape.
func wantError(t *testing.T, r reply, status int, name, msgHas string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d (%s), want %d", r.status, r.body, status)
	}
	var e backstageError
	r.json(t, &e)
	if e.Error.Name != name || e.Response.StatusCode != status || e.Request.Method == "" || e.Request.URL == "" {
		t.Errorf("error body = %s, want name %s, statusCode %d, the request's method and url", r.body, name, status)
	}
	if !strings.Contains(e.Error.Message, msgHas) {
		t.Errorf("error message = %q, want it to contain %q", e.Error.Message, msgHas)
	}
}

// wire is an entity as the API returns it.
type wire struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   map[string]any `json:"metadata"`
	Spec       map[string]any `json:"spec"`
	Relations  []Relation     `json:"relations"`
}

func (w wire) name() string { s, _ := w.Metadata["name"].(string); return s }

func wireNames(ws []wire) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.name()
	}
	return out
}

// queryPage is /entities/by-query's answer.
type queryPage struct {
	Items      []wire `json:"items"`
	TotalItems int    `json:"totalItems"`
	PageInfo   struct {
		NextCursor string `json:"nextCursor"`
		PrevCursor string `json:"prevCursor"`
	} `json:"pageInfo"`
}

func comp(name, typ, owner, system string, tags ...string) *Entity {
	e := &Entity{APIVersion: "backstage.io/v1alpha1", Kind: "Component", Metadata: Metadata{Name: name, Tags: tags},
		Spec: map[string]any{"type": typ, "lifecycle": "production", "owner": owner}}
	if system != "" {
		e.Spec["system"] = system
	}
	return e
}

func group(name string) *Entity {
	return &Entity{APIVersion: "backstage.io/v1alpha1", Kind: "Group", Metadata: Metadata{Name: name},
		Spec: map[string]any{"type": "team", "children": []any{}}}
}

func apiEntity(name, owner string) *Entity {
	return &Entity{APIVersion: "backstage.io/v1alpha1", Kind: "API", Metadata: Metadata{Name: name},
		Spec: map[string]any{"type": "openapi", "lifecycle": "production", "owner": owner, "definition": "openapi: 3.0.0"}}
}

// seed stores a small catalog: two teams, seven components, two APIs and a system.
func (a *api) seed() {
	a.t.Helper()
	docs := comp("docs-site", "website", "team-b", "shop", "docs")
	docs.Metadata.Annotations = map[string]string{"backstage.io/techdocs-ref": "dir:."}
	docs.Metadata.Title = "Documentation"
	entities := []*Entity{
		group("team-a"), group("team-b"),
		comp("orders", "service", "team-a", "shop", "java", "payments"),
		comp("billing", "service", "team-a", "shop", "java"),
		comp("Ledger", "Service", "group:default/team-a", "", "go"),
		comp("frontend", "website", "team-b", "shop", "typescript"),
		comp("search", "service", "team-b", "", "java", "go"),
		comp("worker", "library", "team-a", ""),
		docs,
		apiEntity("orders-api", "team-a"), apiEntity("search-api", "team-b"),
		{APIVersion: "backstage.io/v1alpha1", Kind: "System", Metadata: Metadata{Name: "shop"}, Spec: map[string]any{"owner": "team-a"}},
	}
	if err := a.c.Upsert(context.Background(), "goldenpath:test", entities); err != nil {
		a.t.Fatal(err)
	}
}

func sameSet(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	sort.Strings(g)
	sort.Strings(w)
	return slices.Equal(g, w)
}

func q(params ...string) string {
	if len(params) == 0 {
		return ""
	}
	return "?" + strings.Join(params, "&")
}
