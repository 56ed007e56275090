package scaffolder

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/skeleton"
)

// SourceSpec records where a task's template came from, so a retry reads the very same files.
type SourceSpec struct {
	Repo   string `json:"repo"`           // forge repository
	Commit string `json:"commit"`         // the commit the template was read at
	Dir    string `json:"dir"`            // the template's directory in the repository
	File   string `json:"file,omitempty"` // the template file (Dir/template.yaml when empty)
}

// FilePath is the template file's path in its repository.
func (s SourceSpec) FilePath() string {
	if s.File != "" {
		return s.File
	}
	return path.Join(s.Dir, "template.yaml")
}

func (s SourceSpec) describe() string {
	c := s.Commit
	if len(c) > 10 {
		c = c[:10]
	}
	return fmt.Sprintf("%s@%s:%s", s.Repo, c, s.Dir)
}

// resolve joins rel (relative to the template's directory) and refuses anything outside the repository.
func resolve(base, rel string) (string, error) {
	if strings.Contains(rel, "://") || path.IsAbs(rel) {
		return "", fmt.Errorf("url %q: must be relative to the template", rel)
	}
	p := path.Clean(path.Join(base, rel))
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("url %q: leaves the template's repository", rel)
	}
	if p == "." {
		p = ""
	}
	return p, nil
}

// forgeSource reads a template's files from a forge repository at a fixed commit.
type forgeSource struct {
	repo  *forge.Repo
	spec  SourceSpec
	cache *treeCache // may be nil
}

var _ scaffold.Source = (*forgeSource)(nil)

func (s *forgeSource) Describe() string { return s.spec.describe() }

func (s *forgeSource) Files(ctx context.Context, rel string) ([]skeleton.File, error) {
	p, err := resolve(s.spec.Dir, rel)
	if err != nil {
		return nil, err
	}
	key := s.spec.Repo + "\x00" + s.spec.Commit + "\x00" + p
	if s.cache != nil {
		if files, ok := s.cache.get(key); ok {
			return files, nil
		}
	}
	files, err := s.read(ctx, rel, p)
	if err == nil && s.cache != nil {
		s.cache.put(key, files)
	}
	return files, err
}

func (s *forgeSource) read(ctx context.Context, rel, p string) ([]skeleton.File, error) {
	files, err := s.repo.ReadTree(ctx, s.spec.Commit, p)
	if err != nil {
		return nil, fmt.Errorf("reading %s from %s: %w", rel, s.Describe(), err)
	}
	if len(files) == 0 {
		content, err := s.repo.ReadFile(ctx, s.spec.Commit, p)
		if errors.Is(err, forge.ErrNotFound) {
			return nil, fmt.Errorf("url %q: nothing at %s in %s", rel, p, s.Describe())
		}
		if err != nil {
			return nil, err
		}
		return []skeleton.File{{Path: path.Base(p), Content: content}}, nil
	}
	out := make([]skeleton.File, 0, len(files))
	for _, f := range files {
		rel := strings.TrimPrefix(f.Path, p+"/")
		if p == "" {
			rel = f.Path
		}
		sf := skeleton.File{Path: rel, Content: f.Content, Executable: f.Mode == "100755"}
		if f.Mode == "120000" {
			sf.Symlink, sf.Content = string(f.Content), nil
		}
		out = append(out, sf)
	}
	return out, nil
}

// memSource serves files given in a request (a dry run's directoryContents), keyed by path relative to
// the template's directory.
type memSource struct {
	files map[string]skeleton.File
	name  string
}

var _ scaffold.Source = (*memSource)(nil)

func newMemSource(name string, files []skeleton.File) *memSource {
	m := &memSource{files: map[string]skeleton.File{}, name: name}
	for _, f := range files {
		m.files[path.Clean(f.Path)] = f
	}
	return m
}

func (m *memSource) Describe() string { return m.name }

func (m *memSource) Files(_ context.Context, rel string) ([]skeleton.File, error) {
	p, err := resolve("", rel)
	if err != nil {
		return nil, err
	}
	if f, ok := m.files[p]; ok {
		f.Path = path.Base(p)
		return []skeleton.File{f}, nil
	}
	var out []skeleton.File
	for name, f := range m.files {
		if p == "" || strings.HasPrefix(name, p+"/") {
			f.Path = strings.TrimPrefix(name, p+"/")
			if p == "" {
				f.Path = name
			}
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("url %q: nothing at %s in %s", rel, p, m.name)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}
