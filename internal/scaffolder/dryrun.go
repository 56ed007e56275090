package scaffolder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/skeleton"
)

// DryRunInput is a dry run: a template given inline with its files (Backstage's form), or a template of
// the platform repository by ref.
type DryRunInput struct {
	Template    json.RawMessage // the template as JSON (or YAML)
	TemplateRef string
	Values      map[string]any
	Secrets     map[string]string
	Files       []skeleton.File // directoryContents, relative to the template's directory
	User        scaffold.User
}

// LogEntry is one line of a dry run's log, in Backstage's shape.
type LogEntry struct {
	Body map[string]any `json:"body"`
}

// DryRunResult is what a dry run produced.
type DryRunResult struct {
	Log    []LogEntry            `json:"log"`
	Files  []skeleton.File       `json:"-"`
	Output map[string]any        `json:"output"`
	Steps  []scaffold.StepResult `json:"steps"`
	Error  string                `json:"error,omitempty"`
}

// memEvents collects a dry run's log.
type memEvents struct {
	mu  sync.Mutex
	log []LogEntry
}

func (e *memEvents) Log(_ context.Context, stepID, message string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = append(e.log, LogEntry{Body: map[string]any{"stepId": stepID, "message": message}})
}

func (e *memEvents) StepStatus(_ context.Context, stepID, status string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = append(e.log, LogEntry{Body: map[string]any{"stepId": stepID, "status": status, "message": fmt.Sprintf("step %s %s", stepID, status)}})
}

// Limits of a dry run: it runs in memory-backed scratch space and its result is one HTTP response.
const (
	dryRunWorkspaceBytes = 64 << 20 // what its steps may write
	dryRunPreviewBytes   = 10 << 20 // the file contents the result carries
)

// DryRun runs a template through the same runner as a task, with actions that change nothing outside the
// workspace, and returns the log, the files the workspace ended with, the output and the steps. Secrets
// and whatever was computed from them are redacted from all of it; the log and the files are capped.
func (m *Manager) DryRun(ctx context.Context, in DryRunInput) (DryRunResult, error) {
	tmpl, src, err := m.dryRunTemplate(ctx, in)
	if err != nil {
		return DryRunResult{}, err
	}
	pages, err := tmpl.Pages()
	if err != nil {
		return DryRunResult{}, problem.New(problem.Invalid, "template: %v", err)
	}
	values := scaffold.ApplyDefaults(pages, in.Values)
	if err := m.o.Runner.Preflight(tmpl, values); err != nil {
		return DryRunResult{}, invalid(err)
	}
	ws, err := os.MkdirTemp(m.o.ScratchDir, "goldenpath-dry-run-")
	if err != nil {
		if err := os.MkdirAll(m.o.Dir, 0o700); err != nil {
			return DryRunResult{}, err
		}
		if ws, err = os.MkdirTemp(m.o.Dir, "dry-run-"); err != nil {
			return DryRunResult{}, err
		}
	}
	defer os.RemoveAll(ws)
	events := &memEvents{}
	red := scaffold.NewRedactor()
	run := scaffold.Run{TaskID: "dry-run-" + newID()[:8], Template: tmpl, Source: src, Values: values, Secrets: in.Secrets,
		User: in.User, Workspace: ws, WorkspaceBytes: dryRunWorkspaceBytes, DryRun: true, Events: events, Redactor: red}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	res, runErr := m.o.Runner.Execute(ctx, run)
	out := DryRunResult{Output: res.Output, Steps: res.Steps}
	if runErr != nil {
		out.Error = scaffold.Clip(red.Redact(runErr.Error()), scaffold.MaxMessageBytes)
	}
	tree, err := skeleton.OpenWorkspace(ws, 0)
	if err != nil {
		return out, err
	}
	defer tree.Close()
	files, omitted, err := tree.Preview(".", dryRunPreviewBytes)
	if err != nil {
		return out, err
	}
	if len(omitted) > 0 {
		events.Log(ctx, "", fmt.Sprintf("directoryContents: %d files are not included (the result holds at most %d MiB of files, "+
			"and never files with several hard links)", len(omitted), dryRunPreviewBytes>>20))
	}
	// A template may write a secret, or something computed from one, into a file: a dry run's result is
	// shown to people and logs.
	for i := range files {
		files[i].Path = red.Redact(files[i].Path)
		if !isBinary(files[i].Content) {
			files[i].Content = []byte(red.Redact(string(files[i].Content)))
		}
	}
	out.Files, out.Log = files, events.log
	return out, nil
}

func isBinary(b []byte) bool {
	for i := 0; i < len(b) && i < 8000; i++ {
		if b[i] == 0 {
			return true
		}
	}
	return false
}

func (m *Manager) dryRunTemplate(ctx context.Context, in DryRunInput) (*scaffold.Template, scaffold.Source, error) {
	if in.TemplateRef != "" {
		found, err := m.o.Templates.Get(ctx, in.TemplateRef)
		if err != nil {
			return nil, nil, problem.Field("templateRef", "%v", err)
		}
		repo, err := m.o.Forge.Repo(found.Source.Repo)
		if err != nil {
			return nil, nil, err
		}
		return found.Template, &forgeSource{repo: repo, spec: found.Source, cache: m.cache}, nil
	}
	if len(in.Template) == 0 || string(in.Template) == "null" {
		return nil, nil, problem.Field("template", "is required (or templateRef)")
	}
	tmpl, err := scaffold.Parse("template", in.Template)
	if err != nil {
		var te *scaffold.TemplateError
		if errors.As(err, &te) && te.Field != "" { // the field's path, said once: "template.apiVersion: ..."
			return nil, nil, problem.Field("template."+te.Field, "%s", te.Rule)
		} else if te != nil {
			return nil, nil, problem.Field("template", "%s", te.Rule)
		}
		return nil, nil, problem.Field("template", "%v", err)
	}
	return tmpl, newMemSource("the dry run's directoryContents", in.Files), nil
}
