package catalog

import (
	"fmt"
	"regexp"
	"strings"
)

// The naming rules of Backstage's catalog model (packages/catalog-model, KubernetesValidatorFunctions and
// makeValidator), so that every entity goldenpath accepts is one Backstage accepts too.
var (
	kindRule  = regexp.MustCompile(`^[a-zA-Z][a-z0-9A-Z]*$`)
	nameRule  = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	labelRule = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`) // RFC 1123 DNS label
	tagRule   = regexp.MustCompile(`^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$`)
)

const (
	maxNameLen      = 63
	maxSubdomainLen = 253
	defaultNS       = "default"
)

// Ref is a parsed entity reference. Its fields are always lower-case, because Backstage compares refs
// case-insensitively; a Ref is therefore usable as a map key.
type Ref struct{ Kind, Namespace, Name string }

// String returns the canonical form "kind:namespace/name".
func (r Ref) String() string { return r.Kind + ":" + r.Namespace + "/" + r.Name }

// ParseRef parses "[kind:][namespace/]name" case-insensitively. defaultKind is used when the ref has no kind
// (an error if neither gives one); the namespace defaults to defaultNamespace, or "default" when that is empty.
func ParseRef(ref, defaultKind, defaultNamespace string) (Ref, error) {
	if ref == "" {
		return Ref{}, fmt.Errorf("entity ref: must not be empty")
	}
	kind, rest := "", ref
	colon, slash := strings.IndexByte(ref, ':'), strings.IndexByte(ref, '/')
	// A colon after the slash belongs to the name, as in Backstage's parser.
	if colon >= 0 && (slash < 0 || colon < slash) {
		kind, rest = ref[:colon], ref[colon+1:]
		if kind == "" {
			return Ref{}, fmt.Errorf("entity ref %q: kind before ':' must not be empty", ref)
		}
	}
	ns, name := "", rest
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		ns, name = rest[:i], rest[i+1:]
		if ns == "" {
			return Ref{}, fmt.Errorf("entity ref %q: namespace before '/' must not be empty", ref)
		}
	}
	if kind == "" {
		kind = defaultKind
	}
	if ns == "" {
		ns = defaultNamespace
	}
	if ns == "" {
		ns = defaultNS
	}
	r := Ref{Kind: strings.ToLower(kind), Namespace: strings.ToLower(ns), Name: strings.ToLower(name)}
	if err := r.check(); err != nil {
		return Ref{}, fmt.Errorf("entity ref %q: %w", ref, err)
	}
	return r, nil
}

func (r Ref) check() error {
	if r.Kind == "" {
		return fmt.Errorf("kind is required (write it as kind:name)")
	}
	if rule := kindProblem(r.Kind); rule != "" {
		return fmt.Errorf("kind %q %s", r.Kind, rule)
	}
	if rule := namespaceProblem(r.Namespace); rule != "" {
		return fmt.Errorf("namespace %q %s", r.Namespace, rule)
	}
	if rule := nameProblem(r.Name); rule != "" {
		return fmt.Errorf("name %q %s", r.Name, rule)
	}
	return nil
}

// The *Problem functions return "" for a valid value, or the rule it breaks, worded to follow the value.

func kindProblem(s string) string {
	if len(s) > maxNameLen || !kindRule.MatchString(s) {
		return "must be 1-63 letters and digits, starting with a letter"
	}
	return ""
}

func nameProblem(s string) string {
	if len(s) > maxNameLen || !nameRule.MatchString(s) {
		return "must be 1-63 characters of [a-zA-Z0-9-_.], starting and ending with a letter or digit"
	}
	return ""
}

func namespaceProblem(s string) string {
	if len(s) > maxNameLen || !labelRule.MatchString(s) {
		return "must be a DNS label: 1-63 characters of [a-z0-9-], starting and ending with a letter or digit"
	}
	return ""
}

func tagProblem(s string) string {
	if len(s) > maxNameLen || !tagRule.MatchString(s) {
		return "must be 1-63 characters of [a-z0-9:+#] in groups joined by single '-'"
	}
	return ""
}

// keyProblem checks a label or annotation key: a name, optionally prefixed by a DNS subdomain and '/'.
func keyProblem(s string) string {
	prefix, name, found := strings.Cut(s, "/")
	if !found {
		name, prefix = prefix, ""
	}
	if strings.Contains(name, "/") {
		return "must contain at most one '/'"
	}
	if found && !isDNSSubdomain(prefix) {
		return "must have a DNS subdomain prefix (at most 253 characters of lower-case DNS labels joined by '.') before '/'"
	}
	if nameProblem(name) != "" {
		return "must end in a name of 1-63 characters of [a-zA-Z0-9-_.], starting and ending with a letter or digit"
	}
	return ""
}

func labelValueProblem(s string) string {
	if s == "" || nameProblem(s) == "" {
		return ""
	}
	return "must be empty or 1-63 characters of [a-zA-Z0-9-_.], starting and ending with a letter or digit"
}

func isDNSSubdomain(s string) bool {
	if s == "" || len(s) > maxSubdomainLen {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if namespaceProblem(part) != "" {
			return false
		}
	}
	return true
}
