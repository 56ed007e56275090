// Package images decides which image tag an application environment should
// deploy, the way Argo CD Image Updater does: a Policy (strategy semver,
// newest-build, digest or alphabetical, with tag filters and platforms) picks
// one Candidate among a repository's tags. Candidates come from any OCI
// registry through Registry (go-containerregistry, rate limited per registry,
// with a digest-keyed cache of build dates), and a Watcher re-evaluates its
// Subscriptions when a registry reports a push (goldenpath's embedded registry
// directly, other registries through webhooks) or when polling finds a change,
// calling OnUpdate once per new selection.
package images

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Strategy is how a Policy orders the tags it admits.
type Strategy string

// The strategies of Argo CD Image Updater. Only StrategyDigest follows a
// mutable tag; the others assume a tag, once pushed, never moves.
const (
	// StrategySemver picks the highest semantic version admitted by the
	// constraint. It is the default.
	StrategySemver Strategy = "semver"
	// StrategyNewestBuild picks the tag whose image was built last (the
	// config's created date, not the push time).
	StrategyNewestBuild Strategy = "newest-build"
	// StrategyDigest follows one mutable tag (Policy.Tag) by its digest.
	StrategyDigest Strategy = "digest"
	// StrategyAlphabetical picks the lexically greatest tag (calendar versions).
	StrategyAlphabetical Strategy = "alphabetical"
)

// strategyAliases are Image Updater's old names, still accepted there.
var strategyAliases = map[Strategy]Strategy{
	"":       StrategySemver,
	"latest": StrategyNewestBuild,
	"name":   StrategyAlphabetical,
}

// Canonical returns the strategy with aliases resolved: "" is semver, "latest"
// is newest-build and "name" is alphabetical. Unknown names are returned as
// they are (Validate rejects them).
func (s Strategy) Canonical() Strategy {
	if c, ok := strategyAliases[s]; ok {
		return c
	}
	return s
}

// Policy says which of a repository's tags may be deployed and which of those
// wins. The zero value is valid: semver, highest release version.
type Policy struct {
	// Strategy is semver (default), newest-build, digest or alphabetical; the
	// aliases latest (newest-build) and name (alphabetical) are accepted.
	Strategy Strategy `json:"strategy,omitempty"`
	// Constraint is a semver constraint ("~1.2", "1.2.x", ">=1.0 <2", "2.x-0").
	// Pre-releases are admitted only when the constraint names one (the "-0"
	// suffix), as in Image Updater. Only the semver strategy uses it.
	Constraint string `json:"constraint,omitempty"`
	// AllowTags is "any" (or empty) or "regexp:<expression>"; only tags the
	// expression matches are considered.
	AllowTags string `json:"allowTags,omitempty"`
	// IgnoreTags are glob patterns (path.Match syntax); a matching tag is never
	// considered. ["*"] pauses updates.
	IgnoreTags []string `json:"ignoreTags,omitempty"`
	// Platforms ("linux/amd64", "linux/arm64/v8") restrict the candidates to
	// tags whose image, or one of whose index entries, runs there. newest-build
	// then compares the build dates of those platform images only. Honouring
	// platforms costs a manifest and a config fetch per tag (cached by digest).
	Platforms []string `json:"platforms,omitempty"`
	// Tag is the mutable tag the digest strategy follows ("latest", "dev").
	Tag string `json:"tag,omitempty"`
}

// tagPattern is the OCI distribution tag grammar.
var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

// Validate reports the first field that breaks a rule, naming it.
func (p Policy) Validate() error {
	_, err := p.compile()
	return err
}

// matcher is a validated Policy, ready to admit and order tags.
type matcher struct {
	strategy   Strategy
	constraint *semver.Constraints // nil: any release version
	allow      *regexp.Regexp      // nil: any tag
	ignore     []string
	platforms  []platform
	tag        string
}

