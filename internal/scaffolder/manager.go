// Package scaffolder runs scaffolder tasks for users: it turns a template and the values of its form into
// a persisted task, runs it on a worker with its own workspace, streams its log, lets users cancel and
// retry it (a retry resumes after the steps that completed), recovers tasks a restart interrupted, and
// serves Backstage's scaffolder API under /api/scaffolder/v2.
package scaffolder

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/secrets"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// Vault keeps task secrets encrypted until the task no longer needs them.
type Vault interface {
	Put(ctx context.Context, name string, value secrets.Value, actor string) error
	Get(ctx context.Context, name string) (secrets.Value, store.Secret, error)
	Delete(ctx context.Context, name string) error
}

// Forge opens repositories that tasks' templates live in.
type Forge interface {
	Repo(name string) (*forge.Repo, error)
}

// Users resolves a task's creator when the task runs (roles and teams may have changed since).
type Users interface {
	User(ctx context.Context, name string) (scaffold.User, error)
}

// Options configure a Manager.
type Options struct {
	Store     store.Store
	Vault     Vault
	Forge     Forge
	Templates *RepoTemplates
	Runner    *scaffold.Runner
	Users     Users
	Dir       string // workspaces live under Dir/<task id>
	// ScratchDir holds dry-run workspaces, which never outlive a request; memory-backed is best (creating
	// files is what a dry run spends its time on). Default: /dev/shm when it exists, else Dir; Dir is also
	// the fallback when ScratchDir is not writable.
	ScratchDir string
	Workers    int // default 2
	// WorkspaceBytes bounds what a task writes into its workspace (skeleton.DefaultWorkspaceBytes when 0).
	WorkspaceBytes int64
	Logger         *slog.Logger
}

// Manager runs tasks.
type Manager struct {
	routes []string // what Handler serves
	o      Options
	log    *slog.Logger
	wake   chan struct{}

	cache *treeCache

	mu      sync.Mutex
	running map[string]context.CancelFunc
	subs    map[string]map[chan struct{}]bool
}

// New returns a Manager.
func New(o Options) *Manager {
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.ScratchDir == "" {
		o.ScratchDir = o.Dir
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
			o.ScratchDir = "/dev/shm"
		}
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "scaffolder")
	if o.Templates != nil && o.Templates.Logger == nil {
		o.Templates.Logger = log
	}
	if o.Templates != nil && o.Templates.Forge == nil {
		o.Templates.Forge = o.Forge
	}
	if o.Templates != nil && o.Templates.Actions == nil && o.Runner != nil {
		o.Templates.Actions = o.Runner.Actions
	}
	return &Manager{o: o, log: log, wake: make(chan struct{}, o.Workers),
		running: map[string]context.CancelFunc{}, subs: map[string]map[chan struct{}]bool{}, cache: newTreeCache(64 << 20)}
}

// taskSpec is what a task stores: Backstage's TaskSpec shape, plus where the template came from.
type taskSpec struct {
	APIVersion   string          `json:"apiVersion"`
	Steps        []scaffold.Step `json:"steps"`
	Output       map[string]any  `json:"output"`
	Parameters   map[string]any  `json:"parameters"`
	User         specUser        `json:"user"`
	TemplateInfo templateInfo    `json:"templateInfo"`
	Goldenpath   specExtra       `json:"goldenpath"`
}

type specUser struct {
	Ref    string         `json:"ref"`
	Entity map[string]any `json:"entity,omitempty"`
}

type templateInfo struct {
	EntityRef string         `json:"entityRef"`
	BaseURL   string         `json:"baseUrl"`
	Entity    map[string]any `json:"entity"`
}

type specExtra struct {
	Source       SourceSpec         `json:"source"`
	Template     *scaffold.Template `json:"template"`
	SecretFields []string           `json:"secretFields,omitempty"`
}

// taskState is what a task has done so far.
type taskState struct {
	Steps  []scaffold.StepResult `json:"steps"`
	Output map[string]any        `json:"output,omitempty"`
	Error  string                `json:"error,omitempty"`
}

