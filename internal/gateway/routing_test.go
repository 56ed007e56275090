package gateway_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/gateway"
)

func TestRoutingByHostAndLongestPrefix(t *testing.T) {
	g := start(t, gateway.Options{})
	g.setRoutes(t,
		gateway.Route{Name: "web", Host: "api.dev.test", Upstream: upstream(t, "web")},
		gateway.Route{Name: "v2", Host: "api.dev.test", PathPrefix: "/v2", Upstream: upstream(t, "v2")},
		gateway.Route{Name: "admin", Host: "api.dev.test", PathPrefix: "/v2/admin/", Upstream: upstream(t, "admin")},
		gateway.Route{Name: "apps", Host: "*.apps.test", Upstream: upstream(t, "apps")},
		gateway.Route{Name: "deep", Host: "*.eu.apps.test", Upstream: upstream(t, "deep")},
		gateway.Route{Name: "only", Host: "x.apps.test", PathPrefix: "/only", Upstream: upstream(t, "only")},
	)
	tests := []struct {
		name, url, want string
	}{
		{"root", "://api.dev.test/", "web"},
		{"any path falls to /", "://api.dev.test/users/7", "web"},
		{"prefix itself", "://api.dev.test/v2", "v2"},
		{"below prefix", "://api.dev.test/v2/orders", "v2"},
		{"prefix matches whole segments only", "://api.dev.test/v2x", "web"},
		{"longest prefix wins", "://api.dev.test/v2/admin/users", "admin"},
		{"trailing-slash prefix needs the slash", "://api.dev.test/v2/admin", "v2"},
		{"host is case-insensitive", "://API.Dev.Test/v2", "v2"},
		{"wildcard", "://shop.apps.test/", "apps"},
		{"wildcard spans labels", "://a.b.apps.test/", "apps"},
		{"most specific wildcard wins", "://shop.eu.apps.test/", "deep"},
		{"exact host before wildcard", "://x.apps.test/only/1", "only"},
		{"exact host without a matching prefix falls to wildcard", "://x.apps.test/other", "apps"},
	}
	for _, scheme := range []string{"http", "https"} {
		c := g.http(t)
		if scheme == "https" {
			c = g.https(t)
		}
		for _, tt := range tests {
			t.Run(scheme+"/"+tt.name, func(t *testing.T) {
				if got := get(t, c, scheme+tt.url).Name; got != tt.want {
					t.Errorf("GET %s%s: got upstream %q, want %q", scheme, tt.url, got, tt.want)
				}
			})
		}
	}
	t.Run("bare wildcard suffix is not matched", func(t *testing.T) {
		resp := do(t, g.http(t), "http://apps.test/")
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET http://apps.test/: got status %d, want 404 (*.apps.test needs a label before .apps.test)", resp.StatusCode)
		}
	})
}

func TestForwardedRequest(t *testing.T) {
	g := start(t, gateway.Options{})
	up := upstream(t, "svc")
	based := *up
	based.Path = "/base"
	g.setRoutes(t,
		gateway.Route{Name: "plain", Host: "plain.test", Upstream: up},
		gateway.Route{Name: "strip", Host: "strip.test", PathPrefix: "/svc", StripPrefix: true, Upstream: up},
		gateway.Route{Name: "based", Host: "based.test", Upstream: &based},
		gateway.Route{Name: "keep", Host: "keep.test", PreserveHost: true, Upstream: up},
	)
	tests := []struct {
		name    string
		https   bool
		url     string
		header  []string
		check   func(t *testing.T, e echo)
		absent  []string
		present map[string]string
	}{
		{
			name:    "X-Forwarded headers over HTTP",
			url:     "http://plain.test/a?b=c",
			present: map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": "plain.test", "X-Forwarded-Proto": "http"},
			check: func(t *testing.T, e echo) {
				if e.Path != "/a" || e.Query != "b=c" {
					t.Errorf("got path %q query %q, want /a and b=c", e.Path, e.Query)
				}
				if e.Host != up.Host {
					t.Errorf("got Host %q at the upstream, want the upstream's %q", e.Host, up.Host)
				}
			},
		},
		{
			name:    "X-Forwarded-Proto over HTTPS",
			https:   true,
			url:     "https://plain.test/",
			present: map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "plain.test"},
		},
		{
			name:    "client's X-Forwarded headers are replaced, not trusted",
			url:     "http://plain.test/",
			header:  []string{"X-Forwarded-For", "6.6.6.6", "X-Forwarded-Host", "evil.test", "Forwarded", "for=6.6.6.6"},
			present: map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": "plain.test"},
			absent:  []string{"Forwarded"},
		},
		{
			name:    "hop-by-hop headers are dropped, end-to-end kept",
			url:     "http://plain.test/",
			header:  []string{"Connection", "X-Hop", "X-Hop", "1", "Keep-Alive", "timeout=5", "X-End", "2", "Proxy-Authorization", "Basic eDp5"},
			absent:  []string{"X-Hop", "Keep-Alive", "Proxy-Authorization"},
			present: map[string]string{"X-End": "2"},
		},
		{
			name:    "StripPrefix",
			url:     "http://strip.test/svc/items/1",
			present: map[string]string{"X-Forwarded-Prefix": "/svc"},
			check:   wantPath("/items/1"),
		},
		{
			name:  "StripPrefix of the prefix itself leaves /",
			url:   "http://strip.test/svc",
			check: wantPath("/"),
		},
		{
			name:  "upstream base path is prepended",
			url:   "http://based.test/x",
			check: wantPath("/base/x"),
		},
		{
			name: "PreserveHost",
			url:  "http://keep.test/",
			check: func(t *testing.T, e echo) {
				if e.Host != "keep.test" {
					t.Errorf("got Host %q at the upstream, want keep.test", e.Host)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := g.http(t)
			if tt.https {
				c = g.https(t)
			}
			e := get(t, c, tt.url, tt.header...)
			for k, want := range tt.present {
				if got := strings.Join(e.Headers.Values(k), ","); got != want {
					t.Errorf("upstream got %s %q, want %q", k, got, want)
				}
			}
			for _, k := range tt.absent {
				if got := e.Headers.Values(k); len(got) > 0 {
					t.Errorf("upstream got %s %q, want it dropped", k, got)
				}
			}
			if tt.check != nil {
				tt.check(t, e)
			}
		})
	}
}

