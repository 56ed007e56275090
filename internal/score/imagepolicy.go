package score

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Argo CD Image Updater's annotations, in its own vocabulary. A workload carries them in
// metadata.annotations; Render copies them, resolved, onto the app's Argo CD Application.
const (
	AnnotationPrefix          = "argocd-image-updater.argoproj.io/"
	AnnotationImageList       = AnnotationPrefix + "image-list"
	AnnotationWriteBackMethod = AnnotationPrefix + "write-back-method"
	AnnotationWriteBackTarget = AnnotationPrefix + "write-back-target"

	// WriteBackMethod and WriteBackTarget are the only write-back goldenpath renders: a commit to git that
	// edits the images entry of the app's kustomization.yaml (the same edit SetImage makes), so the
	// pinned image survives a re-sync from git.
	WriteBackMethod = "git"
	WriteBackTarget = "kustomization"
)

// Per-alias options (argocd-image-updater.argoproj.io/<alias>.<option>).
const (
	optStrategy      = "update-strategy"
	optAllowTags     = "allow-tags"
	optIgnoreTags    = "ignore-tags"
	optPlatforms     = "platforms"
	optKustomizeName = "kustomize.image-name"
)

// Strategy is how Argo CD Image Updater picks the next image.
type Strategy string

// The update strategies, by their current names; "latest" and "name" are read as their old aliases.
const (
	StrategySemver       Strategy = "semver"       // highest version allowed by the constraint (the default)
	StrategyNewestBuild  Strategy = "newest-build" // most recently built image
	StrategyDigest       Strategy = "digest"       // the current digest of one mutable tag
	StrategyAlphabetical Strategy = "alphabetical" // lexically last tag, for calendar versions
)

// ImagePolicy is the image update configuration of a workload, one entry per image-list alias.
type ImagePolicy struct {
	Images []ImageUpdate // sorted by alias
}

// ImageUpdate is how one image is kept up to date.
type ImageUpdate struct {
	Alias string
	// Image is the repository to watch; OwnImage (".") is the image built from the app's repository.
	Image string
	// Constraint is, for semver, a version constraint such as "~1.2" ("" allows any version) and, for
	// digest, the mutable tag to follow.
	Constraint string
	Strategy   Strategy
	AllowTags  string   // "", "any" or "regexp:<expression>"
	IgnoreTags []string // globs; "*" ignores every tag
	Platforms  []string // e.g. linux/amd64
}

// PolicyError is a problem with one image update annotation.
type PolicyError struct {
	Annotation string
	Rule       string
}

func (e *PolicyError) Error() string { return "annotation " + e.Annotation + ": " + e.Rule }

// PolicyErrors lists every problem found; it is itself an error.
type PolicyErrors []*PolicyError

