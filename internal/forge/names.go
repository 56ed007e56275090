package forge

import (
	"errors"
	"fmt"
	"strings"
)

const (
	maxRepoName = 100
	maxRefName  = 255
	maxPath     = 4096
	maxRev      = 512
)

// ValidateRepoName checks that name is a usable repository name: "name" or "owner/name" (as on GitHub,
// so a Backstage repoUrl's owner and repo map onto the forge), each part [a-z0-9][a-z0-9._-]*, at most 100
// characters in all, no "..", and no ".git" suffix (the URL's optional ".git" would make it ambiguous).
func ValidateRepoName(name string) error {
	switch {
	case name == "":
		return errors.New("repository name: must not be empty")
	case len(name) > maxRepoName:
		return fmt.Errorf("repository name %q: must be at most %d characters", name, maxRepoName)
	case strings.Contains(name, ".."):
		return fmt.Errorf("repository name %q: must not contain \"..\"", name)
	case strings.HasSuffix(name, ".git"):
		return fmt.Errorf("repository name %q: must not end in \".git\"", name)
	case strings.Count(name, "/") > 1:
		return fmt.Errorf("repository name %q: at most one \"/\" (owner/name)", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || strings.HasSuffix(part, ".git") {
			return fmt.Errorf("repository name %q: owner and name must be non-empty and must not end in \".git\"", name)
		}
		for i, c := range part {
			lowerOrDigit := (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
			if lowerOrDigit || (i > 0 && (c == '.' || c == '_' || c == '-')) {
				continue
			}
			return fmt.Errorf("repository name %q: must be name or owner/name, each matching [a-z0-9][a-z0-9._-]*", name)
		}
	}
	return nil
}

// ValidateBranchName applies git's check-ref-format rules to refs/heads/<name>, plus a ban on a leading
// "-" so a branch can never be mistaken for an option.
func ValidateBranchName(name string) error {
	if name == "" {
		return errors.New("branch name must not be empty")
	}
	if strings.HasPrefix(name, "-") {
		return fmt.Errorf("branch name %q must not start with \"-\"", name)
	}
	if name == "HEAD" {
		return errors.New(`branch name must not be "HEAD"`)
	}
	return validateRefName("refs/heads/" + name)
}

// validateRefName checks a full ref name ("refs/...") against git's check-ref-format rules.
func validateRefName(ref string) error {
	if !strings.HasPrefix(ref, "refs/") {
		return fmt.Errorf("ref %q must start with \"refs/\"", ref)
	}
	if len(ref) > maxRefName {
		return fmt.Errorf("ref %q must be at most %d characters", ref, maxRefName)
	}
	if reason := refFormatProblem(ref); reason != "" {
		return fmt.Errorf("ref %q is not a valid git ref name: %s", ref, reason)
	}
	return nil
}

func refFormatProblem(ref string) string {
	switch {
	case strings.HasSuffix(ref, "/") || strings.Contains(ref, "//"):
		return "empty path component"
	case strings.HasSuffix(ref, "."):
		return `must not end with "."`
	case strings.Contains(ref, ".."):
		return `must not contain ".."`
	case strings.Contains(ref, "@{"):
		return `must not contain "@{"`
	}
	for _, c := range ref {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(" ~^:?*[\\", c) {
			return fmt.Sprintf("must not contain %q", c)
		}
	}
	for _, comp := range strings.Split(ref, "/") {
		if strings.HasPrefix(comp, ".") {
			return `a component must not start with "."`
		}
		if strings.HasSuffix(comp, ".lock") {
			return `a component must not end with ".lock"`
		}
	}
	return ""
}

// validatePath checks a file path inside a repository: relative, clean, slash-separated, no "." or ".."
// component, no ".git" component (any case), no control characters or backslashes.
func validatePath(p string) error {
	switch {
	case p == "":
		return errors.New("path must not be empty")
	case len(p) > maxPath:
		return fmt.Errorf("path %.40q...: must be at most %d bytes", p, maxPath)
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("path %q: must be relative (no leading \"/\")", p)
	case strings.HasSuffix(p, "/"):
		return fmt.Errorf("path %q: must not end with \"/\"", p)
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return fmt.Errorf("path %q: must not contain %q", p, c)
		}
	}
	for _, comp := range strings.Split(p, "/") {
		switch {
		case comp == "":
			return fmt.Errorf("path %q: must not contain empty components (\"//\")", p)
		case comp == "." || comp == "..":
			return fmt.Errorf("path %q: must not contain %q components", p, comp)
		case strings.EqualFold(comp, ".git"):
			return fmt.Errorf("path %q: must not contain a .git component", p)
		}
	}
	return nil
}

// validateRev checks a revision given by a caller: "HEAD", a branch or tag name, a full ref
// ("refs/...") or a commit id (at least 4 hex digits). Revision expressions ("main~1", "a..b") are
// refused: they would bypass the branch-first resolution ResolveRef promises.
func validateRev(rev string) error {
	switch {
	case rev == "":
		return errors.New("revision must not be empty")
	case len(rev) > maxRev:
		return fmt.Errorf("revision %.40q...: must be at most %d characters", rev, maxRev)
	case rev == "HEAD", len(rev) >= 4 && len(rev) <= 64 && isHexString(rev):
		return nil
	case strings.HasPrefix(rev, "refs/"):
		return validateRefName(rev)
	}
	if err := ValidateBranchName(rev); err != nil {
		return fmt.Errorf("revision %q must be a branch or tag name, a full ref (refs/...) or a commit id", rev)
	}
	return nil
}

// validateSHA checks a full object id (40 hex digits for SHA-1 repositories, 64 for SHA-256).
func validateSHA(field, sha string) error {
	if !isFullSHA(sha) {
		return fmt.Errorf("%s %q: must be a full commit id (40 lowercase hex digits)", field, sha)
	}
	return nil
}

func isFullSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// validateSignature rejects identities git would mangle or refuse.
func validateSignature(field string, s Signature) error {
	if strings.TrimSpace(s.Name) == "" {
		return fmt.Errorf("%s.Name must not be empty", field)
	}
	if strings.TrimSpace(s.Email) == "" {
		return fmt.Errorf("%s.Email must not be empty", field)
	}
	for _, v := range []string{s.Name, s.Email} {
		if strings.ContainsAny(v, "<>\n\r\x00") {
			return fmt.Errorf("%s %q: must not contain '<', '>' or newlines", field, v)
		}
	}
	return nil
}
