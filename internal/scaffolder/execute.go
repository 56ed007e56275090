package scaffolder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
	"github.com/goldenpathidp/goldenpath/internal/secrets"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// taskEvents persists a run's progress as Backstage task events and wakes subscribers. At the end of
// each step it keeps what the run computed from secrets (encrypted, with the task's secrets), so that an
// attempt resuming after a restart or a retry still hides it.
type taskEvents struct {
	m   *Manager
	id  string
	red *scaffold.Redactor
}

func (e *taskEvents) Log(ctx context.Context, stepID, message string) {
	e.m.event(ctx, e.id, "log", map[string]any{"stepId": stepID, "message": message})
}

func (e *taskEvents) StepStatus(ctx context.Context, stepID, status string) {
	e.m.event(ctx, e.id, "log", map[string]any{"stepId": stepID, "status": status,
		"message": fmt.Sprintf("step %s %s", stepID, status)})
	if status != scaffold.StatusProcessing {
		e.m.saveDerived(ctx, e.id, e.red)
	}
}

func derivedName(id string, n int) string { return fmt.Sprintf("task/%s/derived/%d", id, n) }

// What a task computed from its secrets is kept in vault entries of at most derivedChunk bytes of JSON
// (the vault bounds each value), at most maxDerivedChunks of them. A long value is kept in pieces (hiding
// each piece hides it all); a piece of derivedPiece bytes is at most 6 times as long in JSON.
const (
	derivedChunk     = 60 << 10
	derivedPiece     = 8 << 10
	maxDerivedChunks = 64
)

// saveDerived keeps the values a task computed from its secrets, if there are new ones.
func (m *Manager) saveDerived(ctx context.Context, id string, red *scaffold.Redactor) {
	if !red.Changed() {
		return
	}
	var chunks [][]string
	size := 0
	for _, v := range red.Values() {
		for _, piece := range pieces(v, derivedPiece) {
			raw, _ := json.Marshal(piece)
			if len(chunks) == 0 || size+len(raw)+1 > derivedChunk {
				chunks, size = append(chunks, nil), 2
			}
			chunks[len(chunks)-1] = append(chunks[len(chunks)-1], piece)
			size += len(raw) + 1
		}
	}
	if len(chunks) > maxDerivedChunks {
		m.log.Warn("a task computed more from its secrets than is kept for a retry; a retry may show some of it", "task", id)
		chunks = chunks[:maxDerivedChunks]
	}
	for i, c := range chunks {
		b, _ := json.Marshal(c)
		if err := m.o.Vault.Put(ctx, derivedName(id, i), secrets.Value(b), "goldenpath"); err != nil {
			m.log.Warn("keeping what a task computed from its secrets", "task", id, "err", err)
		}
	}
}

// pieces cuts s into pieces of at most n bytes, on character boundaries.
func pieces(s string, n int) []string {
	var out []string
	for len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		out, s = append(out, s[:cut]), s[cut:]
	}
	return append(out, s)
}

// loadDerived returns a Redactor holding what earlier attempts of a task computed from its secrets.
func (m *Manager) loadDerived(ctx context.Context, id string) *scaffold.Redactor {
	var values []string
	for i := 0; i < maxDerivedChunks; i++ {
		raw, _, err := m.o.Vault.Get(ctx, derivedName(id, i))
		if err != nil {
			break
		}
		var c []string
		_ = json.Unmarshal([]byte(raw.Reveal()), &c)
		values = append(values, c...)
	}
	red := scaffold.NewRedactor(values...)
	red.Changed() // what was loaded is already kept
	return red
}

// dropDerived deletes what a task computed from its secrets.
func (m *Manager) dropDerived(ctx context.Context, id string) {
	for i := 0; i < maxDerivedChunks; i++ {
		if _, _, err := m.o.Vault.Get(ctx, derivedName(id, i)); err != nil {
			return
		}
		_ = m.o.Vault.Delete(ctx, derivedName(id, i))
	}
}

