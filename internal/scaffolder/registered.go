package scaffolder

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
)

// registered reads the templates registered in the catalog, each at the current commit of its branch.
// A template whose ref another template already has (the platform repository's come first) is a problem,
// as is one that cannot be read or is invalid; each problem is logged once per commit of its file.
func (t *RepoTemplates) registered(ctx context.Context, platform []Found) ([]Found, []error) {
	files, err := t.Registered.RegisteredTemplates(ctx)
	if err != nil {
		return nil, []error{fmt.Errorf("listing the templates registered in the catalog: %w", err)}
	}
	taken := map[string]string{}
	for _, f := range platform {
		taken[f.Template.Ref()] = f.Source.Repo + ":" + f.Source.FilePath()
	}
	var out []Found
	var problems []error
	for _, tf := range files {
		f, err := t.readRegistered(ctx, tf)
		if err == nil {
			if other, dup := taken[f.Template.Ref()]; dup {
				err = fmt.Errorf("%s:%s: %s is also defined by %s, which keeps it", tf.Repo, tf.Path, f.Template.Ref(), other)
			}
		}
		if err != nil {
			problems = append(problems, err)
			t.reportRegistered(f.Source, err)
			continue
		}
		taken[f.Template.Ref()] = tf.Repo + ":" + tf.Path
		out = append(out, f)
	}
	return out, problems
}

// readRegistered reads and validates one registered template file at its branch's current commit (a
// commit's file never changes, so what was read is kept).
func (t *RepoTemplates) readRegistered(ctx context.Context, tf TemplateFile) (Found, error) {
	if t.Forge == nil {
		return Found{}, errors.New("registered templates: no forge to read them from")
	}
	repo, err := t.Forge.Repo(tf.Repo)
	if err != nil {
		return Found{}, fmt.Errorf("%s:%s: %w", tf.Repo, tf.Path, err)
	}
	ref := tf.Ref
	if ref == "" {
		ref = "HEAD"
	}
	commit, err := repo.ResolveRef(ctx, ref)
	if err != nil {
		return Found{}, fmt.Errorf("%s:%s: %w", tf.Repo, tf.Path, err)
	}
	src := SourceSpec{Repo: tf.Repo, Commit: commit, Dir: path.Dir(tf.Path), File: tf.Path}
	t.regMu.Lock()
	p, ok := t.parsed[src]
	t.regMu.Unlock()
	if !ok {
		var data []byte
		if data, p.err = repo.ReadFile(ctx, commit, tf.Path); p.err == nil {
			p.tmpl, p.err = ValidateTemplate(tf.Repo+":"+tf.Path, data, t.Actions)
		}
		t.regMu.Lock()
		if t.parsed == nil || len(t.parsed) > 1024 {
			t.parsed = map[SourceSpec]parsedTemplate{}
		}
		t.parsed[src] = p
		t.regMu.Unlock()
	}
	if p.err != nil {
		return Found{Source: src}, p.err
	}
	return Found{Template: p.tmpl, Source: src, Registered: true}, nil
}

// reportRegistered logs a registered template's problem once per commit of its file.
func (t *RepoTemplates) reportRegistered(src SourceSpec, err error) {
	if t.Logger == nil {
		return
	}
	key := src.Repo + "@" + src.Commit + ":" + src.File + ":" + err.Error()
	t.regMu.Lock()
	if t.logged == nil || len(t.logged) > 1024 {
		t.logged = map[string]bool{}
	}
	seen := t.logged[key]
	t.logged[key] = true
	t.regMu.Unlock()
	if !seen {
		t.Logger.Warn("a template registered in the catalog cannot be run until it is fixed",
			"repo", src.Repo, "file", strings.TrimPrefix(src.File, "/"), "commit", src.Commit, "err", err)
	}
}
