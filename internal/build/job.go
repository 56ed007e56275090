package build

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/mod/modfile"
)

// job is Options checked and resolved: everything Build needs, in the form it needs it.
type job struct {
	dir        string // absolute
	importPath string
	binName    string // file name under /ko-app
	tag        name.Tag
	extraTags  []name.Tag
	auth       authn.Authenticator
	platform   v1.Platform
	env        []string
	labels     map[string]string
	version    string
	log        *slog.Logger
}

// versionPattern keeps Version safe inside -ldflags, which go build splits on spaces and quotes.
var versionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$`)

// binNamePattern is what may name the binary: a plain file name.
var binNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func newJob(o Options) (*job, error) {
	j := &job{auth: o.Auth, labels: maps.Clone(o.Labels), version: o.Version, log: o.Logger}
	if j.auth == nil {
		j.auth = authn.Anonymous
	}
	if j.log == nil {
		j.log = discardLogger()
	}
	if o.Version != "" && !versionPattern.MatchString(o.Version) {
		return nil, fmt.Errorf("Version %q: it must start with a letter or digit and hold only letters, digits and . _ + - (at most 128)", o.Version)
	}
	steps := []func(Options) error{j.setDir, j.setImportPath, j.setRefs, j.setPlatform, j.setEnv}
	for _, step := range steps {
		if err := step(o); err != nil {
			return nil, err
		}
	}
	return j, nil
}

func (j *job) setDir(o Options) error {
	if o.Dir == "" {
		return errors.New("Dir is empty: it must be the directory holding the service's go.mod")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return fmt.Errorf("Dir %q: %w", o.Dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("Dir %s: %w: it must be the root of a Go module", dir, ErrNoGoMod)
		}
		return fmt.Errorf("Dir %s: %w", dir, err)
	}
	j.dir = dir
	return nil
}

// setImportPath also names the binary the way ko does: after the package's last path element.
func (j *job) setImportPath(o Options) error {
	j.importPath = o.ImportPath
	if j.importPath == "" {
		j.importPath = "."
	}
	if strings.Contains(j.importPath, "...") {
		return fmt.Errorf("ImportPath %q: it must name one main package, not a pattern", j.importPath)
	}
	full := path.Clean(filepath.ToSlash(j.importPath))
	if full == "." || strings.HasPrefix(full, "./") || strings.HasPrefix(full, "../") {
		mod, err := j.modulePath()
		if err != nil {
			return err
		}
		full = path.Join(mod, full)
	}
	j.binName = lastElement(full)
	if !binNamePattern.MatchString(j.binName) {
		return fmt.Errorf("ImportPath %q: its last element %q cannot name a file", j.importPath, j.binName)
	}
	return nil
}

func (j *job) modulePath() (string, error) {
	data, err := os.ReadFile(filepath.Join(j.dir, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("reading go.mod: %w", err)
	}
	mod := modfile.ModulePath(data)
	if mod == "" {
		return "", fmt.Errorf("%s: no module line", filepath.Join(j.dir, "go.mod"))
	}
	return mod, nil
}

var majorVersion = regexp.MustCompile(`^v[0-9]+$`)

// lastElement is an import path's last element, skipping a major version suffix ("example.com/x/v2" is x).
func lastElement(importPath string) string {
	parts := strings.Split(importPath, "/")
	last := parts[len(parts)-1]
	if len(parts) > 1 && majorVersion.MatchString(last) {
		return parts[len(parts)-2]
	}
	return last
}

func (j *job) setRefs(o Options) error {
	if o.Ref == "" {
		return errors.New("Ref is empty: it must be the image to push, e.g. 127.0.0.1:7070/dev/orders:v1")
	}
	if strings.Contains(o.Ref, "@") {
		return fmt.Errorf("Ref %q: it must be a tag, not a digest (the digest is known only after the build)", o.Ref)
	}
	tag, err := name.NewTag(o.Ref)
	if err != nil {
		return fmt.Errorf("Ref %q: %w", o.Ref, err)
	}
	j.tag = tag
	for _, t := range o.Tags {
		extra, err := name.NewTag(tag.Repository.Name() + ":" + t)
		if err != nil || t == "" || strings.ContainsAny(t, ":/@") {
			return fmt.Errorf("Tags: %q is not a valid tag (letters, digits, _ . -, at most 128)", t)
		}
		j.extraTags = append(j.extraTags, extra)
	}
	return nil
}

func (j *job) setPlatform(o Options) error {
	s := o.Platform
	if s == "" {
		s = DefaultPlatform
	}
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" || p.OSVersion != "" {
		return fmt.Errorf("Platform %q: it must be os/arch or os/arch/variant, e.g. linux/amd64", s)
	}
	j.platform = *p
	return nil
}

// reservedEnv are set by Build itself; letting Env change them would produce an image that lies
// about its platform or a binary that is not static.
var reservedEnv = map[string]string{
	"GOOS":        "set Platform instead",
	"GOARCH":      "set Platform instead",
	"CGO_ENABLED": "the binary must be static, the image has no libc",
}

func (j *job) setEnv(o Options) error {
	for _, kv := range o.Env {
		key, _, ok := strings.Cut(kv, "=")
		if !ok || key == "" {
			return fmt.Errorf("Env %q: each entry must be KEY=value", kv)
		}
		if why, reserved := reservedEnv[key]; reserved {
			return fmt.Errorf("Env %s: Build sets it (%s)", key, why)
		}
	}
	j.env = append([]string(nil), o.Env...)
	return nil
}

// ldflags strips the symbol table and DWARF (smaller image) and stamps the version if there is one.
func (j *job) ldflags() string {
	flags := "-s -w"
	if j.version != "" {
		flags += " -X main.version=" + j.version
	}
	return flags
}

// buildEnv is this process's environment (GOPATH, GOCACHE, GOPROXY, ...) with Env and the target on top.
func (j *job) buildEnv() []string {
	env := append(os.Environ(), j.env...)
	env = append(env, "CGO_ENABLED=0", "GOOS="+j.platform.OS, "GOARCH="+j.platform.Architecture)
	if j.platform.Architecture == "arm" && j.platform.Variant != "" {
		env = append(env, "GOARM="+strings.TrimPrefix(j.platform.Variant, "v"))
	}
	return env
}
