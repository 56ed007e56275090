package expr

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// backstageFilter returns the filters Backstage's scaffolder adds to Nunjucks
// (plugins/scaffolder-backend/src/lib/templating/filters.ts).
func backstageFilter(name string) (filterDef, bool) {
	switch name {
	case "parseRepoUrl":
		return filterDef{nil, func(_ *state, v any, _ []any) (any, error) {
			r, err := parseRepoURL(v)
			if err != nil {
				return nil, err
			}
			return r.object(), nil
		}}, true
	case "parseEntityRef":
		return filterDef{[]string{"context", "defaultNamespace"}, fParseEntityRef}, true
	case "pick":
		return filterDef{[]string{"path"}, func(_ *state, v any, args []any) (any, error) {
			return lodashGet(v, arg(args, 0)), nil
		}}, true
	case "projectSlug":
		return filterDef{nil, func(_ *state, v any, _ []any) (any, error) {
			r, err := parseRepoURL(v)
			if err != nil {
				return nil, err
			}
			return toString(r.get("owner")) + "/" + toString(r.get("repo")), nil
		}}, true
	}
	return filterDef{}, false
}

// repoSpec is what parseRepoUrl returns; absent parts are left out, as JSON leaves out
// Backstage's undefined properties.
type repoSpec struct {
	host                                          string
	owner, repo, organization, workspace, project *string
}

func (r repoSpec) get(k string) any {
	v, ok := r.object().vals[k]
	if !ok {
		return undefined{}
	}
	return v
}

func (r repoSpec) object() *object {
	o := newObject()
	o.set("host", r.host)
	for _, kv := range []struct {
		k string
		v *string
	}{{"owner", r.owner}, {"repo", r.repo}, {"organization", r.organization}, {"workspace", r.workspace}, {"project", r.project}} {
		if kv.v != nil {
			o.set(kv.k, *kv.v)
		}
	}
	return o
}

// parseRepoURL parses a RepoUrlPicker value such as github.com?owner=acme&repo=orders.
// Backstage decides which parameters are required from the integration configured for the
// host; without that configuration the kind of host is told from its name.
func parseRepoURL(v any) (repoSpec, error) {
	s, ok := v.(string)
	if !ok {
		return repoSpec{}, fmt.Errorf("invalid repo URL: want a string like \"github.com?owner=o&repo=r\", got %s", typeName(v))
	}
	u, err := url.Parse("https://" + s)
	if err != nil || u.Host == "" || u.User != nil || strings.ContainsAny(u.Host, " \t") {
		return repoSpec{}, fmt.Errorf("invalid repo URL %q: want host?owner=...&repo=...", s)
	}
	q := u.Query()
	param := func(k string) *string {
		if !q.Has(k) {
			return nil
		}
		v := q.Get(k)
		return &v
	}
	r := repoSpec{host: u.Host, owner: param("owner"), repo: param("repo"), organization: param("organization"),
		workspace: param("workspace"), project: param("project")}
	for _, k := range requiredRepoParams(u.Host, r) {
		if q.Get(k) == "" {
			return repoSpec{}, fmt.Errorf("invalid repo URL %q: missing %s", s, k)
		}
	}
	return r, nil
}

func requiredRepoParams(host string, r repoSpec) []string {
	h := strings.ToLower(host)
	switch {
	case strings.Contains(h, "bitbucket"):
		if h == "www.bitbucket.org" || h == "bitbucket.org" {
			return []string{"workspace", "project", "repo"}
		}
		return []string{"project", "repo"}
	case strings.Contains(h, "azure"):
		return []string{"project", "repo"}
	case strings.Contains(h, "gitlab"):
		if r.project != nil {
			return nil
		}
		return []string{"owner", "repo"}
	case strings.Contains(h, "gitea"), strings.Contains(h, "gerrit"):
		return []string{"repo"}
	}
	return []string{"repo", "owner"}
}

// fParseEntityRef is catalog-model's parseEntityRef: [kind:][namespace/]name, with defaults
// from {defaultKind, defaultNamespace} (or, as older Backstage versions took them, two
// string arguments). Kind and namespace keep their case, as in Backstage.
func fParseEntityRef(_ *state, v any, args []any) (any, error) {
	defKind, defNS := "", "default"
	switch c := arg(args, 0); {
	case isObject(c):
		k, _ := objectGet(c, "defaultKind")
		n, _ := objectGet(c, "defaultNamespace")
		defKind = asString(k)
		if ns := asString(n); ns != "" {
			defNS = ns
		}
	case !isNullish(c):
		defKind = toString(c)
		if ns := asString(arg(args, 1)); ns != "" {
			defNS = ns
		}
	}
	if !truthy(v) {
		return nil, errors.New("entity reference must not be empty")
	}
	kind, ns, name, err := splitEntityRef(v)
	if err != nil {
		return nil, err
	}
	if kind == "" {
		kind = defKind
	}
	if ns == "" {
		ns = defNS
	}
	switch {
	case kind == "":
		return nil, fmt.Errorf("entity reference %q had missing or empty kind (e.g. did not start with \"component:\" or similar)", toString(v))
	case name == "":
		return nil, fmt.Errorf("entity reference %q had missing or empty name", toString(v))
	}
	o := newObject()
	o.set("kind", kind)
	o.set("namespace", ns)
	o.set("name", name)
	return o, nil
}

func splitEntityRef(v any) (kind, ns, name string, err error) {
	if isObject(v) {
		k, _ := objectGet(v, "kind")
		n, _ := objectGet(v, "namespace")
		nm, _ := objectGet(v, "name")
		return asString(k), asString(n), asString(nm), nil
	}
	ref := toString(v)
	colon, slash := strings.Index(ref, ":"), strings.Index(ref, "/")
	if slash != -1 && slash < colon {
		colon = -1 // the colon belongs to the name
	}
	bad := fmt.Errorf("entity reference %q was not on the form [<kind>:][<namespace>/]<name>", ref)
	if colon != -1 {
		if kind = ref[:colon]; kind == "" {
			return "", "", "", bad
		}
	}
	if slash != -1 {
		if ns = ref[colon+1 : slash]; ns == "" {
			return "", "", "", bad
		}
	}
	if name = ref[max(colon+1, slash+1):]; name == "" {
		return "", "", "", bad
	}
	return kind, ns, name, nil
}

// lodashGet is lodash's get(obj, path): path is "a.b[0].c", "a['b.c']" or an array of keys.
func lodashGet(v, path any) any {
	var keys []any
	if a, ok := path.([]any); ok {
		keys = a
	} else {
		for _, k := range lodashPath(toString(path)) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return undefined{}
	}
	for _, k := range keys {
		if isNullish(v) {
			return undefined{}
		}
		v = member(v, k)
	}
	return v
}

func lodashPath(p string) []string {
	var keys []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			keys = append(keys, cur.String())
			cur.Reset()
		}
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '.':
			flush()
		case '[':
			flush()
			end := strings.IndexByte(p[i:], ']')
			if end < 0 {
				cur.WriteString(p[i:])
				i = len(p)
				continue
			}
			k := p[i+1 : i+end]
			if len(k) >= 2 && (k[0] == '"' || k[0] == '\'') && k[len(k)-1] == k[0] {
				k = k[1 : len(k)-1]
			}
			keys = append(keys, k)
			i += end
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return keys
}
