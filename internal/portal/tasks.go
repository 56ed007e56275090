package portal

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

type taskRow struct {
	ID, Template, Status, CreatedBy string
	CreatedAt                       time.Time
}

func taskRows(tasks []store.Task) []taskRow {
	out := make([]taskRow, 0, len(tasks))
	for _, t := range tasks {
		out = append(out, taskRow{ID: t.ID, Template: templateName(t.TemplateRef), Status: t.Status,
			CreatedBy: strings.TrimPrefix(t.CreatedBy, "user:default/"), CreatedAt: t.CreatedAt})
	}
	return out
}

func templateName(ref string) string {
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

func (s *Server) taskList(w http.ResponseWriter, r *http.Request, v *visitor) error {
	f := store.TaskFilter{CreatedBy: userRef(v.p.Name), Limit: 100}
	if r.URL.Query().Get("all") == "true" {
		f.CreatedBy = "" // all the tasks the visitor may read: their teams', or everyone's for an admin
	}
	tasks, total, err := s.o.Tasks.ListTasks(r.Context(), taskUser(v), f)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "tasks", v, "Tasks", map[string]any{"Tasks": taskRows(tasks), "Total": total, "All": f.CreatedBy == ""})
	return nil
}

// taskSpec and taskState are the parts of a stored task the page shows.
type taskSpec struct {
	Steps []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"steps"`
	TemplateInfo struct {
		EntityRef string `json:"entityRef"`
		Entity    struct {
			Metadata struct {
				Title string `json:"title"`
				Name  string `json:"name"`
			} `json:"metadata"`
		} `json:"entity"`
	} `json:"templateInfo"`
}

type taskState struct {
	Steps []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Error  string `json:"error"`
	} `json:"steps"`
	Output map[string]any `json:"output"`
	Error  string         `json:"error"`
}

type stepView struct{ ID, Name, Status, Error string }

type logLine struct {
	ID      int64
	Step    string
	Message string
	Time    time.Time
}

type outputLink struct {
	Title, URL string
	External   bool
}

type outputText struct {
	Title string
	HTML  template.HTML
}

type taskData struct {
	ID, Title, Status, CreatedBy string
	CreatedAt                    time.Time
	Running                      bool
	Steps                        []stepView
	Log                          []logLine
	LastEvent                    int64
	Links                        []outputLink
	Texts                        []outputText
	Error                        string
	Mine                         bool
}

func (s *Server) taskPage(w http.ResponseWriter, r *http.Request, v *visitor) error {
	t, err := s.o.Tasks.Task(r.Context(), r.PathValue("id"), taskUser(v))
	if err != nil {
		return err
	}
	events, err := s.o.Store.TaskEvents(r.Context(), t.ID, 0)
	if err != nil {
		return err
	}
	d := s.taskView(t, events)
	d.Mine = t.CreatedBy == userRef(v.p.Name) || v.p.Is(store.RoleAdmin)
	s.render(w, r, http.StatusOK, "task", v, "Task: "+d.Title, d)
	return nil
}

// taskView gathers a task's steps with their status, its log and, once it completed, its output.
func (s *Server) taskView(t store.Task, events []store.TaskEvent) taskData {
	var spec taskSpec
	var state taskState
	_ = json.Unmarshal([]byte(t.Spec), &spec)
	_ = json.Unmarshal([]byte(t.State), &state)
	d := taskData{ID: t.ID, Status: t.Status, CreatedBy: strings.TrimPrefix(t.CreatedBy, "user:default/"), CreatedAt: t.CreatedAt,
		Running: t.Status == store.TaskOpen || t.Status == store.TaskProcessing, Error: state.Error,
		Title: firstNonEmpty(spec.TemplateInfo.Entity.Metadata.Title, templateName(t.TemplateRef))}
	status := map[string]string{}
	for _, e := range events {
		body := eventBody(e)
		if body.Status != "" {
			status[body.StepID] = body.Status
		}
		d.Log = append(d.Log, logLine{ID: e.ID, Step: body.StepID, Message: body.Message, Time: e.CreatedAt})
		d.LastEvent = e.ID
	}
	errs := map[string]string{}
	for _, st := range state.Steps { // the recorded results win over the log
		status[st.ID], errs[st.ID] = st.Status, st.Error
	}
	for _, st := range spec.Steps {
		d.Steps = append(d.Steps, stepView{ID: st.ID, Name: firstNonEmpty(st.Name, st.ID), Status: firstNonEmpty(status[st.ID], "pending"), Error: errs[st.ID]})
	}
	if t.Status == store.TaskCompleted {
		d.Links, d.Texts = s.outputs(state.Output)
	}
	return d
}

// taskUser is the visitor as the scaffolder knows users, to decide which tasks they may read.
func taskUser(v *visitor) scaffold.User {
	return scaffold.User{Ref: userRef(v.p.Name), Name: v.p.Name, Teams: v.p.Teams, Roles: v.p.Roles}
}

type eventFields struct {
	StepID  string `json:"stepId"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

func eventBody(e store.TaskEvent) eventFields {
	var b eventFields
	_ = json.Unmarshal([]byte(e.Body), &b)
	if b.Message == "" {
		b.Message = e.Type
	}
	return b
}

// outputs turns a finished task's output into links and texts, pointing API links at the portal's pages.
func (s *Server) outputs(out map[string]any) ([]outputLink, []outputText) {
	var links []outputLink
	for _, raw := range anyList(out["links"]) {
		l, _ := raw.(map[string]any)
		title := str(l["title"])
		switch {
		case str(l["entityRef"]) != "":
			if u := entityURL(str(l["entityRef"])); u != "" {
				links = append(links, outputLink{Title: firstNonEmpty(title, str(l["entityRef"])), URL: u})
			}
		case str(l["url"]) != "":
			u, external := s.portalURL(str(l["url"]))
			if u != "" {
				links = append(links, outputLink{Title: firstNonEmpty(title, u), URL: u, External: external})
			}
		}
	}
	var texts []outputText
	for _, raw := range anyList(out["text"]) {
		t, _ := raw.(map[string]any)
		if c := str(t["content"]); c != "" {
			texts = append(texts, outputText{Title: str(t["title"]), HTML: s.markdown(c)})
		}
	}
	return links, texts
}

func anyList(v any) []any {
	l, _ := v.([]any)
	return l
}

var apiPage = regexp.MustCompile(`^/api/v1/(changes|requests)/([^/?#]+)$`)

// portalURL maps a link to goldenpath's API onto the matching portal page; other web links stay as they
// are (external), and anything that is not a web link is dropped.
func (s *Server) portalURL(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", false
	}
	if base, err := url.Parse(s.o.APIBase); err == nil && s.o.APIBase != "" && u.Host == base.Host {
		if m := apiPage.FindStringSubmatch(u.Path); m != nil {
			return "/" + m[1] + "/" + m[2], false
		}
	}
	if strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//") {
		return raw, false
	}
	if !isWebURL(raw) {
		return "", false
	}
	return raw, true
}