// logUsed is how many bytes of log a task's earlier attempts recorded: the limit is the task's, not each
// attempt's.
func (m *Manager) logUsed(ctx context.Context, id string) int64 {
	evs, err := m.o.Store.TaskEvents(ctx, id, 0)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range evs {
		if e.Type == "log" {
			n += int64(len(e.Body))
		}
	}
	return n
}

func (m *Manager) event(ctx context.Context, id, typ string, body map[string]any) {
	raw, _ := json.Marshal(body)
	if err := m.o.Store.AddTaskEvent(ctx, &store.TaskEvent{TaskID: id, Type: typ, Body: string(raw)}); err != nil {
		m.log.Warn("recording a task event", "task", id, "err", err)
	}
	m.notify(id)
}

// Subscribe returns a channel that gets a signal whenever task id gets an event, and a cancel func.
func (m *Manager) Subscribe(id string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	m.mu.Lock()
	if m.subs[id] == nil {
		m.subs[id] = map[chan struct{}]bool{}
	}
	m.subs[id][ch] = true
	m.mu.Unlock()
	return ch, func() {
		m.mu.Lock()
		delete(m.subs[id], ch)
		if len(m.subs[id]) == 0 {
			delete(m.subs, id)
		}
		m.mu.Unlock()
	}
}

func (m *Manager) notify(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for ch := range m.subs[id] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func readSpec(t store.Task) (taskSpec, taskState, error) {
	var spec taskSpec
	var state taskState
	if err := json.Unmarshal([]byte(t.Spec), &spec); err != nil {
		return spec, state, fmt.Errorf("task %s: spec is corrupt: %w", t.ID, err)
	}
	var params struct {
		Parameters expr.Object `json:"parameters"` // the form's objects keep their order
	}
	if err := json.Unmarshal([]byte(t.Spec), &params); err == nil {
		spec.Parameters = params.Parameters
	}
	_ = json.Unmarshal([]byte(t.State), &state)
	return spec, state, nil
}

// execute runs a claimed task to its end (or until the process stops).
func (m *Manager) execute(ctx context.Context, t store.Task) {
	spec, state, err := readSpec(t)
	if err != nil {
		m.finish(ctx, t.ID, store.TaskFailed, nil, err.Error())
		return
	}
	run, err := m.prepare(ctx, t, spec, state)
	if err != nil {
		m.finish(ctx, t.ID, store.TaskFailed, nil, err.Error())
		return
	}
	runCtx, cancel := context.WithCancel(ctx)
	m.mu.Lock()
	m.running[t.ID] = cancel
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.running, t.ID)
		m.mu.Unlock()
		cancel()
	}()
	if t.CancelRequested {
		cancel()
	}
	stop := m.heartbeat(runCtx, t.ID)
	res, err := m.o.Runner.Execute(runCtx, run)
	stop()
	m.saveDerived(context.WithoutCancel(ctx), t.ID, run.Redactor)
	switch {
	case ctx.Err() != nil:
		// The process is stopping: leave the task processing; the next start resumes it.
		m.saveState(context.WithoutCancel(ctx), t.ID, res, "")
	case runCtx.Err() != nil:
		m.finish(ctx, t.ID, store.TaskCancelled, &res, "cancelled by request")
	case err != nil:
		m.finish(ctx, t.ID, store.TaskFailed, &res, err.Error())
	default:
		m.finish(ctx, t.ID, store.TaskCompleted, &res, "")
	}
}

