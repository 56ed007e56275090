package edge

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/platform"
)

// Backend is the Kubernetes Service a route sends its traffic to.
type Backend struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Port      int    `json:"port"`
}

// IsZero reports whether no service is set (a tool in platform.yaml without one).
func (b Backend) IsZero() bool { return b == Backend{} }

// Route is one host and path prefix served at the edge.
type Route struct {
	Name        string  `json:"name"` // the tool's name, or the app route's name (the app's name unless it has several)
	Environment string  `json:"environment"`
	Host        string  `json:"host"` // lowercase DNS name; "*.<suffix>" matches one more label
	Path        string  `json:"path"` // "/" or "/a/b": a prefix matched by whole segments, without a trailing slash
	Service     Backend `json:"service"`
	Auth        string  `json:"auth"`              // AuthSSO | AuthPublic
	App         bool    `json:"app"`               // an app's route rather than platform tooling
	AppName     string  `json:"appName,omitempty"` // the app, when App
}

// String names the route in messages: `tool "argocd" (dev)` or `app "shop" route "shop-api" (dev)`.
func (r Route) String() string {
	env := r.Environment
	if env == "" {
		env = "environment not set"
	}
	if !r.App {
		return fmt.Sprintf("tool %q (%s)", r.Name, env)
	}
	if r.Name == r.AppName {
		return fmt.Sprintf("app %q (%s)", r.AppName, env)
	}
	return fmt.Sprintf("app %q route %q (%s)", r.AppName, r.Name, env)
}

// AppRoute is a route an app asks for (its score.yaml's route resource).
type AppRoute struct {
	App         string
	Name        string  // optional: defaults to App; set it when an app has several routes
	Environment string  // optional: derived from the host's suffix when empty
	Host        string  // required
	Path        string  // optional: defaults to "/"
	Service     Backend // optional parts default to the app's name (service and namespace) and port 80
	Auth        string  // optional: defaults to AuthPublic
}

// Table is the validated, immutable route table. The zero value is an empty table.
type Table struct {
	routes []Route            // sorted by environment, host, path
	byHost map[string][]Route // longest path first
}

