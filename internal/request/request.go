// Package request is the front of the request flow: a developer asks for a resource (or to change or delete
// one), and this package turns that into a contract file on a branch of the platform repository and a
// change request, and keeps the request's status record in step with its change request's life.
package request

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/change"
	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/store"
	"github.com/goldenpathidp/goldenpath/internal/strictyaml"
)

// Repo is what the service reads from the platform repository.
type Repo interface {
	ResolveRef(ctx context.Context, ref string) (string, error)
	ReadFile(ctx context.Context, rev, path string) ([]byte, error)
}

// Changes is what the service needs of change requests.
type Changes interface {
	Open(ctx context.Context, p auth.Principal, in change.OpenInput) (store.Change, error)
	List(ctx context.Context, f store.ChangeFilter) ([]store.Change, error)
}

// Service files requests.
type Service struct {
	repo    Repo
	changes Changes
	store   store.Store
	// mu makes "no open change request for this request yet" and opening one a single step, so two
	// simultaneous filings of the same request cannot both open a change request.
	mu sync.Mutex
}

// New returns a Service.
func New(repo Repo, changes Changes, s store.Store) *Service {
	return &Service{repo: repo, changes: changes, store: s}
}

// Filed is the outcome of filing a request.
type Filed struct {
	Request store.Request `json:"request"`
	Change  store.Change  `json:"change"`
}

// Config reads platform.yaml from main.
func (s *Service) Config(ctx context.Context) (*platform.Config, error) {
	raw, err := s.repo.ReadFile(ctx, change.MainBranch, platform.Path)
	if err != nil {
		return nil, fmt.Errorf("reading platform.yaml from main: %w", err)
	}
	return platform.Parse(platform.Path, raw)
}