// prepare builds a run for a task: its template, source, user, secrets and workspace.
func (m *Manager) prepare(ctx context.Context, t store.Task, spec taskSpec, state taskState) (scaffold.Run, error) {
	src := spec.Goldenpath.Source
	repo, err := m.o.Forge.Repo(src.Repo)
	if err != nil {
		return scaffold.Run{}, fmt.Errorf("the template's repository %s: %w", src.Repo, err)
	}
	name := strings.TrimPrefix(spec.User.Ref, "user:default/")
	user, err := m.o.Users.User(ctx, name)
	if err != nil {
		return scaffold.Run{}, fmt.Errorf("the task's user %s: %w", spec.User.Ref, err)
	}
	sec := map[string]string{}
	if raw, _, err := m.o.Vault.Get(ctx, secretName(t.ID)); err == nil {
		_ = json.Unmarshal([]byte(raw.Reveal()), &sec)
	}
	values := map[string]any{}
	for k, v := range spec.Parameters {
		values[k] = v
	}
	for k, v := range sec {
		if f, ok := strings.CutPrefix(k, "parameters."); ok {
			values[f] = v
			delete(sec, k)
		}
	}
	ws := m.workspace(t.ID)
	if err := os.MkdirAll(ws, 0o700); err != nil {
		return scaffold.Run{}, err
	}
	done := map[string]scaffold.StepResult{}
	for _, s := range state.Steps {
		done[s.ID] = s
	}
	red := m.loadDerived(ctx, t.ID)
	return scaffold.Run{TaskID: t.ID, Template: spec.Goldenpath.Template, Source: &forgeSource{repo: repo, spec: src, cache: m.cache},
		Values: values, Secrets: sec, User: user, Workspace: ws, WorkspaceBytes: m.o.WorkspaceBytes,
		Events: &taskEvents{m: m, id: t.ID, red: red}, Done: done, Redactor: red, LogUsed: m.logUsed(ctx, t.ID)}, nil
}

func (m *Manager) heartbeat(ctx context.Context, id string) func() {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				_, _ = m.o.Store.UpdateTask(ctx, id, func(t *store.Task) error { t.LastHeartbeatAt = time.Now().UTC(); return nil })
			}
		}
	}()
	return func() { close(done) }
}

func (m *Manager) saveState(ctx context.Context, id string, res scaffold.Result, errMsg string) {
	raw, _ := json.Marshal(taskState{Steps: res.Steps, Output: res.Output, Error: errMsg})
	if _, err := m.o.Store.UpdateTask(ctx, id, func(t *store.Task) error { t.State = string(raw); return nil }); err != nil {
		m.log.Warn("saving task state", "task", id, "err", err)
	}
}

// finish records a task's end, its completion event, and cleans up what it no longer needs.
func (m *Manager) finish(ctx context.Context, id, status string, res *scaffold.Result, errMsg string) {
	ctx = context.WithoutCancel(ctx)
	errMsg = scaffold.Clip(errMsg, scaffold.MaxMessageBytes)
	var state taskState
	_, err := m.o.Store.UpdateTask(ctx, id, func(t *store.Task) error {
		_ = json.Unmarshal([]byte(t.State), &state)
		if res != nil {
			state.Steps, state.Output = res.Steps, res.Output
		}
		state.Error = errMsg
		raw, _ := json.Marshal(state)
		t.State, t.Status, t.LastHeartbeatAt = string(raw), status, time.Now().UTC()
		return nil
	})
	if err != nil {
		m.log.Error("finishing a task", "task", id, "err", err)
	}
	body := map[string]any{"message": "Run completed with status: " + status}
	if errMsg != "" {
		body["message"] = "Run completed with status: " + status + ": " + errMsg
		body["error"] = map[string]any{"name": "Error", "message": errMsg}
	}
	if status == store.TaskCompleted {
		body["output"] = state.Output
	}
	typ := "completion"
	if status == store.TaskCancelled {
		m.event(ctx, id, "cancelled", map[string]any{"message": "the task was cancelled"})
	}
	m.event(ctx, id, typ, body)
	if status != store.TaskFailed {
		// A failed task keeps its workspace and secrets so that a retry can resume it.
		_ = os.RemoveAll(filepath.Join(m.o.Dir, id))
		_ = m.o.Vault.Delete(ctx, secretName(id))
		m.dropDerived(ctx, id)
	}
	m.log.Info("task finished", "task", id, "status", status)
}