func (es PolicyErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

func policyErrors(err error) PolicyErrors {
	var es PolicyErrors
	if errors.As(err, &es) {
		return es
	}
	return PolicyErrors{{Rule: err.Error()}}
}

var (
	aliasPattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)
	tagPattern      = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)
	digestPattern   = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$`)
	platformPattern = regexp.MustCompile(`^[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?$`)
)

// ParseImagePolicy reads Argo CD Image Updater's annotations. It returns nil without an error when there
// are none; any other annotation is ignored. Every problem is reported, naming its annotation.
func ParseImagePolicy(annotations map[string]string) (*ImagePolicy, error) {
	p := &policyParser{byAlias: map[string]*ImageUpdate{}}
	list, hasList := annotations[AnnotationImageList]
	if hasList {
		p.parseList(list)
	}
	found := hasList
	for _, key := range slices.Sorted(maps.Keys(annotations)) {
		if strings.HasPrefix(key, AnnotationPrefix) && key != AnnotationImageList {
			found = true
			p.parseOption(key, annotations[key], hasList)
		}
	}
	if !found {
		return nil, nil
	}
	for _, u := range p.byAlias {
		p.checkConstraint(u)
	}
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	out := &ImagePolicy{}
	for _, alias := range slices.Sorted(maps.Keys(p.byAlias)) {
		out.Images = append(out.Images, *p.byAlias[alias])
	}
	return out, nil
}

type policyParser struct {
	byAlias map[string]*ImageUpdate
	errs    PolicyErrors
}

func (p *policyParser) errorf(annotation, format string, args ...any) {
	p.errs = append(p.errs, &PolicyError{Annotation: annotation, Rule: fmt.Sprintf(format, args...)})
}

// parseList reads "alias=image[:constraint], ...".
func (p *policyParser) parseList(list string) {
	entries := strings.Split(list, ",")
	for _, e := range entries {
		e = strings.TrimSpace(e)
		alias, ref, ok := strings.Cut(e, "=")
		switch {
		case e == "":
			p.errorf(AnnotationImageList, "has an empty entry: write alias=image[:constraint] entries separated by commas")
		case !ok:
			p.errorf(AnnotationImageList, "entry %q has no alias: write alias=image[:constraint], e.g. app=.:~1.2", e)
		case !aliasPattern.MatchString(alias):
			p.errorf(AnnotationImageList, "alias %q must be letters, digits, '-' and '_'", alias)
		case p.byAlias[alias] != nil:
			p.errorf(AnnotationImageList, "alias %q is listed twice", alias)
		default:
			p.addEntry(alias, ref)
		}
	}
}

func (p *policyParser) addEntry(alias, ref string) {
	if strings.Contains(ref, "@") {
		p.errorf(AnnotationImageList, "entry %s names a digest: name a repository (and a constraint or tag after ':')", alias)
		return
	}
	image, constraint := ref, ""
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		image, constraint = ref[:i], ref[i+1:]
	}
	if image == "" {
		p.errorf(AnnotationImageList, "entry %s names no image: use %q for the image built from the app's repository", alias, OwnImage)
		return
	}
	p.byAlias[alias] = &ImageUpdate{Alias: alias, Image: image, Constraint: constraint, Strategy: StrategySemver}
}

// parseOption reads a write-back annotation or an alias's option.
func (p *policyParser) parseOption(key, val string, hasList bool) {
	rest := strings.TrimPrefix(key, AnnotationPrefix)
	switch rest {
	case "write-back-method":
		if val != WriteBackMethod {
			p.errorf(key, "must be %q (goldenpath commits image updates to git), got %q", WriteBackMethod, val)
		}
		return
	case "write-back-target":
		if val != WriteBackTarget {
			p.errorf(key, "must be %q (the app's kustomization.yaml), got %q", WriteBackTarget, val)
		}
		return
	}
	alias, opt, ok := strings.Cut(rest, ".")
	if !ok {
		p.errorf(key, "is not an annotation goldenpath supports (supported: image-list, write-back-method, write-back-target "+
			"and <alias>.{%s,%s,%s,%s})", optStrategy, optAllowTags, optIgnoreTags, optPlatforms)
		return
	}
	u := p.byAlias[alias]
	if u == nil {
		if hasList {
			p.errorf(key, "alias %q is not in %s", alias, AnnotationImageList)
		} else {
			p.errorf(key, "needs %s listing alias %q", AnnotationImageList, alias)
		}
		return
	}
	p.setOption(key, u, opt, val)
}

func (p *policyParser) setOption(key string, u *ImageUpdate, opt, val string) {
	switch opt {
	case optStrategy:
		s, ok := parseStrategy(val)
		if !ok {
			p.errorf(key, "update strategy %q is not one of semver, newest-build (or latest), digest, alphabetical (or name)", val)
		}
		u.Strategy = s
	case optAllowTags:
		p.setAllowTags(key, u, val)
	case optIgnoreTags:
		u.IgnoreTags = p.list(key, val, func(g string) error {
			_, err := path.Match(g, "")
			return err
		})
	case optPlatforms:
		u.Platforms = p.list(key, val, func(s string) error {
			if !platformPattern.MatchString(s) {
				return fmt.Errorf("is not os/arch[/variant] such as linux/amd64")
			}
			return nil
		})
	case optKustomizeName:
		p.errorf(key, "is set by goldenpath: the name of the image in the rendered kustomization.yaml")
	default:
		p.errorf(key, "option %q is not supported (supported: %s)", opt,
			quoteList([]string{optStrategy, optAllowTags, optIgnoreTags, optPlatforms}))
	}
}

func parseStrategy(s string) (Strategy, bool) {
	switch s {
	case "semver":
		return StrategySemver, true
	case "newest-build", "latest":
		return StrategyNewestBuild, true
	case "digest":
		return StrategyDigest, true
	case "alphabetical", "name":
		return StrategyAlphabetical, true
	}
	return "", false
}

func (p *policyParser) setAllowTags(key string, u *ImageUpdate, val string) {
	if val == "any" {
		u.AllowTags = val
		return
	}
	expr, ok := strings.CutPrefix(val, "regexp:")
	if !ok {
		p.errorf(key, "must be \"any\" or \"regexp:<expression>\", got %q", val)
		return
	}
	if _, err := regexp.Compile(expr); err != nil {
		p.errorf(key, "regular expression %q does not compile: %v", expr, err)
		return
	}
	u.AllowTags = val
}

// list reads a comma-separated list, checking each item.
func (p *policyParser) list(key, val string, check func(string) error) []string {
	var out []string
	for _, item := range strings.Split(val, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			p.errorf(key, "has an empty item in %q", val)
			continue
		}
		if err := check(item); err != nil {
			p.errorf(key, "%q %v", item, err)
			continue
		}
		out = append(out, item)
	}
	return out
}

// checkConstraint checks the part after ':' of an image-list entry against the alias's strategy.
func (p *policyParser) checkConstraint(u *ImageUpdate) {
	switch u.Strategy {
	case StrategySemver:
		if u.Constraint != "" {
			if err := checkSemverConstraint(u.Constraint); err != nil {
				p.errorf(AnnotationImageList, "entry %s: %v", u.Alias, err)
			}
		}
	case StrategyDigest:
		if u.Constraint == "" {
			p.errorf(AnnotationImageList, "entry %s: the digest strategy follows one tag: write %s=%s:<tag>", u.Alias, u.Alias, u.Image)
		} else if !tagPattern.MatchString(u.Constraint) {
			p.errorf(AnnotationImageList, "entry %s: %q is not a valid tag to follow", u.Alias, u.Constraint)
		}
	default:
		if u.Constraint != "" {
			p.errorf(AnnotationImageList, "entry %s: a constraint (%q) applies to the semver and digest strategies only, not %s",
				u.Alias, u.Constraint, u.Strategy)
		}
	}
}

var (
	semverOpSpace = regexp.MustCompile(`(!=|>=|=>|<=|=<|~>|[=><~^])\s+`)
	semverHyphen  = regexp.MustCompile(`\s+-\s+`)
	semverTerm    = regexp.MustCompile(`^(!=|>=|=>|<=|=<|~>|[=><~^])?v?(\d+|[xX*])(\.(\d+|[xX*])){0,2}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
)

