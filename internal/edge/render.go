package edge

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"path"
	"slices"

	"sigs.k8s.io/yaml"

	"github.com/goldenpathidp/goldenpath/internal/platform"
)

// Paths in the GitOps tree (the seed plan's §2.1 and §2.2).
const (
	IssuerPath = "gitops/kustomize/base/cert-manager/cluster-issuer.yaml"
	issuerDir  = "gitops/kustomize/base/cert-manager"
)

// ToolingDir is the directory of an environment's tooling edge: ingress-tooling.yaml and what it needs.
func ToolingDir(env string) string {
	return path.Join("gitops/kustomize/overlays", env, "platform/kong")
}

// AppDir is the directory of an app's manifests in an environment; Render writes ingress.yaml there (and
// oauth2-proxy.yaml or openid-connect.yaml for sso routes). The app's own kustomization.yaml, written with
// its workload, must list them (Resources).
func AppDir(env, app string) string {
	return path.Join("gitops/kustomize/overlays", env, "apps", app)
}

const header = "# Rendered by goldenpath from platform.yaml and the apps' routes (internal/edge). Do not edit:\n" +
	"# change platform.yaml or the app's score.yaml instead.\n"

// Render turns the route table into the files of the GitOps tree, keyed by path from the repository root. It is
// pure and deterministic: the same configuration and table give the same bytes.
func Render(cfg *platform.Config, t *Table) (map[string][]byte, error) {
	if cfg == nil {
		return nil, fmt.Errorf("rendering the edge: platform configuration is nil")
	}
	if err := checkRenderable(cfg, t); err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	issuer, err := marshalDocs(newClusterIssuer(cfg, t))
	if err != nil {
		return nil, err
	}
	files[IssuerPath] = issuer
	if err := addKustomization(files, issuerDir); err != nil {
		return nil, err
	}
	for _, env := range cfg.EnvironmentNames() {
		routes := t.Environment(env)
		plan := newEnvPlan(cfg, env, routes)
		if err := renderTooling(files, plan, routesOf(routes, false)); err != nil {
			return nil, err
		}
		if err := renderApps(files, plan, routesOf(routes, true)); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// routesOf picks the apps' routes (app) or the tooling's.
func routesOf(routes []Route, app bool) []Route {
	var out []Route
	for _, r := range routes {
		if r.App == app {
			out = append(out, r)
		}
	}
	return out
}

// checkRenderable refuses what Build allows but Kubernetes cannot serve: a route without a service, an edition
// that is not known, and a route at oauth2-proxy's own /oauth2 path on a host that needs sign-in.
func checkRenderable(cfg *platform.Config, t *Table) error {
	var errs Errors
	if e := cfg.Kong.Edition; e != "" && e != editionOSS && e != editionEnterprise {
		return fmt.Errorf("rendering the edge: kong.edition %q must be %q or %q", e, editionOSS, editionEnterprise)
	}
	if cfg.TLS.ACMEServer == "" {
		return fmt.Errorf("rendering the edge: tls.acmeServer is empty; cert-manager's issuer needs an ACME directory URL")
	}
	ssoHosts := map[string]bool{}
	for _, r := range t.Routes() {
		if r.Auth == AuthSSO {
			ssoHosts[r.Host] = true
		}
	}
	if len(ssoHosts) > 0 && (cfg.SSO.Issuer == "" || cfg.SSO.ClientID == "") {
		return fmt.Errorf("rendering the edge: sso.issuer and sso.clientId must be set for routes with auth %q", AuthSSO)
	}
	for _, r := range t.Routes() {
		if r.Service.IsZero() {
			errs = append(errs, &RouteError{Route: r.String(), Field: "service", Value: "",
				Rule: "is not set; Kong needs a Kubernetes service to route to (platform.yaml tooling[].service {name, namespace, port})"})
		}
		if edition(cfg) == editionOSS && ssoHosts[r.Host] && (r.Path == oauth2Path || hasPathPrefix(r.Path, oauth2Path)) {
			errs = append(errs, &RouteError{Route: r.String(), Field: "path", Value: r.Path,
				Rule: "is oauth2-proxy's sign-in path on a host that needs sign-in; choose another path"})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func hasPathPrefix(p, prefix string) bool {
	return len(p) > len(prefix) && p[:len(prefix)] == prefix && p[len(prefix)] == '/'
}

const (
	editionOSS        = "oss"
	editionEnterprise = "enterprise"
)

func edition(cfg *platform.Config) string { return cmp.Or(cfg.Kong.Edition, editionOSS) }

// renderTooling writes an environment's ingress-tooling.yaml and the objects it routes through: one Ingress,
// plus on Kong Enterprise a second one carrying the openid-connect plugin for the sso tools (the plugins
// annotation applies to every rule of an Ingress, and public tools such as Keycloak must stay public).
func renderTooling(files map[string][]byte, plan *envPlan, routes []Route) error {
	if len(routes) == 0 {
		return nil
	}
	s := &site{plan: plan}
	var public, sso []Route
	for _, r := range routes {
		if r.Auth == AuthSSO && edition(plan.cfg) == editionEnterprise {
			sso = append(sso, r)
		} else {
			public = append(public, r)
		}
	}
	if len(public) > 0 {
		s.addIngress("platform-tooling", ToolingNamespace, public, false)
	}
	if len(sso) > 0 {
		s.addIngress("platform-tooling-sso", ToolingNamespace, sso, true)
	}
	return s.write(files, ToolingDir(plan.env), "ingress-tooling.yaml", true)
}

// renderApps writes one Ingress per app route, in the namespace of the route's service, into the app's
// directory.
func renderApps(files map[string][]byte, plan *envPlan, routes []Route) error {
	byApp := map[string][]Route{}
	for _, r := range routes {
		byApp[r.AppName] = append(byApp[r.AppName], r)
	}
	apps := make([]string, 0, len(byApp))
	for a := range byApp {
		apps = append(apps, a)
	}
	slices.Sort(apps)
	for _, app := range apps {
		s := &site{plan: plan}
		for _, r := range byApp[app] {
			s.addIngress(r.Name, r.Service.Namespace, []Route{r}, r.Auth == AuthSSO && edition(plan.cfg) == editionEnterprise)
		}
		if err := s.write(files, AppDir(plan.env, app), "ingress.yaml", false); err != nil {
			return err
		}
	}
	return nil
}

// Resources lists, sorted, the names of the files Render wrote into dir, kustomization.yaml excepted: what a
// kustomization.yaml there must list (an app's, written with its workload, lists ingress.yaml and the rest).
func Resources(files map[string][]byte, dir string) []string {
	var names []string
	for p := range files {
		if path.Dir(p) == dir && path.Base(p) != "kustomization.yaml" {
			names = append(names, path.Base(p))
		}
	}
	slices.Sort(names)
	return names
}

// addKustomization writes dir's kustomization.yaml listing every file Render wrote there.
func addKustomization(files map[string][]byte, dir string) error {
	k := &Kustomization{Resources: Resources(files, dir)}
	k.APIVersion, k.Kind = "kustomize.config.k8s.io/v1beta1", "Kustomization"
	data, err := marshalDocs(k)
	if err != nil {
		return err
	}
	files[path.Join(dir, "kustomization.yaml")] = data
	return nil
}

// marshalDocs renders objects as one multi-document YAML file. Status is never rendered: it belongs to the
// cluster.
func marshalDocs(objs ...any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(header)
	for i, o := range objs {
		raw, err := json.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("encoding %T: %w", o, err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("encoding %T: %w", o, err)
		}
		delete(m, "status")
		doc, err := yaml.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encoding %T as YAML: %w", o, err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(doc)
	}
	return buf.Bytes(), nil
}