// Cancel stops a task: an open one at once, a running one at its next step boundary. Its creator and
// admins may; its teams see it but may not (403); anyone else is told it does not exist (404).
func (m *Manager) Cancel(ctx context.Context, id string, user scaffold.User) error {
	t, err := m.Task(ctx, id, user)
	if err != nil {
		return err
	}
	if t.CreatedBy != user.Ref && !hasRole(user, "admin") {
		return problem.New(problem.Forbidden, "only the task's creator or an admin can cancel it")
	}
	switch t.Status {
	case store.TaskOpen:
		m.finish(ctx, id, store.TaskCancelled, nil, "cancelled before it started")
	case store.TaskProcessing:
		_, _ = m.o.Store.UpdateTask(ctx, id, func(t *store.Task) error { t.CancelRequested = true; return nil })
		m.mu.Lock()
		cancel := m.running[id]
		m.mu.Unlock()
		if cancel != nil {
			cancel()
		}
	default:
		return problem.New(problem.Conflict, "task %s is already %s", id, t.Status)
	}
	return nil
}

// Retry runs a failed or cancelled task again, resuming after the steps that completed. Who may is as for
// Cancel.
func (m *Manager) Retry(ctx context.Context, id string, user scaffold.User, newSecrets map[string]string) error {
	t, err := m.Task(ctx, id, user)
	if err != nil {
		return err
	}
	if t.CreatedBy != user.Ref && !hasRole(user, "admin") {
		return problem.New(problem.Forbidden, "only the task's creator or an admin can retry it")
	}
	if t.Status != store.TaskFailed && t.Status != store.TaskCancelled {
		return problem.New(problem.Conflict, "task %s is %s; only failed or cancelled tasks can be retried", id, t.Status)
	}
	if len(newSecrets) > 0 {
		sec := map[string]string{}
		if raw, _, err := m.o.Vault.Get(ctx, secretName(id)); err == nil {
			_ = json.Unmarshal([]byte(raw.Reveal()), &sec)
		}
		for k, v := range newSecrets {
			sec[k] = v
		}
		b, _ := json.Marshal(sec)
		if err := m.o.Vault.Put(ctx, secretName(id), []byte(b), user.Name); err != nil {
			return err
		}
	}
	_, err = m.o.Store.UpdateTask(ctx, id, func(t *store.Task) error {
		t.Status, t.CancelRequested, t.Attempts = store.TaskOpen, false, 0
		return nil
	})
	if err != nil {
		return err
	}
	m.event(ctx, id, "recovered", map[string]any{"message": "retry requested by " + user.Name + "; resuming after the completed steps"})
	m.kick()
	return nil
}

func hasRole(u scaffold.User, role string) bool {
	for _, r := range u.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Get returns a task, whoever asks (for goldenpath's own use; users go through Task).
func (m *Manager) Get(ctx context.Context, id string) (store.Task, error) {
	t, err := m.o.Store.GetTask(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return t, notFound(id)
	}
	return t, err
}

func notFound(id string) error { return problem.New(problem.NotFound, "task %s does not exist", id) }

// CanRead tells whether u may see task t (its spec, state, log and events): its creator, members of the
// teams its creator was in when creating it, and admins.
func CanRead(t store.Task, u scaffold.User) bool {
	if t.CreatedBy == u.Ref || hasRole(u, "admin") {
		return true
	}
	for _, team := range t.Teams {
		if slices.Contains(u.Teams, team) {
			return true
		}
	}
	return false
}

// Task returns a task for u to see. A task u may not read answers as one that does not exist (404), so
// that another team cannot even learn which tasks exist.
func (m *Manager) Task(ctx context.Context, id string, u scaffold.User) (store.Task, error) {
	t, err := m.Get(ctx, id)
	if err != nil {
		return store.Task{}, err
	}
	if !CanRead(t, u) {
		return store.Task{}, notFound(id)
	}
	return t, nil
}

// ListTasks lists the tasks u may read that f selects.
func (m *Manager) ListTasks(ctx context.Context, u scaffold.User, f store.TaskFilter) ([]store.Task, int, error) {
	if !hasRole(u, "admin") {
		f.ReadableBy = &store.TaskReader{Ref: u.Ref, Teams: u.Teams}
	}
	return m.o.Store.ListTasks(ctx, f)
}
