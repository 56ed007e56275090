package scaffolder

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/skeleton"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// Authenticator resolves the caller.
type Authenticator interface {
	FromRequest(r *http.Request) (auth.Principal, error)
}

// maxBody bounds request bodies (a dry run carries a template's files).
const maxBody = 16 << 20

// Routes lists the endpoints the last Handler serves ("METHOD /path"), for the security matrix's test.
func (m *Manager) Routes() []string { return m.routes }

// Handler serves Backstage's scaffolder API under /api/scaffolder/v2/.
func (m *Manager) Handler(authn Authenticator) http.Handler {
	mux := http.NewServeMux()
	m.routes = nil
	h := func(pattern string, fn func(w http.ResponseWriter, r *http.Request, u scaffold.User) error) {
		m.routes = append(m.routes, pattern)
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			p, err := authn.FromRequest(r)
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="goldenpath"`)
				m.writeError(w, r, problem.New(problem.Unauthenticated, "%v", err))
				return
			}
			u, err := m.o.Users.User(r.Context(), p.Name)
			if err == nil {
				err = fn(w, r, u)
			}
			if err != nil {
				m.writeError(w, r, err)
			}
		})
	}
	const base = "/api/scaffolder/v2"
	h("POST "+base+"/tasks", m.httpCreate)
	h("GET "+base+"/tasks", m.httpList)
	h("GET "+base+"/tasks/{id}", m.httpGet)
	h("GET "+base+"/tasks/{id}/events", m.httpEvents)
	h("GET "+base+"/tasks/{id}/eventstream", m.httpStream)
	h("POST "+base+"/tasks/{id}/cancel", m.httpCancel)
	h("POST "+base+"/tasks/{id}/retry", m.httpRetry)
	h("POST "+base+"/dry-run", m.httpDryRun)
	h("GET "+base+"/actions", m.httpActions)
	h("GET "+base+"/templates/{ns}/{kind}/{name}/parameter-schema", m.httpParameterSchema)
	h("GET "+base+"/templates", m.httpTemplates)
	mux.HandleFunc("/api/scaffolder/", func(w http.ResponseWriter, r *http.Request) {
		m.writeError(w, r, problem.New(problem.NotFound, "no scaffolder endpoint %s %s", r.Method, r.URL.Path))
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

func (m *Manager) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		err = problem.New(problem.TooLarge, "the request body is larger than %d bytes", tooBig.Limit)
	}
	p := problem.From(err)
	if p.Code == problem.Internal {
		m.log.Error("scaffolder request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	_ = writeJSON(w, p.Code.Status(), p)
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return problem.New(problem.Invalid, "the request body is empty; send a JSON object")
		}
		return problem.New(problem.Invalid, "the request body is not valid JSON: %v", err)
	}
	return nil
}

type createBody struct {
	TemplateRef string            `json:"templateRef"`
	Values      expr.Object       `json:"values"` // objects in the values keep their order, as in Backstage
	Secrets     map[string]string `json:"secrets"`
}

func (m *Manager) httpCreate(w http.ResponseWriter, r *http.Request, u scaffold.User) error {
	var in createBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.TemplateRef == "" {
		return problem.Field("templateRef", "is required, e.g. template:default/app-template")
	}
	if in.Values == nil {
		in.Values = map[string]any{}
	}
	id, err := m.Create(r.Context(), CreateInput{TemplateRef: in.TemplateRef, Values: map[string]any(in.Values), Secrets: in.Secrets, User: u})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]string{"id": id})
}

// taskJSON is a task as Backstage's API shows it; secrets are never part of it.
type taskJSON struct {
	ID              string          `json:"id"`
	Spec            json.RawMessage `json:"spec"`
	Status          string          `json:"status"`
	CreatedAt       time.Time       `json:"createdAt"`
	LastHeartbeatAt *time.Time      `json:"lastHeartbeatAt,omitempty"`
	CreatedBy       string          `json:"createdBy"`
	State           json.RawMessage `json:"state,omitempty"`
}

func toJSON(t store.Task) taskJSON {
	out := taskJSON{ID: t.ID, Spec: json.RawMessage(t.Spec), Status: t.Status, CreatedAt: t.CreatedAt, CreatedBy: t.CreatedBy, State: json.RawMessage(t.State)}
	if !t.LastHeartbeatAt.IsZero() {
		hb := t.LastHeartbeatAt
		out.LastHeartbeatAt = &hb
	}
	return out
}

// httpList lists the tasks the caller may read (their own, their teams', or all for an admin) that the
// query selects.
func (m *Manager) httpList(w http.ResponseWriter, r *http.Request, u scaffold.User) error {
	q := r.URL.Query()
	f := store.TaskFilter{CreatedBy: q.Get("createdBy"), Status: q.Get("status"), Ascending: q.Get("order") == "asc"}
	for name, dst := range map[string]*int{"limit": &f.Limit, "offset": &f.Offset} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return problem.Field(name, "must be a non-negative integer, got %q", v)
			}
			*dst = n
		}
	}
	tasks, total, err := m.ListTasks(r.Context(), u, f)
	if err != nil {
		return err
	}
	out := make([]taskJSON, 0, len(tasks))
	for _, t := range tasks {
		out = append(out, toJSON(t))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"tasks": out, "totalTasks": total})
}

func (m *Manager) httpGet(w http.ResponseWriter, r *http.Request, u scaffold.User) error {
	t, err := m.Task(r.Context(), r.PathValue("id"), u)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toJSON(t))
}

// eventJSON is a task event as Backstage's API shows it.
type eventJSON struct {
	ID        int64           `json:"id"`
	TaskID    string          `json:"taskId"`
	Type      string          `json:"type"`
	Body      json.RawMessage `json:"body"`
	CreatedAt time.Time       `json:"createdAt"`
}

func (m *Manager) events(r *http.Request, u scaffold.User) ([]eventJSON, error) {
	id := r.PathValue("id")
	if _, err := m.Task(r.Context(), id, u); err != nil {
		return nil, err
	}
	var after int64
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, problem.Field("after", "must be an event id, got %q", v)
		}
		after = n
	}
	evs, err := m.o.Store.TaskEvents(r.Context(), id, after)
	out := make([]eventJSON, 0, len(evs))
	for _, e := range evs {
		out = append(out, eventJSON{ID: e.ID, TaskID: e.TaskID, Type: e.Type, Body: json.RawMessage(e.Body), CreatedAt: e.CreatedAt})
	}
	return out, err
}

func (m *Manager) httpEvents(w http.ResponseWriter, r *http.Request, u scaffold.User) error {
	evs, err := m.events(r, u)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, evs)
}

// httpStream serves the task's events as Server-Sent Events and closes after the completion event.
func (m *Manager) httpStream(w http.ResponseWriter, r *http.Request, u scaffold.User) error {
	id := r.PathValue("id")
	wake, stop := m.Subscribe(id) // subscribe first, so no event falls between reading and waiting
	defer stop()
	evs, err := m.events(r, u)
	if err != nil {
		return err
	}
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	last := int64(0)
	if v, err := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64); err == nil {
		last = v
	}
	for {
		for _, e := range evs {
			raw, _ := json.Marshal(e)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Type, raw)
			last = e.ID
			if e.Type == "completion" {
				if flusher != nil {
					flusher.Flush()
				}
				return nil
			}
		}
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-wake:
		case <-time.After(15 * time.Second):
			fmt.Fprint(w, ": keep-alive\n\n")
		}
		next, err := m.o.Store.TaskEvents(r.Context(), id, last)
		if err != nil {
			return nil
		}
		evs = evs[:0]
		for _, e := range next {
			evs = append(evs, eventJSON{ID: e.ID, TaskID: e.TaskID, Type: e.Type, Body: json.RawMessage(e.Body), CreatedAt: e.CreatedAt})
		}
	}
}

func (m *Manager) httpCancel(w http.ResponseWriter, r *http.Request, u scaffold.User) error {
	if err := m.Cancel(r.Context(), r.PathValue("id"), u); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "cancelled"})
}

func (m *Manager) httpRetry(w http.ResponseWriter, r *http.Request, u scaffold.User) error {
	var in struct {
		Secrets map[string]string `json:"secrets"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, &in); err != nil {
			return err
		}
	}
	if err := m.Retry(r.Context(), r.PathValue("id"), u, in.Secrets); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]string{"id": r.PathValue("id")})
}

