package edge

import (
	"errors"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/platform"
)

func TestBuildDefaultTooling(t *testing.T) {
	cfg := loadPlatform(t, "platform-oss.yaml")
	table, err := Build(cfg, nil)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	want := []Route{
		{Name: "argocd", Environment: "dev", Host: "argocd.dev.goldenpathidp.io", Path: "/", Auth: AuthSSO,
			Service: Backend{Name: "argocd-server", Namespace: "argocd", Port: 80}},
		{Name: "backstage", Environment: "dev", Host: "backstage.dev.goldenpathidp.io", Path: "/", Auth: AuthSSO,
			Service: Backend{Name: "goldenpath", Namespace: "platform", Port: 7070}},
		{Name: "grafana", Environment: "dev", Host: "grafana.dev.goldenpathidp.io", Path: "/", Auth: AuthSSO,
			Service: Backend{Name: "grafana", Namespace: "monitoring", Port: 80}},
		{Name: "keycloak", Environment: "dev", Host: "keycloak.dev.goldenpathidp.io", Path: "/", Auth: AuthPublic,
			Service: Backend{Name: "keycloak", Namespace: "keycloak", Port: 80}},
	}
	got := table.Routes()
	if len(got) != len(want) {
		t.Fatalf("got %d routes %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("route %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestBuildAppDefaults(t *testing.T) {
	cfg := loadPlatform(t, "platform-oss.yaml")
	table, err := Build(cfg, []AppRoute{
		{App: "shop", Host: "shop.staging.goldenpathidp.io", Path: "/store/"},
		{App: "www", Host: "www.goldenpathidp.io"},
	})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	tests := []struct {
		host string
		want Route
	}{
		{"shop.staging.goldenpathidp.io", Route{Name: "shop", Environment: "staging", Host: "shop.staging.goldenpathidp.io",
			Path: "/store", Auth: AuthPublic, App: true, AppName: "shop", Service: Backend{Name: "shop", Namespace: "shop", Port: 80}}},
		{"www.goldenpathidp.io", Route{Name: "www", Environment: "prod", Host: "www.goldenpathidp.io",
			Path: "/", Auth: AuthPublic, App: true, AppName: "www", Service: Backend{Name: "www", Namespace: "www", Port: 80}}},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			got, ok := table.Lookup(tt.host, tt.want.Path)
			if !ok || got != tt.want {
				t.Errorf("got %+v (found %v), want %+v", got, ok, tt.want)
			}
		})
	}
}

// TestBuildRejects checks each rule of the table: the error names the route, the field and the rule.
func TestBuildRejects(t *testing.T) {
	tests := []struct {
		name     string
		platform string // testdata file; platform-oss.yaml when empty
		tooling  []platform.Tool
		apps     []AppRoute
		want     []string // substrings of the error
	}{
		{
			name:    "tool host outside the domain",
			tooling: []platform.Tool{{Name: "argocd", Environment: "dev", Host: "argocd.example.org"}},
			want:    []string{`tool "argocd" (dev): host "argocd.example.org" is outside the platform's domain "goldenpathidp.io"`},
		},
		{
			name: "host outside the domain that merely ends like it",
			apps: []AppRoute{{App: "shop", Environment: "dev", Host: "shop.dev.notgoldenpathidp.io"}},
			want: []string{`host "shop.dev.notgoldenpathidp.io" is outside the platform's domain`},
		},
		{
			name: "environment not defined",
			apps: []AppRoute{{App: "shop", Environment: "qa", Host: "shop.qa.goldenpathidp.io"}},
			want: []string{`app "shop" (qa): environment "qa" is not defined in platform.yaml (defined: dev, staging, prod)`},
		},
		{
			name: "host in an environment that is not defined, environment from the host",
			apps: []AppRoute{{App: "shop", Host: "shop.qa.goldenpathidp.io"}},
			want: []string{`host "shop.qa.goldenpathidp.io" is in an environment "qa" that is not defined (defined: dev, staging, prod)`},
		},
		{
			name:     "host in no environment when there is no bare-domain environment",
			platform: "platform-dev-staging.yaml",
			apps:     []AppRoute{{App: "shop", Host: "shop.qa.goldenpathidp.io"}},
			want:     []string{`host "shop.qa.goldenpathidp.io" is in no environment: dev hosts end in .dev.goldenpathidp.io, staging hosts end in .staging.goldenpathidp.io`},
		},
		{
			name: "host of another environment",
			apps: []AppRoute{{App: "shop", Environment: "dev", Host: "shop.staging.goldenpathidp.io"}},
			want: []string{`app "shop" (dev): host "shop.staging.goldenpathidp.io" is in environment "staging" (hosts ending in .staging.goldenpathidp.io), not "dev"`},
		},
		{
			name: "prod route on a dev host",
			apps: []AppRoute{{App: "shop", Environment: "prod", Host: "shop.dev.goldenpathidp.io"}},
			want: []string{`is in environment "dev" (hosts ending in .dev.goldenpathidp.io), not "prod"`},
		},
		{
			name: "app claims a tool's host and path",
			apps: []AppRoute{{App: "argo", Host: "argocd.dev.goldenpathidp.io"}},
			want: []string{`app "argo" (dev): host and path "argocd.dev.goldenpathidp.io/" are already claimed by tool "argocd" (dev)`},
		},
		{
			name: "two apps claim one host and path, trailing slash ignored",
			apps: []AppRoute{
				{App: "shop", Host: "shop.dev.goldenpathidp.io", Path: "/api"},
				{App: "cart", Host: "shop.dev.goldenpathidp.io", Path: "/api/"},
			},
			want: []string{`app "cart" (dev): host and path "shop.dev.goldenpathidp.io/api" are already claimed by app "shop" (dev)`},
		},
		{
			name: "two routes of one app without their own names",
			apps: []AppRoute{
				{App: "shop", Host: "shop.dev.goldenpathidp.io"},
				{App: "shop", Host: "shop.dev.goldenpathidp.io", Path: "/api"},
			},
			want: []string{`name "shop" is already used by app "shop" (dev) in the same environment; give the route its own name`},
		},
		{
			name: "uppercase host",
			apps: []AppRoute{{App: "shop", Environment: "dev", Host: "Shop.dev.goldenpathidp.io"}},
			want: []string{`host "Shop.dev.goldenpathidp.io" is not a valid host name`},
		},
		{
			name: "underscore in host",
			apps: []AppRoute{{App: "shop", Environment: "dev", Host: "my_shop.dev.goldenpathidp.io"}},
			want: []string{`host "my_shop.dev.goldenpathidp.io" is not a valid host name`},
		},
		{
			name: "label starting with a hyphen",
			apps: []AppRoute{{App: "shop", Environment: "dev", Host: "-shop.dev.goldenpathidp.io"}},
			want: []string{`host "-shop.dev.goldenpathidp.io" is not a valid host name`},
		},
		{
			name: "label longer than 63",
			apps: []AppRoute{{App: "shop", Environment: "dev", Host: strings.Repeat("a", 64) + ".dev.goldenpathidp.io"}},
			want: []string{`is not a valid host name`},
		},
		{
			name: "wildcard not in the first label",
			apps: []AppRoute{{App: "shop", Environment: "dev", Host: "a.*.dev.goldenpathidp.io"}},
			want: []string{`host "a.*.dev.goldenpathidp.io" is not a valid host name`},
		},
		{
			name: "empty host",
			apps: []AppRoute{{App: "shop", Environment: "dev"}},
			want: []string{`host "" is not a valid host name`},
		},
		{
			name: "relative path",
			apps: []AppRoute{{App: "shop", Host: "shop.dev.goldenpathidp.io", Path: "api"}},
			want: []string{`path "api" must start with '/'`},
		},
		{
			name: "empty path segment",
			apps: []AppRoute{{App: "shop", Host: "shop.dev.goldenpathidp.io", Path: "/a//b"}},
			want: []string{`path "/a//b" must not contain an empty segment`},
		},
		{
			name: "dot-dot segment",
			apps: []AppRoute{{App: "shop", Host: "shop.dev.goldenpathidp.io", Path: "/a/../b"}},
			want: []string{`path "/a/../b" must not contain '.' or '..' segments`},
		},
		{
			name: "space in path",
			apps: []AppRoute{{App: "shop", Host: "shop.dev.goldenpathidp.io", Path: "/a b"}},
			want: []string{`path "/a b" may contain only letters, digits`},
		},
		{
			name: "unknown auth",
			apps: []AppRoute{{App: "shop", Host: "shop.dev.goldenpathidp.io", Auth: "oidc"}},
			want: []string{`auth "oidc" must be "sso" or "public"`},
		},
		{
			name: "app name not a DNS label",
			apps: []AppRoute{{App: "Shop", Name: "shop", Host: "shop.dev.goldenpathidp.io"}},
			want: []string{`app "Shop" is not a valid app name`},
		},
		{
			name: "route name too long for the objects named after it",
			apps: []AppRoute{{App: "shop", Name: strings.Repeat("r", 51), Host: "shop.dev.goldenpathidp.io"}},
			want: []string{`is not a valid route name: a lowercase DNS label that starts with a letter, at most 50 characters`},
		},
		{
			name: "app name starting with a digit cannot name a Service",
			apps: []AppRoute{{App: "7shop", Host: "shop.dev.goldenpathidp.io"}},
			want: []string{`app "7shop" is not a valid app name`, `service.name "7shop" is not a valid Service name`},
		},
		{
			name: "service port out of range",
			apps: []AppRoute{{App: "shop", Host: "shop.dev.goldenpathidp.io", Service: Backend{Port: 70000}}},
			want: []string{`service.port "70000" must be between 1 and 65535`},
		},
		{
			name: "service namespace not a DNS label",
			apps: []AppRoute{{App: "shop", Host: "shop.dev.goldenpathidp.io", Service: Backend{Namespace: "Shop_NS"}}},
			want: []string{`service.namespace "Shop_NS" is not a valid namespace`},
		},
		{
			name: "every problem is reported, not the first",
			apps: []AppRoute{
				{App: "shop", Host: "shop.dev.example.org"},
				{App: "cart", Environment: "dev", Host: "cart.dev.goldenpathidp.io", Path: "cart"},
			},
			want: []string{`app "shop"`, `host "shop.dev.example.org" is in no environment`, `app "cart" (dev): path "cart" must start with '/'`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadPlatform(t, cmpOr(tt.platform, "platform-oss.yaml"))
			if tt.tooling != nil {
				cfg.Tooling = tt.tooling
			}
			table, err := Build(cfg, tt.apps)
			if err == nil {
				t.Fatalf("got a table of %d routes, want an error containing %q", len(table.Routes()), tt.want)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("got error %T %v, want edge.Errors", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got error:\n%v\nwant it to contain:\n%s", err, w)
				}
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestBuildRejectsNilOrEmptyConfig(t *testing.T) {
	if _, err := Build(nil, nil); err == nil || !strings.Contains(err.Error(), "platform configuration is nil") {
		t.Errorf("Build(nil): got %v, want an error saying the configuration is nil", err)
	}
	if _, err := Build(&platform.Config{}, nil); err == nil || !strings.Contains(err.Error(), "domain is empty") {
		t.Errorf("Build(no domain): got %v, want an error naming the empty domain", err)
	}
}

func TestLookup(t *testing.T) {
	cfg := loadPlatform(t, "platform-oss.yaml")
	table, err := Build(cfg, []AppRoute{
		{App: "shop", Host: "shop.dev.goldenpathidp.io"},
		{App: "shop", Name: "shop-api", Host: "shop.dev.goldenpathidp.io", Path: "/api"},
		{App: "shop", Name: "shop-api-v2", Host: "shop.dev.goldenpathidp.io", Path: "/api/v2"},
		{App: "previews", Host: "*.preview.dev.goldenpathidp.io"},
		{App: "pr7", Host: "pr-7.preview.dev.goldenpathidp.io"},
	})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	tests := []struct {
		host, path string
		want       string // route name; "" for no route
	}{
		{"shop.dev.goldenpathidp.io", "/", "shop"},
		{"shop.dev.goldenpathidp.io", "", "shop"},
		{"shop.dev.goldenpathidp.io", "/cart", "shop"},
		{"shop.dev.goldenpathidp.io", "/api", "shop-api"},
		{"shop.dev.goldenpathidp.io", "/api/orders", "shop-api"},
		{"shop.dev.goldenpathidp.io", "/apix", "shop"}, // prefixes match whole segments
		{"shop.dev.goldenpathidp.io", "/api/v2/orders", "shop-api-v2"},
		{"shop.dev.goldenpathidp.io", "/api/v20", "shop-api"},
		{"SHOP.dev.goldenpathidp.io:8443", "/api", "shop-api"},
		{"shop.dev.goldenpathidp.io.", "/", "shop"},
		{"argocd.dev.goldenpathidp.io", "/applications", "argocd"},
		{"pr-3.preview.dev.goldenpathidp.io", "/", "previews"},
		{"pr-7.preview.dev.goldenpathidp.io", "/", "pr7"}, // an exact host wins over the wildcard
		{"a.pr-3.preview.dev.goldenpathidp.io", "/", ""},  // a wildcard matches one label
		{"preview.dev.goldenpathidp.io", "/", ""},
		{"nothing.dev.goldenpathidp.io", "/", ""},
		{"", "/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.host+tt.path, func(t *testing.T) {
			got, ok := table.Lookup(tt.host, tt.path)
			if tt.want == "" {
				if ok {
					t.Errorf("got route %q, want none", got.Name)
				}
				return
			}
			if !ok || got.Name != tt.want {
				t.Errorf("got route %q (found %v), want %q", got.Name, ok, tt.want)
			}
		})
	}
	var empty *Table
	if _, ok := empty.Lookup("shop.dev.goldenpathidp.io", "/"); ok {
		t.Error("a nil table found a route, want none")
	}
}

func TestRenderRejects(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*platform.Config)
		apps   []AppRoute
		want   string
	}{
		{
			name: "tool without a service",
			modify: func(c *platform.Config) {
				c.Tooling = []platform.Tool{{Name: "argocd", Environment: "dev", Auth: AuthSSO}}
			},
			want: `tool "argocd" (dev): service "" is not set; Kong needs a Kubernetes service`,
		},
		{
			name: "sso route on oauth2-proxy's own path",
			apps: []AppRoute{{App: "shop", Host: "shop.dev.goldenpathidp.io", Path: "/oauth2/x", Auth: AuthSSO}},
			want: `app "shop" (dev): path "/oauth2/x" is oauth2-proxy's sign-in path on a host that needs sign-in`,
		},
		{
			name: "public route on the sign-in path of a host that needs sign-in",
			apps: []AppRoute{
				{App: "shop", Host: "shop.dev.goldenpathidp.io", Auth: AuthSSO},
				{App: "auth", Host: "shop.dev.goldenpathidp.io", Path: "/oauth2"},
			},
			want: `app "auth" (dev): path "/oauth2" is oauth2-proxy's sign-in path`,
		},
		{
			name:   "unknown Kong edition",
			modify: func(c *platform.Config) { c.Kong.Edition = "konnect" },
			want:   `kong.edition "konnect" must be "oss" or "enterprise"`,
		},
		{
			name:   "no issuer for sso routes",
			modify: func(c *platform.Config) { c.SSO.Issuer = "" },
			want:   `sso.issuer and sso.clientId must be set for routes with auth "sso"`,
		},
		{
			name:   "no ACME server",
			modify: func(c *platform.Config) { c.TLS.ACMEServer = "" },
			want:   `tls.acmeServer is empty`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadPlatform(t, "platform-oss.yaml")
			if tt.modify != nil {
				tt.modify(cfg)
			}
			table, err := Build(cfg, tt.apps)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			files, err := Render(cfg, table)
			if err == nil {
				t.Fatalf("got %d files, want an error containing %q", len(files), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error:\n%v\nwant it to contain:\n%s", err, tt.want)
			}
		})
	}
}

// TestRenderSignInPathOnlyWhereNeeded: oauth2-proxy serves /oauth2 itself on hosts whose root it fronts; a
// host with only deeper sso routes gets one /oauth2 rule.
func TestRenderSignInPathOnlyWhereNeeded(t *testing.T) {
	files := renderScenario(t, "platform-oss.yaml")
	tests := []struct {
		file string
		want bool
	}{
		{"gitops/kustomize/overlays/dev/platform/kong/ingress-tooling.yaml", false},
		{"gitops/kustomize/overlays/dev/apps/billing/ingress.yaml", false},
		{"gitops/kustomize/overlays/staging/apps/reports/ingress.yaml", true},
		{"gitops/kustomize/overlays/staging/apps/docs/ingress.yaml", false},
	}
	for _, tt := range tests {
		got := strings.Contains(string(files[tt.file]), "path: /oauth2\n")
		if got != tt.want {
			t.Errorf("%s: got a /oauth2 rule %v, want %v", tt.file, got, tt.want)
		}
	}
}