// CreateInput is a request to run a template.
type CreateInput struct {
	TemplateRef string
	Values      map[string]any
	Secrets     map[string]string
	User        scaffold.User
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Create validates the values and queues a task. Nothing runs if the template cannot run.
func (m *Manager) Create(ctx context.Context, in CreateInput) (string, error) {
	found, err := m.o.Templates.Get(ctx, in.TemplateRef)
	if errors.Is(err, ErrNotFound) {
		return "", problem.Field("templateRef", "%v", err)
	}
	if err != nil {
		return "", err
	}
	pages, err := found.Template.Pages()
	if err != nil {
		return "", problem.New(problem.Invalid, "template %s: %v", found.Template.Ref(), err)
	}
	values := scaffold.ApplyDefaults(pages, in.Values)
	if err := m.o.Runner.Preflight(found.Template, values); err != nil {
		return "", invalid(err)
	}
	secretFields := scaffold.SecretFields(pages)
	sec := map[string]string{}
	for k, v := range in.Secrets {
		sec[k] = v
	}
	params := map[string]any{}
	for k, v := range values {
		params[k] = v
	}
	for _, f := range secretFields {
		if s, ok := params[f].(string); ok {
			sec["parameters."+f] = s
			params[f] = "***"
		}
	}
	id := newID()
	spec := taskSpec{APIVersion: scaffold.APIVersion, Steps: found.Template.Spec.Steps, Output: found.Template.Spec.Output,
		Parameters: params, User: specUser{Ref: in.User.Ref, Entity: in.User.Entity},
		TemplateInfo: templateInfo{EntityRef: found.Template.Ref(), BaseURL: found.Source.describe(),
			Entity: map[string]any{"metadata": found.Template.Metadata}},
		Goldenpath: specExtra{Source: found.Source, Template: found.Template, SecretFields: secretFields}}
	raw, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	if len(sec) > 0 {
		b, _ := json.Marshal(sec)
		if err := m.o.Vault.Put(ctx, secretName(id), secrets.Value(b), in.User.Name); err != nil {
			return "", err
		}
	}
	now := time.Now().UTC()
	if err := m.o.Store.CreateTask(ctx, store.Task{ID: id, TemplateRef: found.Template.Ref(), Spec: string(raw),
		Status: store.TaskOpen, CreatedBy: in.User.Ref, CreatedAt: now, Teams: in.User.Teams}); err != nil {
		return "", err
	}
	m.kick()
	return id, nil
}

// invalid turns parameter and preflight errors into a 400 naming the page and field.
func invalid(err error) error {
	var pe scaffold.ParamErrors
	if errors.As(err, &pe) {
		out := problem.New(problem.Invalid, "%v", err)
		for _, e := range pe {
			field := e.Field
			if e.Page != "" {
				field = e.Page + ": " + e.Field
			}
			out.Errors = append(out.Errors, problem.FieldError{Field: field, Rule: e.Rule})
		}
		if len(pe) > 0 {
			out.Field = pe[0].Field
		}
		return out
	}
	return problem.New(problem.Invalid, "%v", err)
}

func secretName(id string) string { return "task/" + id + "/secrets" }

func (m *Manager) kick() {
	for i := 0; i < m.o.Workers; i++ {
		select {
		case m.wake <- struct{}{}:
		default:
			return
		}
	}
}

// Run works tasks until ctx ends. Tasks a previous process left processing are recovered first.
func (m *Manager) Run(ctx context.Context) error {
	if err := m.recover(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for i := 0; i < m.o.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.work(ctx)
		}()
	}
	wg.Wait()
	return nil
}

// maxAttempts bounds how often an interrupted task is resumed.
const maxAttempts = 3

// recover puts tasks interrupted by a stop back in the queue (they resume after their completed steps),
// or fails them after maxAttempts, so no task is ever left hanging.
func (m *Manager) recover(ctx context.Context) error {
	stuck, _, err := m.o.Store.ListTasks(ctx, store.TaskFilter{Status: store.TaskProcessing})
	if err != nil {
		return err
	}
	for _, t := range stuck {
		if t.Attempts >= maxAttempts {
			m.finish(ctx, t.ID, store.TaskFailed, nil, fmt.Sprintf("interrupted %d times by restarts; giving up", t.Attempts))
			continue
		}
		if _, err := m.o.Store.UpdateTask(ctx, t.ID, func(t *store.Task) error { t.Status = store.TaskOpen; return nil }); err != nil {
			return err
		}
		m.event(ctx, t.ID, "recovered", map[string]any{"message": "the task was interrupted by a restart; resuming after its completed steps"})
		m.log.Info("recovered interrupted task", "task", t.ID)
	}
	return nil
}

func (m *Manager) work(ctx context.Context) {
	for ctx.Err() == nil {
		t, ok, err := m.o.Store.ClaimTask(ctx, time.Now().UTC())
		if err != nil && ctx.Err() == nil {
			m.log.Error("claiming a task", "err", err)
		}
		if !ok {
			select {
			case <-ctx.Done():
			case <-m.wake:
			case <-time.After(5 * time.Second):
			}
			continue
		}
		m.execute(ctx, t)
	}
}

// workspace is a task's working directory; it is kept while a retry may need it.
func (m *Manager) workspace(id string) string { return filepath.Join(m.o.Dir, id, "workspace") }

// Templates returns where the manager finds templates.
func (m *Manager) Templates() *RepoTemplates { return m.o.Templates }