func wantPath(want string) func(*testing.T, echo) {
	return func(t *testing.T, e echo) {
		t.Helper()
		if e.Path != want {
			t.Errorf("upstream got path %q, want %q", e.Path, want)
		}
	}
}

func TestRoutesChangeLive(t *testing.T) {
	g := start(t, gateway.Options{})
	c := g.http(t)
	if got := do(t, c, "http://live.test/").StatusCode; got != http.StatusNotFound {
		t.Fatalf("before any route: got status %d, want 404", got)
	}
	g.setRoutes(t, gateway.Route{Name: "one", Host: "live.test", Upstream: upstream(t, "one")})
	if got := get(t, c, "http://live.test/").Name; got != "one" {
		t.Fatalf("after the first table: got upstream %q, want one", got)
	}
	g.setRoutes(t, gateway.Route{Name: "two", Host: "live.test", Upstream: upstream(t, "two")})
	if got := get(t, c, "http://live.test/").Name; got != "two" {
		t.Fatalf("after the swap: got upstream %q, want two", got)
	}
	g.setRoutes(t)
	if got := do(t, c, "http://live.test/").StatusCode; got != http.StatusNotFound {
		t.Fatalf("after removing all routes: got status %d, want 404", got)
	}
}

func TestSetRoutesRejectsBadRoutes(t *testing.T) {
	up := &url.URL{Scheme: "http", Host: "127.0.0.1:9"}
	tests := []struct {
		name  string
		route gateway.Route
		want  string
	}{
		{"empty host", gateway.Route{Name: "r", Upstream: up}, `host "": must not be empty`},
		{"host with port", gateway.Route{Name: "r", Host: "a.test:80", Upstream: up}, `host "a.test:80"`},
		{"host with space", gateway.Route{Name: "r", Host: "a b.test", Upstream: up}, `host "a b.test"`},
		{"wildcard in the middle", gateway.Route{Name: "r", Host: "a.*.test", Upstream: up}, "wildcard must be the whole first label"},
		{"wildcard of an IP", gateway.Route{Name: "r", Host: "*.127.0.0.1", Upstream: up}, "a wildcard needs a DNS suffix"},
		{"relative path prefix", gateway.Route{Name: "r", Host: "a.test", PathPrefix: "api", Upstream: up}, `path prefix "api": must start with /`},
		{"no upstream", gateway.Route{Name: "r", Host: "a.test"}, "upstream: must be set"},
		{"upstream scheme", gateway.Route{Name: "r", Host: "a.test", Upstream: &url.URL{Scheme: "ftp", Host: "x"}}, "scheme must be http or https"},
		{"upstream without host", gateway.Route{Name: "r", Host: "a.test", Upstream: &url.URL{Scheme: "http", Path: "/x"}}, "must have a host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := start(t, gateway.Options{})
			g.setRoutes(t, gateway.Route{Name: "kept", Host: "kept.test", Upstream: upstream(t, "kept")})
			err := g.SetRoutes([]gateway.Route{tt.route})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("SetRoutes: got error %v, want one containing %q", err, tt.want)
			}
			if got := get(t, g.http(t), "http://kept.test/").Name; got != "kept" {
				t.Errorf("after a refused table: got upstream %q, want the previous table's kept", got)
			}
		})
	}
	t.Run("duplicate host and prefix", func(t *testing.T) {
		g := start(t, gateway.Options{})
		err := g.SetRoutes([]gateway.Route{
			{Name: "a", Host: "dup.test", PathPrefix: "/x", Upstream: up},
			{Name: "b", Host: "DUP.test", PathPrefix: "/x", Upstream: up},
		})
		if err == nil || !strings.Contains(err.Error(), `already routed by route 0 ("a")`) {
			t.Fatalf("SetRoutes: got error %v, want one naming route 0", err)
		}
	})
}