type dryRunBody struct {
	Template          json.RawMessage   `json:"template"` // parsed as written: its mappings keep their order
	TemplateRef       string            `json:"templateRef"`
	Values            expr.Object       `json:"values"`
	Secrets           map[string]string `json:"secrets"`
	DirectoryContents []struct {
		Path          string `json:"path"`
		Base64Content string `json:"base64Content"`
		Executable    bool   `json:"executable"`
	} `json:"directoryContents"`
}

type fileJSON struct {
	Path          string `json:"path"`
	Base64Content string `json:"base64Content"`
	Executable    bool   `json:"executable,omitempty"`
	Symlink       string `json:"symlink,omitempty"`
}

func (m *Manager) httpDryRun(w http.ResponseWriter, r *http.Request, u scaffold.User) error {
	var in dryRunBody
	if err := decode(r, &in); err != nil {
		return err
	}
	di := DryRunInput{Template: in.Template, TemplateRef: in.TemplateRef, Values: map[string]any(in.Values), Secrets: in.Secrets, User: u}
	for i, f := range in.DirectoryContents {
		b, err := base64.StdEncoding.DecodeString(f.Base64Content)
		if err != nil {
			return problem.Field(fmt.Sprintf("directoryContents[%d].base64Content", i), "is not base64: %v", err)
		}
		di.Files = append(di.Files, skeleton.File{Path: f.Path, Content: b, Executable: f.Executable})
	}
	if di.Values == nil {
		di.Values = map[string]any{}
	}
	res, err := m.DryRun(r.Context(), di)
	if err != nil {
		return err
	}
	files := make([]fileJSON, 0, len(res.Files))
	for _, f := range res.Files {
		files = append(files, fileJSON{Path: f.Path, Base64Content: base64.StdEncoding.EncodeToString(f.Content), Executable: f.Executable, Symlink: f.Symlink})
	}
	steps := make([]map[string]any, 0, len(res.Steps))
	for _, s := range res.Steps {
		steps = append(steps, map[string]any{"id": s.ID, "name": s.Name, "action": s.Action, "status": s.Status, "output": s.Output, "error": s.Error})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"log": res.Log, "directoryContents": files, "output": res.Output,
		"steps": steps, "error": res.Error})
}