func (p Policy) compile() (*matcher, error) {
	m := &matcher{strategy: p.Strategy.Canonical(), ignore: p.IgnoreTags, tag: p.Tag}
	steps := []func(Policy, *matcher) error{compileStrategy, compileConstraint, compileAllow,
		compileIgnore, compilePlatforms, compileTag}
	for _, step := range steps {
		if err := step(p, m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func compileStrategy(p Policy, m *matcher) error {
	switch m.strategy {
	case StrategySemver, StrategyNewestBuild, StrategyDigest, StrategyAlphabetical:
		return nil
	}
	return fmt.Errorf("strategy %q is not one of semver, newest-build, digest, alphabetical (or the aliases latest, name)", p.Strategy)
}

func compileConstraint(p Policy, m *matcher) error {
	if p.Constraint == "" {
		return nil
	}
	if m.strategy != StrategySemver {
		return fmt.Errorf("constraint %q: only the semver strategy uses a constraint (strategy is %s); filter tags with allowTags instead", p.Constraint, m.strategy)
	}
	c, err := semver.NewConstraint(p.Constraint)
	if err != nil {
		return fmt.Errorf("constraint %q is not a semver constraint (e.g. \"~1.2\", \"1.2.x\", \">=1.0 <2\"): %w", p.Constraint, err)
	}
	m.constraint = c
	return nil
}

func compileAllow(p Policy, m *matcher) error {
	switch {
	case p.AllowTags == "" || p.AllowTags == "any":
		return nil
	case strings.HasPrefix(p.AllowTags, "regexp:"):
		expr := strings.TrimPrefix(p.AllowTags, "regexp:")
		re, err := regexp.Compile(expr)
		if err != nil {
			return fmt.Errorf("allowTags: %q is not a valid regular expression: %w", expr, err)
		}
		m.allow = re
		return nil
	}
	return fmt.Errorf("allowTags %q must be \"any\" or \"regexp:<expression>\"", p.AllowTags)
}

func compileIgnore(p Policy, _ *matcher) error {
	for i, pattern := range p.IgnoreTags {
		if pattern == "" {
			return fmt.Errorf("ignoreTags[%d] is empty: it must be a glob pattern such as \"*-rc*\"", i)
		}
		if _, err := path.Match(pattern, ""); err != nil {
			return fmt.Errorf("ignoreTags[%d] %q is not a glob pattern: %w", i, pattern, err)
		}
	}
	return nil
}

func compilePlatforms(p Policy, m *matcher) error {
	for i, s := range p.Platforms {
		pl, err := parsePlatform(s)
		if err != nil {
			return fmt.Errorf("platforms[%d]: %w", i, err)
		}
		m.platforms = append(m.platforms, pl)
	}
	return nil
}

func compileTag(p Policy, m *matcher) error {
	if m.strategy != StrategyDigest {
		if p.Tag != "" {
			return fmt.Errorf("tag %q: only the digest strategy follows a tag (strategy is %s)", p.Tag, m.strategy)
		}
		return nil
	}
	if p.Tag == "" {
		return errors.New("tag is required with the digest strategy: name the mutable tag to follow, e.g. \"latest\"")
	}
	if !tagPattern.MatchString(p.Tag) {
		return fmt.Errorf("tag %q is not a valid tag: letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-'", p.Tag)
	}
	return nil
}

// admits reports whether the policy considers tag at all, before any ordering.
// For semver it also returns the parsed version.
func (m *matcher) admits(tag string) (bool, *semver.Version) {
	if m.allow != nil && !m.allow.MatchString(tag) {
		return false, nil
	}
	for _, pattern := range m.ignore {
		if ok, _ := path.Match(pattern, tag); ok {
			return false, nil
		}
	}
	switch m.strategy {
	case StrategyDigest:
		return tag == m.tag, nil
	case StrategySemver:
		return m.admitsVersion(tag)
	}
	return true, nil
}

// admitsVersion parses tag loosely ("v1.2", "1.2.3-rc.1"), as Image Updater
// does, and checks it against the constraint; without a constraint only
// release versions are admitted.
func (m *matcher) admitsVersion(tag string) (bool, *semver.Version) {
	v, err := semver.NewVersion(tag)
	if err != nil {
		return false, nil
	}
	if m.constraint == nil {
		return v.Prerelease() == "", v
	}
	return m.constraint.Check(v), v
}

// needsImages reports whether ordering or filtering needs each tag's platform
// images (their build dates and platforms), which cost registry requests.
func (m *matcher) needsImages() bool {
	return m.strategy == StrategyNewestBuild || len(m.platforms) > 0
}

// platform is a parsed "os/arch[/variant]".
type platform struct{ os, arch, variant string }

func parsePlatform(s string) (platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return platform{}, fmt.Errorf("%q is not os/arch[/variant], e.g. \"linux/amd64\"", s)
	}
	for _, part := range parts {
		if part == "" || strings.TrimSpace(part) != part {
			return platform{}, fmt.Errorf("%q is not os/arch[/variant], e.g. \"linux/amd64\"", s)
		}
	}
	p := platform{os: parts[0], arch: parts[1]}
	if len(parts) == 3 {
		p.variant = parts[2]
	}
	return p.normal(), nil
}

// normal fills the variant that an architecture implies when none is given,
// so "linux/arm64" and "linux/arm64/v8" are the same platform.
func (p platform) normal() platform {
	if p.arch == "arm64" && p.variant == "" {
		p.variant = "v8"
	}
	return p
}

// satisfies reports whether an image built for have runs where want asks; a
// want without variant accepts any variant.
func (want platform) satisfies(have platform) bool {
	return want.os == have.os && want.arch == have.arch &&
		(want.variant == "" || want.variant == have.variant)
}