// streamFor bounds one event stream; the browser's EventSource reconnects with Last-Event-ID, and a
// bounded stream never holds up a shutdown for long.
const streamFor = 25 * time.Second

// taskEvents streams a task's events as Server-Sent Events for the task page (the API's stream wants a
// Bearer token; this one goes with the session cookie). It ends after the completion event.
func (s *Server) taskEvents(w http.ResponseWriter, r *http.Request, v *visitor) error {
	id := r.PathValue("id")
	wake, stop := s.o.Tasks.Subscribe(id) // first, so no event falls between reading and waiting
	defer stop()
	if _, err := s.o.Tasks.Task(r.Context(), id, taskUser(v)); err != nil {
		return err
	}
	last := int64(0)
	for _, h := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("after")} {
		if n, err := strconv.ParseInt(h, 10, 64); err == nil && n > last {
			last = n
		}
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	deadline := time.After(streamFor)
	for {
		events, err := s.o.Store.TaskEvents(r.Context(), id, last)
		if err != nil {
			return nil // the headers are out: the browser reconnects
		}
		var done bool
		if last, done = writeEvents(w, events, last); done {
			_ = rc.Flush()
			return nil
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-deadline:
			return nil
		case <-wake:
		case <-time.After(10 * time.Second):
			fmt.Fprint(w, ": keep-alive\n\n")
		}
	}
}

// writeEvents writes task events as Server-Sent Events; it returns the last id written and whether the
// completion event was among them.
func writeEvents(w io.Writer, events []store.TaskEvent, last int64) (int64, bool) {
	for _, e := range events {
		b := eventBody(e)
		raw, _ := json.Marshal(map[string]any{"id": e.ID, "type": e.Type, "stepId": b.StepID, "status": b.Status, "message": b.Message})
		fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Type, raw)
		last = e.ID
		if e.Type == "completion" {
			return last, true
		}
	}
	return last, false
}

func (s *Server) taskCancel(w http.ResponseWriter, r *http.Request, v *visitor) error {
	u, err := s.o.TaskUsers.User(r.Context(), v.p.Name)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := s.o.Tasks.Cancel(r.Context(), id, u); err != nil {
		return err
	}
	return redirect(w, r, v, "/tasks/"+url.PathEscape(id), "Cancellation requested.")
}

func (s *Server) taskRetry(w http.ResponseWriter, r *http.Request, v *visitor) error {
	u, err := s.o.TaskUsers.User(r.Context(), v.p.Name)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := s.o.Tasks.Retry(r.Context(), id, u, nil); err != nil {
		return err
	}
	return redirect(w, r, v, "/tasks/"+url.PathEscape(id), "Retrying: the task resumes after the steps that completed.")
}