func (m *Manager) httpActions(w http.ResponseWriter, _ *http.Request, _ scaffold.User) error {
	var out []map[string]any
	for _, a := range m.o.Runner.Actions.List() {
		entry := map[string]any{"id": a.ID(), "description": a.Description(), "schema": a.Schema()}
		if ex, ok := a.(scaffold.Exampler); ok && len(ex.Examples()) > 0 {
			entry["examples"] = ex.Examples()
		}
		out = append(out, entry)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (m *Manager) httpParameterSchema(w http.ResponseWriter, r *http.Request, _ scaffold.User) error {
	if !strings.EqualFold(r.PathValue("kind"), "template") {
		return problem.Field("kind", "must be template, got %q", r.PathValue("kind"))
	}
	found, err := m.o.Templates.Get(r.Context(), "template:"+r.PathValue("ns")+"/"+r.PathValue("name"))
	if errors.Is(err, ErrNotFound) {
		return problem.New(problem.NotFound, "%v", err)
	}
	if err != nil {
		return err
	}
	pages, err := found.Template.Pages()
	if err != nil {
		return problem.New(problem.Invalid, "%v", err)
	}
	steps := make([]map[string]any, 0, len(pages))
	for _, p := range pages {
		steps = append(steps, map[string]any{"title": p.Title, "description": p.Description, "schema": p.Schema})
	}
	t := found.Template
	return writeJSON(w, http.StatusOK, map[string]any{"title": firstNonEmpty(t.Metadata.Title, t.Metadata.Name),
		"description": t.Metadata.Description, "steps": steps})
}

// httpTemplates lists the templates of the platform repository (a goldenpath addition).
func (m *Manager) httpTemplates(w http.ResponseWriter, r *http.Request, _ scaffold.User) error {
	list, problems, err := m.o.Templates.List(r.Context())
	if err != nil {
		return err
	}
	items := make([]map[string]any, 0, len(list))
	for _, f := range list {
		items = append(items, map[string]any{"ref": f.Template.Ref(), "name": f.Template.Metadata.Name, "title": f.Template.Metadata.Title,
			"description": f.Template.Metadata.Description, "type": f.Template.Spec.Type, "tags": f.Template.Metadata.Tags, "source": f.Source.describe()})
	}
	var errs []string
	for _, p := range problems {
		errs = append(errs, p.Error())
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": items, "problems": errs})
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
