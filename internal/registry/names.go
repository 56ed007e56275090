package registry

import (
	"fmt"
	"regexp"
	"strings"
)

// maxNameLength is distribution's limit on a repository name. Docker counts the
// registry host too; we only see the path, so this is a little generous.
const maxNameLength = 255

var (
	// nameComponent is one path component of a repository name, from the
	// distribution reference grammar.
	nameComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$`)
	// tagPattern is the distribution tag grammar.
	tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	// digestAlgorithm is the OCI grammar for the algorithm part of a digest.
	digestAlgorithm = regexp.MustCompile(`^[a-z0-9]+(?:[+._-][a-z0-9]+)*$`)
	lowerHex        = regexp.MustCompile(`^[a-f0-9]+$`)
)

// ValidateRepositoryName checks name against the distribution name grammar:
// one or more components joined by "/", each made of lowercase letters and
// digits, separated inside a component by ".", "_", "__" or runs of "-".
func ValidateRepositoryName(name string) error {
	if name == "" {
		return fmt.Errorf("repository name is empty: it must be lowercase components like %q", "dev/orders")
	}
	if len(name) > maxNameLength {
		return fmt.Errorf("repository name %q is %d characters long: the limit is %d", name, len(name), maxNameLength)
	}
	for i, c := range strings.Split(name, "/") {
		if c == "" {
			return fmt.Errorf("repository name %q has an empty component at position %d: components are joined by single slashes", name, i+1)
		}
		if !nameComponent.MatchString(c) {
			return fmt.Errorf("repository name %q: component %q must match %s (lowercase letters and digits, separated by '.', '_', '__' or '-')",
				name, c, nameComponent.String())
		}
	}
	return nil
}

// validateTag checks a tag against the distribution tag grammar.
func validateTag(tag string) error {
	if !tagPattern.MatchString(tag) {
		return fmt.Errorf("tag %q must match %s (up to 128 letters, digits, '_', '.', '-'; not starting with '.' or '-')",
			tag, tagPattern.String())
	}
	return nil
}

// digest is a parsed "algorithm:hex" content digest. Only algorithms the
// registry can verify are accepted, so every stored digest is checkable.
type digest struct {
	Algorithm string
	Hex       string
}

// hexLength is the encoded length of each supported digest algorithm.
var hexLength = map[string]int{"sha256": 64, "sha512": 128}

func parseDigest(s string) (digest, error) {
	alg, hex, ok := strings.Cut(s, ":")
	if !ok || alg == "" || hex == "" {
		return digest{}, fmt.Errorf("digest %q must have the form algorithm:hex, e.g. sha256:<64 hex characters>", s)
	}
	if !digestAlgorithm.MatchString(alg) {
		return digest{}, fmt.Errorf("digest %q has a malformed algorithm %q", s, alg)
	}
	want, ok := hexLength[alg]
	if !ok {
		return digest{}, fmt.Errorf("digest %q uses unsupported algorithm %q: use sha256 or sha512", s, alg)
	}
	if len(hex) != want || !lowerHex.MatchString(hex) {
		return digest{}, fmt.Errorf("digest %q: a %s digest is %d lowercase hex characters", s, alg, want)
	}
	return digest{Algorithm: alg, Hex: hex}, nil
}

func (d digest) String() string { return d.Algorithm + ":" + d.Hex }

// isDigest tells a manifest reference that is a digest from one that is a tag:
// tags cannot contain ':'.
func isDigest(ref string) bool { return strings.Contains(ref, ":") }