// checkSemverConstraint accepts the constraint syntax Argo CD Image Updater reads (Masterminds semver):
// terms such as "~1.2", "^2", ">=1.0 <2.0", "1.2.x", ranges "1.2 - 1.4" and alternatives joined by "||".
func checkSemverConstraint(s string) error {
	for _, group := range strings.Split(s, "||") {
		group = semverHyphen.ReplaceAllString(semverOpSpace.ReplaceAllString(strings.TrimSpace(group), "$1"), " ")
		terms := strings.Fields(group)
		if len(terms) == 0 {
			return fmt.Errorf("semver constraint %q has an empty alternative", s)
		}
		for _, t := range terms {
			if !semverTerm.MatchString(t) {
				return fmt.Errorf("semver constraint %q: %q is not a version or an operator and a version (e.g. ~1.2, >=1.0 <2.0, 1.2.x)", s, t)
			}
		}
	}
	return nil
}

// kustomizeName is the image name an alias's updates are written to in kustomization.yaml.
func (w *Workload) kustomizeName(u ImageUpdate) string {
	if u.Image == OwnImage {
		return ownImageName(w.Metadata.Name)
	}
	return w.containerImageName(u.Image)
}

// applicationAnnotations renders the policy as annotations of the app's Argo CD Application, with the app's
// own image resolved to ownRepo.
func (w *Workload) applicationAnnotations(ownRepo string) map[string]string {
	if w.Images == nil || len(w.Images.Images) == 0 {
		return nil
	}
	out := map[string]string{
		AnnotationWriteBackMethod: WriteBackMethod,
		AnnotationWriteBackTarget: WriteBackTarget,
	}
	entries := make([]string, 0, len(w.Images.Images))
	for _, u := range w.Images.Images {
		image := u.Image
		if image == OwnImage {
			image = ownRepo
		}
		entry := u.Alias + "=" + image
		if u.Constraint != "" {
			entry += ":" + u.Constraint
		}
		entries = append(entries, entry)
		prefix := AnnotationPrefix + u.Alias + "."
		out[prefix+optStrategy] = string(u.Strategy)
		out[prefix+optKustomizeName] = w.kustomizeName(u)
		setIf(out, prefix+optAllowTags, u.AllowTags)
		setIf(out, prefix+optIgnoreTags, strings.Join(u.IgnoreTags, ", "))
		setIf(out, prefix+optPlatforms, strings.Join(u.Platforms, ", "))
	}
	out[AnnotationImageList] = strings.Join(entries, ", ")
	return out
}

func setIf(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// isImageUpdaterAnnotation reports whether an annotation belongs to Argo CD Image Updater (and so to the
// Application rather than the Deployment).
func isImageUpdaterAnnotation(key string) bool {
	return strings.HasPrefix(key, AnnotationPrefix)
}
