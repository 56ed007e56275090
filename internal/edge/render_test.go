package edge

import (
	"bytes"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/goldenpathidp/goldenpath/internal/golden"
	"github.com/goldenpathidp/goldenpath/internal/platform"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden from the current output")

// loadPlatform parses a platform.yaml from testdata as goldenpath does, defaults included.
func loadPlatform(t *testing.T, name string) *platform.Config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := platform.Parse(name, data)
	if err != nil {
		t.Fatalf("parsing %s: %v", name, err)
	}
	return cfg
}

// sampleApps are the app routes of the golden scenarios: a public app, an app with an sso site and a public
// API on one host, an sso route below a public root (oauth2-proxy needs /oauth2 there), a wildcard host and a
// prod app.
func sampleApps() []AppRoute {
	return []AppRoute{
		{App: "shop", Host: "shop.dev.goldenpathidp.io"},
		{App: "billing", Host: "billing.dev.goldenpathidp.io", Auth: AuthSSO, Service: Backend{Port: 8080}},
		{App: "billing", Name: "billing-api", Host: "billing.dev.goldenpathidp.io", Path: "/api/", Service: Backend{Port: 8080}},
		{App: "docs", Host: "docs.staging.goldenpathidp.io"},
		{App: "reports", Host: "docs.staging.goldenpathidp.io", Path: "/reports", Auth: AuthSSO},
		{App: "previews", Host: "*.preview.dev.goldenpathidp.io", Service: Backend{Namespace: "previews", Port: 3000}},
		{App: "www", Environment: "prod", Host: "www.goldenpathidp.io"},
	}
}

func renderScenario(t *testing.T, platformFile string) map[string][]byte {
	t.Helper()
	cfg := loadPlatform(t, platformFile)
	table, err := Build(cfg, sampleApps())
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	files, err := Render(cfg, table)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return files
}

var scenarios = []struct{ name, platform string }{
	{"oss", "platform-oss.yaml"},
	{"enterprise", "platform-enterprise.yaml"},
}

func TestRenderGolden(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			files := renderScenario(t, sc.platform)
			golden.Check(t, filepath.Join("testdata", "golden", sc.name), files, *update)
		})
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	first := renderScenario(t, "platform-oss.yaml")
	for i := 0; i < 20; i++ {
		again := renderScenario(t, "platform-oss.yaml")
		if len(again) != len(first) {
			t.Fatalf("render %d: got %d files, want %d", i, len(again), len(first))
		}
		for p, data := range first {
			if !bytes.Equal(again[p], data) {
				t.Fatalf("render %d: %s differs between two renders of the same input", i, p)
			}
		}
	}
}

// TestRenderStrictDecode decodes every rendered file strictly, and checks that what the plan and the edge
// depend on is in the decoded objects.
func TestRenderStrictDecode(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			files := renderScenario(t, sc.platform)
			tlsHosts := map[string][]string{} // environment directory + host → Ingresses listing it under TLS
			for _, p := range slices.Sorted(maps.Keys(files)) {
				objs, err := Decode(p, files[p])
				if err != nil {
					t.Errorf("Decode: %v", err)
					continue
				}
				for _, o := range objs {
					ing, ok := o.(*networkingv1.Ingress)
					if !ok {
						continue
					}
					checkIngress(t, p, ing)
					env := strings.Split(p, "/")[3] // gitops/kustomize/overlays/<env>/...
					for _, r := range ing.Spec.Rules {
						tlsHosts[env+" "+r.Host] = append(tlsHosts[env+" "+r.Host], tlsIngresses(ing, r.Host)...)
					}
				}
			}
			for host, ings := range tlsHosts {
				if len(ings) != 1 {
					t.Errorf("%s: listed under TLS by Ingresses %v, want exactly one (one Certificate per host)", host, ings)
				}
			}
		})
	}
}

func checkIngress(t *testing.T, file string, ing *networkingv1.Ingress) {
	t.Helper()
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "kong" {
		t.Errorf("%s: Ingress %s: got ingressClassName %v, want kong", file, ing.Name, ing.Spec.IngressClassName)
	}
	if got := ing.Annotations["konghq.com/strip-path"]; got != "false" {
		t.Errorf("%s: Ingress %s: got konghq.com/strip-path %q, want \"false\"", file, ing.Name, got)
	}
	if got := ing.Annotations["cert-manager.io/cluster-issuer"]; got != ClusterIssuerName {
		t.Errorf("%s: Ingress %s: got cert-manager.io/cluster-issuer %q, want %q", file, ing.Name, got, ClusterIssuerName)
	}
	for _, tls := range ing.Spec.TLS {
		if tls.SecretName == "" {
			t.Errorf("%s: Ingress %s: TLS entry %v has no secretName; ingress-shim needs one", file, ing.Name, tls.Hosts)
		}
		for _, h := range tls.Hosts {
			if !slices.ContainsFunc(ing.Spec.Rules, func(r networkingv1.IngressRule) bool { return r.Host == h }) {
				t.Errorf("%s: Ingress %s: TLS host %s has no rule", file, ing.Name, h)
			}
		}
	}
}

func tlsIngresses(ing *networkingv1.Ingress, host string) []string {
	var out []string
	for _, tls := range ing.Spec.TLS {
		if slices.Contains(tls.Hosts, host) {
			out = append(out, ing.Namespace+"/"+ing.Name)
		}
	}
	return out
}

func TestKustomizationsListTheirDirectory(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			files := renderScenario(t, sc.platform)
			for _, p := range slices.Sorted(maps.Keys(files)) {
				if filepath.Base(p) != "kustomization.yaml" {
					continue
				}
				objs, err := Decode(p, files[p])
				if err != nil {
					t.Fatal(err)
				}
				k := objs[0].(*Kustomization)
				dir := filepath.Dir(p)
				var want []string
				for _, q := range slices.Sorted(maps.Keys(files)) {
					if filepath.Dir(q) == dir && q != p {
						want = append(want, filepath.Base(q))
					}
				}
				if !slices.Equal(k.Resources, want) {
					t.Errorf("%s: got resources %v, want the directory's files %v", p, k.Resources, want)
				}
			}
		})
	}
}

// TestRenderNeverWritesSecrets: secrets are referenced by name, never rendered.
func TestRenderNeverWritesSecrets(t *testing.T) {
	for _, sc := range scenarios {
		files := renderScenario(t, sc.platform)
		for p, data := range files {
			for _, bad := range []string{"kind: Secret", "stringData", "client_secret:", "--client-secret=", "--cookie-secret="} {
				if strings.Contains(string(data), bad) {
					t.Errorf("%s/%s: contains %q; secrets must only be referenced", sc.name, p, bad)
				}
			}
		}
	}
}

func TestResourcesOfAnAppDirectory(t *testing.T) {
	tests := []struct {
		scenario, env, app string
		want               []string
	}{
		{"platform-oss.yaml", "dev", "billing", []string{"ingress.yaml", "oauth2-proxy.yaml"}},
		{"platform-enterprise.yaml", "dev", "billing", []string{"ingress.yaml", "openid-connect.yaml"}},
		{"platform-oss.yaml", "dev", "shop", []string{"ingress.yaml"}},
		{"platform-oss.yaml", "prod", "shop", nil},
	}
	for _, tt := range tests {
		t.Run(tt.scenario+" "+tt.env+" "+tt.app, func(t *testing.T) {
			got := Resources(renderScenario(t, tt.scenario), AppDir(tt.env, tt.app))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
