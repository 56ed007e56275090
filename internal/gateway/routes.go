package gateway

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
)

// Route sends requests for Host whose path starts with PathPrefix to Upstream.
type Route struct {
	// Name identifies the route in error pages and the access log.
	Name string
	// Host is an exact host name ("api.dev.test") or a wildcard ("*.dev.test") that matches any
	// name ending in ".dev.test", however many labels precede it. No port.
	Host string
	// PathPrefix matches whole path segments: "/api" matches "/api" and "/api/x", not "/apix".
	// Empty means "/".
	PathPrefix string
	// Upstream is where matching requests go: scheme http or https, a host, and optionally a base
	// path that the request path is appended to.
	Upstream *url.URL
	// StripPrefix removes PathPrefix from the path before it is forwarded (Kong's strip_path).
	StripPrefix bool
	// PreserveHost forwards the client's Host header instead of the upstream's (Kong's
	// preserve_host). X-Forwarded-Host carries the client's host either way.
	PreserveHost bool
}

// table is an immutable route table; SetRoutes swaps in a new one.
type table struct {
	exact    map[string][]*route // host → routes, longest prefix first
	wildcard map[string][]*route // suffix without "*." → routes, longest prefix first
}

// lookup finds the route for host (normalized) and path: the exact host's routes first, then
// wildcard suffixes from the most specific to the least, longest path prefix first within each.
func (t *table) lookup(host, path string) *route {
	if rt := matchPath(t.exact[host], path); rt != nil {
		return rt
	}
	if len(t.wildcard) == 0 {
		return nil
	}
	for rest := host; ; {
		i := strings.IndexByte(rest, '.')
		if i < 0 {
			return nil
		}
		rest = rest[i+1:]
		if rt := matchPath(t.wildcard[rest], path); rt != nil {
			return rt
		}
	}
}

// serves reports whether any route, whatever its path, is for host: the gateway mints
// certificates only for such hosts.
func (t *table) serves(host string) bool {
	if len(t.exact[host]) > 0 {
		return true
	}
	for rest := host; ; {
		i := strings.IndexByte(rest, '.')
		if i < 0 {
			return false
		}
		rest = rest[i+1:]
		if len(t.wildcard[rest]) > 0 {
			return true
		}
	}
}

func matchPath(routes []*route, path string) *route {
	for _, rt := range routes {
		if prefixMatches(rt.prefix, path) {
			return rt
		}
	}
	return nil
}

// prefixMatches matches whole segments, so that "/api" does not capture "/apix".
func prefixMatches(prefix, path string) bool {
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	return len(path) == len(prefix) || prefix[len(prefix)-1] == '/' || path[len(prefix)] == '/'
}

// compile validates routes and builds a table; it names the first bad route and field.
func compile(routes []Route, newRoute func(Route, string) *route) (*table, error) {
	t := &table{exact: map[string][]*route{}, wildcard: map[string][]*route{}}
	seen := map[string]int{}
	for i, r := range routes {
		host, prefix, err := validateRoute(r)
		if err != nil {
			return nil, fmt.Errorf("route %d (%q): %w", i, r.Name, err)
		}
		key := host + prefix
		if j, dup := seen[key]; dup {
			return nil, fmt.Errorf("route %d (%q): host %q and path prefix %q are already routed by route %d (%q)", i, r.Name, r.Host, prefix, j, routes[j].Name)
		}
		seen[key] = i
		rt := newRoute(r, prefix)
		if suffix, ok := strings.CutPrefix(host, "*."); ok {
			t.wildcard[suffix] = append(t.wildcard[suffix], rt)
		} else {
			t.exact[host] = append(t.exact[host], rt)
		}
	}
	for _, m := range []map[string][]*route{t.exact, t.wildcard} {
		for _, rs := range m {
			sort.SliceStable(rs, func(a, b int) bool { return len(rs[a].prefix) > len(rs[b].prefix) })
		}
	}
	return t, nil
}

// validateRoute returns the route's normalized host and path prefix.
func validateRoute(r Route) (host, prefix string, err error) {
	host = strings.ToLower(strings.TrimSuffix(r.Host, "."))
	name, wild := strings.CutPrefix(host, "*.")
	if strings.Contains(name, "*") {
		return "", "", fmt.Errorf("host %q: a wildcard must be the whole first label, as in *.example.test", r.Host)
	}
	if err := validHostname(name); err != nil {
		return "", "", fmt.Errorf("host %q: %w", r.Host, err)
	}
	if wild && net.ParseIP(name) != nil {
		return "", "", fmt.Errorf("host %q: a wildcard needs a DNS suffix, not an IP address", r.Host)
	}
	prefix = r.PathPrefix
	if prefix == "" {
		prefix = "/"
	}
	if prefix[0] != '/' || strings.ContainsAny(prefix, "?# ") {
		return "", "", fmt.Errorf("path prefix %q: must start with / and hold no query, fragment or space", r.PathPrefix)
	}
	if err := validUpstream(r.Upstream); err != nil {
		return "", "", err
	}
	return host, prefix, nil
}

// validHostname accepts DNS names (letters, digits, hyphens, underscores in dot-separated labels
// of at most 63 bytes) and IP addresses.
func validHostname(h string) error {
	if h == "" {
		return fmt.Errorf("must not be empty")
	}
	if net.ParseIP(h) != nil {
		return nil
	}
	if len(h) > 253 {
		return fmt.Errorf("must be at most 253 characters")
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("labels must be 1 to 63 characters")
		}
		for _, c := range label {
			ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
			if !ok {
				return fmt.Errorf("%q is not allowed in a host name (letters, digits, - and _)", c)
			}
		}
	}
	return nil
}

func validUpstream(u *url.URL) error {
	switch {
	case u == nil:
		return fmt.Errorf("upstream: must be set")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("upstream %q: scheme must be http or https", u.Redacted())
	case u.Host == "":
		return fmt.Errorf("upstream %q: must have a host", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("upstream %q: must hold no query or fragment", u.Redacted())
	}
	return nil
}

// normalizeHost turns a Host header into a table key: no port, lower case, no trailing dot.
func normalizeHost(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	h = strings.TrimSuffix(h, ".")
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}