// Build combines platform.yaml's tooling with the apps' routes and validates the result. Errors are an Errors
// value listing every problem, each naming its route.
func Build(cfg *platform.Config, apps []AppRoute) (*Table, error) {
	if cfg == nil {
		return nil, fmt.Errorf("building the route table: platform configuration is nil")
	}
	if cfg.Domain == "" {
		return nil, fmt.Errorf("building the route table: platform.yaml domain is empty")
	}
	routes := make([]Route, 0, len(cfg.Tooling)+len(apps))
	for _, t := range cfg.Tooling {
		routes = append(routes, toolRoute(cfg, t))
	}
	var errs Errors
	for _, a := range apps {
		r, err := appRoute(cfg, a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		routes = append(routes, r)
	}
	for _, r := range routes {
		errs = append(errs, checkRoute(cfg, r)...)
	}
	errs = append(errs, checkClaims(routes)...)
	if len(errs) > 0 {
		return nil, errs
	}
	return newTable(routes), nil
}

func toolRoute(cfg *platform.Config, t platform.Tool) Route {
	r := Route{Name: t.Name, Environment: t.Environment, Host: t.Host, Path: "/", Auth: cmp.Or(t.Auth, AuthSSO)}
	if r.Host == "" && t.Environment != "" {
		r.Host = t.Name + "." + cfg.EnvironmentDomain(t.Environment)
	}
	if t.Service != nil {
		r.Service = Backend{Name: t.Service.Name, Namespace: cmp.Or(t.Service.Namespace, ToolingNamespace), Port: t.Service.Port}
	}
	return r
}

func appRoute(cfg *platform.Config, a AppRoute) (Route, *RouteError) {
	r := Route{
		Name:        cmp.Or(a.Name, a.App),
		Environment: a.Environment,
		Host:        a.Host,
		Path:        normalizePath(a.Path),
		Auth:        cmp.Or(a.Auth, AuthPublic),
		App:         true,
		AppName:     a.App,
		Service: Backend{
			Name:      cmp.Or(a.Service.Name, a.App),
			Namespace: cmp.Or(a.Service.Namespace, a.App),
			Port:      cmp.Or(a.Service.Port, 80),
		},
	}
	if r.Environment == "" {
		env, ok := environmentOfHost(cfg, strings.TrimPrefix(r.Host, "*."))
		if !ok {
			return r, &RouteError{Route: r.String(), Field: "host", Value: r.Host,
				Rule: "is in no environment: " + environmentSuffixes(cfg)}
		}
		r.Environment = env
	}
	return r, nil
}

// normalizePath makes "", "/a/" and "/a" comparable: Ingress Prefix paths ignore a trailing slash.
func normalizePath(p string) string {
	if p == "" || p == "/" {
		return "/"
	}
	return strings.TrimSuffix(p, "/")
}

// checkRoute applies the rules of one route on its own.
func checkRoute(cfg *platform.Config, r Route) Errors {
	var errs Errors
	bad := func(field, value, rule string, args ...any) {
		errs = append(errs, &RouteError{Route: r.String(), Field: field, Value: value, Rule: fmt.Sprintf(rule, args...)})
	}
	if !isName(r.Name, maxRouteName) {
		bad("name", r.Name, "is not a valid route name: a lowercase DNS label that starts with a letter, at most %d characters", maxRouteName)
	}
	if r.App && !isName(r.AppName, 63) {
		bad("app", r.AppName, "is not a valid app name: a lowercase DNS label that starts with a letter")
	}
	if _, ok := cfg.Environment(r.Environment); !ok {
		bad("environment", r.Environment, "is not defined in platform.yaml (defined: %s)", strings.Join(cfg.EnvironmentNames(), ", "))
	} else if rule := hostRule(cfg, r); rule != "" {
		bad("host", r.Host, "%s", rule)
	}
	if rule := pathRule(r.Path); rule != "" {
		bad("path", r.Path, "%s", rule)
	}
	if r.Auth != AuthSSO && r.Auth != AuthPublic {
		bad("auth", r.Auth, "must be %q or %q", AuthSSO, AuthPublic)
	}
	if !r.Service.IsZero() {
		errs = append(errs, checkBackend(r)...)
	}
	return errs
}

// maxRouteName leaves room for the prefixes of the objects named after a route (oauth2-proxy-<name>).
const maxRouteName = 50

func checkBackend(r Route) Errors {
	var errs Errors
	b := r.Service
	if !isName(b.Name, 63) {
		errs = append(errs, &RouteError{Route: r.String(), Field: "service.name", Value: b.Name,
			Rule: "is not a valid Service name: a lowercase DNS label that starts with a letter"})
	}
	if !isLabel(b.Namespace, 63) {
		errs = append(errs, &RouteError{Route: r.String(), Field: "service.namespace", Value: b.Namespace, Rule: "is not a valid namespace: a lowercase DNS label"})
	}
	if b.Port < 1 || b.Port > 65535 {
		errs = append(errs, &RouteError{Route: r.String(), Field: "service.port", Value: fmt.Sprint(b.Port), Rule: "must be between 1 and 65535"})
	}
	return errs
}

// hostRule returns why a host cannot be the route's, or "".
func hostRule(cfg *platform.Config, r Route) string {
	name := strings.TrimPrefix(r.Host, "*.")
	if !isDNSName(r.Host) {
		return "is not a valid host name: lowercase labels of letters, digits and '-' (at most 63 each, 253 in all), " +
			"optionally starting with '*.'"
	}
	if name != cfg.Domain && !strings.HasSuffix(name, "."+cfg.Domain) {
		return fmt.Sprintf("is outside the platform's domain %q", cfg.Domain)
	}
	env, ok := environmentOfHost(cfg, name)
	if !ok {
		return "is in no environment: " + environmentSuffixes(cfg)
	}
	if env != r.Environment {
		return fmt.Sprintf("is in environment %q (hosts ending in .%s), not %q", env, cfg.EnvironmentDomain(env), r.Environment)
	}
	if suffix := cfg.EnvironmentDomain(env); suffix == cfg.Domain {
		// Under the bare domain, a.b.<domain> reads as host a in an environment b that is not defined.
		if rest := strings.TrimSuffix(name, "."+suffix); rest != name && strings.Contains(rest, ".") {
			label := rest[strings.LastIndexByte(rest, '.')+1:]
			return fmt.Sprintf("is in an environment %q that is not defined (defined: %s); %s hosts are <name>.%s",
				label, strings.Join(cfg.EnvironmentNames(), ", "), env, suffix)
		}
	}
	return ""
}

// environmentOfHost finds the environment whose domain is the longest suffix of host.
func environmentOfHost(cfg *platform.Config, host string) (string, bool) {
	best, bestLen := "", -1
	for _, e := range cfg.Environments {
		d := cfg.EnvironmentDomain(e.Name)
		if (host == d || strings.HasSuffix(host, "."+d)) && len(d) > bestLen {
			best, bestLen = e.Name, len(d)
		}
	}
	return best, bestLen >= 0
}

func environmentSuffixes(cfg *platform.Config) string {
	parts := make([]string, 0, len(cfg.Environments))
	for _, e := range cfg.Environments {
		parts = append(parts, fmt.Sprintf("%s hosts end in .%s", e.Name, cfg.EnvironmentDomain(e.Name)))
	}
	return strings.Join(parts, ", ")
}

// pathRule returns why p is not a usable Ingress Prefix path, or "".
func pathRule(p string) string {
	if !strings.HasPrefix(p, "/") {
		return "must start with '/'"
	}
	if p == "/" {
		return ""
	}
	for _, seg := range strings.Split(p[1:], "/") {
		switch {
		case seg == "":
			return "must not contain an empty segment ('//')"
		case seg == "." || seg == "..":
			return "must not contain '.' or '..' segments"
		case strings.ContainsFunc(seg, func(c rune) bool { return !isPathChar(c) }):
			return "may contain only letters, digits and -._~!$&'()*+,;=:@% in its segments"
		}
	}
	return ""
}

func isPathChar(c rune) bool {
	return c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~!$&'()*+,;=:@%", c))
}

// isDNSName accepts lowercase RFC 1123 names with an optional leading "*." wildcard label.
func isDNSName(host string) bool {
	name := strings.TrimPrefix(host, "*.")
	if len(host) > 253 || name == "" || net.ParseIP(name) != nil {
		return false
	}
	for _, l := range strings.Split(name, ".") {
		if !isLabel(l, 63) {
			return false
		}
	}
	return true
}

// isName accepts what Kubernetes accepts as a Service name (an RFC 1035 label), which names derived from routes
// and apps must be.
func isName(s string, max int) bool {
	return isLabel(s, max) && s[0] >= 'a' && s[0] <= 'z'
}

// isLabel accepts a lowercase RFC 1123 label of at most max characters.
func isLabel(s string, max int) bool {
	if s == "" || len(s) > max || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// checkClaims refuses two routes claiming one host and path, and two routes of one environment sharing a name.
func checkClaims(routes []Route) Errors {
	var errs Errors
	claims := map[string]Route{}
	names := map[string]Route{}
	for _, r := range routes {
		key := r.Host + r.Path
		if prev, dup := claims[key]; dup {
			errs = append(errs, &RouteError{Route: r.String(), Field: "host and path", Value: r.Host + r.Path,
				Rule: "are already claimed by " + prev.String()})
		} else {
			claims[key] = r
		}
		nkey := r.Environment + "/" + r.Name
		if prev, dup := names[nkey]; dup && r.Name != "" {
			errs = append(errs, &RouteError{Route: r.String(), Field: "name", Value: r.Name,
				Rule: "is already used by " + prev.String() + " in the same environment; give the route its own name"})
		} else {
			names[nkey] = r
		}
	}
	return errs
}

func newTable(routes []Route) *Table {
	routes = slices.Clone(routes)
	slices.SortFunc(routes, func(a, b Route) int {
		return cmp.Or(cmp.Compare(a.Environment, b.Environment), cmp.Compare(a.Host, b.Host), cmp.Compare(a.Path, b.Path))
	})
	byHost := map[string][]Route{}
	for _, r := range routes {
		byHost[r.Host] = append(byHost[r.Host], r)
	}
	for _, rs := range byHost {
		slices.SortFunc(rs, func(a, b Route) int { return cmp.Compare(len(b.Path), len(a.Path)) })
	}
	return &Table{routes: routes, byHost: byHost}
}

// Routes returns every route, sorted by environment, host and path.
func (t *Table) Routes() []Route {
	if t == nil {
		return nil
	}
	return slices.Clone(t.routes)
}

// Environment returns the routes of one environment, sorted by host and path.
func (t *Table) Environment(env string) []Route {
	var out []Route
	for _, r := range t.Routes() {
		if r.Environment == env {
			out = append(out, r)
		}
	}
	return out
}

// Lookup finds the route serving a request: the exact host first, then a "*." wildcard one label up; among
// that host's routes, the longest path prefix matched by whole segments ("/api" serves "/api" and "/api/x",
// not "/apix"). The host may carry a port and any case.
func (t *Table) Lookup(host, path string) (Route, bool) {
	if t == nil {
		return Route{}, false
	}
	host = strings.ToLower(strings.TrimSuffix(stripPort(host), "."))
	if path == "" {
		path = "/"
	}
	if r, ok := longestPrefix(t.byHost[host], path); ok {
		return r, true
	}
	if _, parent, ok := strings.Cut(host, "."); ok {
		return longestPrefix(t.byHost["*."+parent], path)
	}
	return Route{}, false
}

func stripPort(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

// longestPrefix expects routes sorted longest path first.
func longestPrefix(routes []Route, path string) (Route, bool) {
	for _, r := range routes {
		if r.Path == "/" || path == r.Path || strings.HasPrefix(path, r.Path+"/") {
			return r, true
		}
	}
	return Route{}, false
}

// RouteError is one problem with one route.
type RouteError struct {
	Route string // which route, e.g. `tool "argocd" (dev)`
	Field string // host, path, environment, name, auth, service.port, ...
	Value string
	Rule  string
}

func (e *RouteError) Error() string {
	return fmt.Sprintf("%s: %s %q %s", e.Route, e.Field, e.Value, e.Rule)
}

// Errors lists every problem Build found.
type Errors []*RouteError

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}