// Create proposes r (a new request, or a new version of an existing one) through a change request.
func (s *Service) Create(ctx context.Context, p auth.Principal, r *contract.Request) (Filed, error) {
	if !p.Is(store.RoleDeveloper) {
		return Filed{}, problem.New(problem.Forbidden, "requesting resources needs the developer role")
	}
	if _, err := s.store.GetUser(ctx, r.Metadata.Owner); errors.Is(err, store.ErrNotFound) {
		return Filed{}, r.Errorf("metadata.owner", "user %q does not exist in goldenpath", r.Metadata.Owner)
	} else if err != nil {
		return Filed{}, err
	}
	cfg, err := s.Config(ctx)
	if err != nil {
		return Filed{}, err
	}
	if errs := r.Validate(cfg); len(errs) > 0 {
		return Filed{}, errs
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	existing, others, err := s.readFile(ctx, r.Kind, r.Metadata.Name, r.ID())
	if err != nil {
		return Filed{}, err
	}
	// A new request is filed for oneself or one's team; an existing one is changed (or handed to another
	// owner or team) only by its current owners: their consent is the filing itself.
	switch {
	case existing == nil && !p.Owns(r.Metadata.Owner, r.Metadata.Team):
		return Filed{}, problem.New(problem.Forbidden, "%s can only request resources owned by themselves or by a team they belong to (%s); this one is owned by %s of team %s",
			p.Name, strings.Join(p.Teams, ", "), r.Metadata.Owner, r.Metadata.Team)
	case existing != nil && !p.Owns(existing.Metadata.Owner, existing.Metadata.Team):
		return Filed{}, problem.New(problem.Forbidden, "%s belongs to %s of team %s: only they or an admin can change it; to take it over, ask team %s to file it with the new owner and team (every credential is rotated)",
			r.ID(), existing.Metadata.Owner, existing.Metadata.Team, existing.Metadata.Team)
	}
	if err := s.noOpenChange(ctx, r.ID()); err != nil {
		return Filed{}, err
	}
	verb := "Request"
	if existing != nil {
		if errs := contract.CheckUpdate(existing, r); len(errs) > 0 {
			return Filed{}, errs
		}
		if string(existing.Marshal()) == string(r.Marshal()) {
			return Filed{}, problem.New(problem.Conflict, "%s already exists on main with exactly this content", r.ID())
		}
		verb = "Update"
	}
	title := fmt.Sprintf("%s %s %s (%s)", verb, r.Kind, r.Metadata.Name, r.Metadata.Environment)
	c, err := s.changes.Open(ctx, p, change.OpenInput{
		Title:      title,
		Body:       fmt.Sprintf("Filed by %s for %s (team %s).", p.Name, r.Metadata.Owner, r.Metadata.Team),
		Changes:    []forge.Change{{Path: r.Path(), Content: contract.RenderFile(append(others, r))}},
		RequestIDs: []string{string(r.ID())},
	})
	if err != nil {
		return Filed{}, err
	}
	rec, err := s.store.UpdateRequest(ctx, string(r.ID()), func(rec *store.Request) ([]store.Event, error) {
		if rec.Phase == "" || rec.Phase == store.PhaseDeleted || rec.Phase == store.PhaseRejected {
			fill(rec, r)
			rec.Phase = store.PhasePending
			rec.Outputs = nil
			SetCondition(rec, "Ready", "False", "AwaitingApproval", fmt.Sprintf("change request #%d is waiting for approval", c.Number))
		}
		rec.Change = c.Number
		return []store.Event{{Reason: verb + "ed", Actor: p.Name,
			Message: fmt.Sprintf("%sed by %s in change request #%d", strings.ToLower(verb), p.Name, c.Number)}}, nil
	})
	return Filed{Request: rec, Change: c}, err
}

// Delete proposes removing the request id through a change request.
func (s *Service) Delete(ctx context.Context, p auth.Principal, id contract.ID) (Filed, error) {
	kind, env, name, err := contract.ParseID(string(id))
	if err != nil {
		return Filed{}, problem.Field("id", "%v", err)
	}
	existing, others, err := s.readFile(ctx, kind, name, id)
	if err != nil {
		return Filed{}, err
	}
	if existing == nil {
		return Filed{}, problem.New(problem.NotFound, "%s is not on main (kind %s, environment %s, name %s)", id, kind, env, name)
	}
	if !p.Is(store.RoleDeveloper) || !p.Owns(existing.Metadata.Owner, existing.Metadata.Team) {
		return Filed{}, problem.New(problem.Forbidden, "only the owner (%s), members of team %s or an admin can delete %s",
			existing.Metadata.Owner, existing.Metadata.Team, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.noOpenChange(ctx, id); err != nil {
		return Filed{}, err
	}
	fc := forge.Change{Path: existing.Path(), Delete: len(others) == 0}
	if len(others) > 0 {
		fc.Content = contract.RenderFile(others)
	}
	c, err := s.changes.Open(ctx, p, change.OpenInput{
		Title:      fmt.Sprintf("Delete %s %s (%s)", kind, name, env),
		Body:       fmt.Sprintf("Filed by %s. Merging deprovisions the resource and its data.", p.Name),
		Changes:    []forge.Change{fc},
		RequestIDs: []string{string(id)},
	})
	if err != nil {
		return Filed{}, err
	}
	rec, err := s.store.UpdateRequest(ctx, string(id), func(rec *store.Request) ([]store.Event, error) {
		if rec.Phase == "" {
			fill(rec, existing)
			rec.Phase = store.PhaseProvisioning
		}
		rec.Change = c.Number
		return []store.Event{{Reason: "DeletionRequested", Actor: p.Name,
			Message: fmt.Sprintf("deletion requested by %s in change request #%d", p.Name, c.Number)}}, nil
	})
	return Filed{Request: rec, Change: c}, err
}

// noOpenChange refuses a second change request for a request that already has one open.
func (s *Service) noOpenChange(ctx context.Context, id contract.ID) error {
	open, err := s.changes.List(ctx, store.ChangeFilter{State: store.ChangeOpen, RequestID: string(id)})
	if err != nil {
		return err
	}
	if len(open) > 0 {
		return problem.New(problem.Conflict, "%s already has open change request #%d; merge, reject or close it first", id, open[0].Number)
	}
	return nil
}

// readFile reads the contract file for kind/name on main and splits it into the document for id (if any)
// and the other environments' documents.
func (s *Service) readFile(ctx context.Context, kind contract.Kind, name string, id contract.ID) (*contract.Request, []*contract.Request, error) {
	path := contract.PathFor(kind, name)
	raw, err := s.repo.ReadFile(ctx, change.MainBranch, path)
	if errors.Is(err, forge.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	docs, err := contract.Parse(path, raw, true)
	if err != nil {
		return nil, nil, fmt.Errorf("%s on main is invalid, fix it first: %w", path, err)
	}
	var existing *contract.Request
	var others []*contract.Request
	for _, d := range docs {
		if d.ID() == id {
			existing = d
		} else {
			others = append(others, d)
		}
	}
	return existing, others, nil
}

func fill(rec *store.Request, r *contract.Request) {
	rec.Kind, rec.Environment, rec.Name = string(r.Kind), r.Metadata.Environment, r.Metadata.Name
	rec.Owner, rec.Team = r.Metadata.Owner, r.Metadata.Team
	rec.Spec = string(r.Marshal())
}

// ConditionRetrying is present (status True) while the reconciler has another attempt scheduled after a
// failed one: a Failed request with it is still being worked on (after several transient errors); a
// Failed request without it waits for its contract or the configuration to change.
const ConditionRetrying = "Retrying"

// RemoveCondition drops the condition of type typ, if rec has one.
func RemoveCondition(rec *store.Request, typ string) {
	rec.Conditions = slices.DeleteFunc(rec.Conditions, func(c store.Condition) bool { return c.Type == typ })
}

// SetCondition sets (or replaces) a condition, keeping its transition time when the status did not change.
func SetCondition(rec *store.Request, typ, status, reason, message string) {
	now := nowFunc()
	for i, c := range rec.Conditions {
		if c.Type == typ {
			if c.Status != status {
				rec.Conditions[i].LastTransitionTime = now
			}
			rec.Conditions[i].Status, rec.Conditions[i].Reason, rec.Conditions[i].Message = status, reason, message
			return
		}
	}
	rec.Conditions = append(rec.Conditions, store.Condition{Type: typ, Status: status, Reason: reason, Message: message, LastTransitionTime: now})
}

// Hash identifies a version of a contract (plus whatever configuration affects it).
func Hash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// ParseBody decodes a request body (YAML or JSON) holding one contract; errors call it "request body".
func ParseBody(body []byte) (*contract.Request, error) { return ParseBodyAs("", body) }

// ParseBodyAs is ParseBody with the name errors give the body: the client's file it was read from ("" for
// "request body").
func ParseBodyAs(file string, body []byte) (*contract.Request, error) {
	if file == "" {
		file = "request body"
	}
	r, err := contract.ParseOne(file, body)
	if err != nil {
		if _, ok := strictyaml.AsErrors(err); ok {
			return nil, err
		}
		return nil, problem.New(problem.Invalid, "%v", err)
	}
	return r, nil
}
