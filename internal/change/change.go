// Package change runs change requests on the platform repository: a branch proposed for merging into main,
// its diff, the checks (every contract it touches validates, and the merged result is consistent), a plan
// of what will be provisioned, reviews by approvers other than the author, and the merge itself — refused,
// with the reasons, while checks fail or approvals are missing.
package change

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/plan"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/store"
	"github.com/goldenpathidp/goldenpath/internal/strictyaml"
)

// MainBranch is the branch desired state is read from.
const MainBranch = "main"

// Repo is what the service needs of a forge repository.
type Repo interface {
	Name() string
	ResolveRef(ctx context.Context, ref string) (string, error)
	ReadFile(ctx context.Context, rev, path string) ([]byte, error)
	ReadTree(ctx context.Context, rev, prefix string) ([]forge.File, error)
	Commit(ctx context.Context, o forge.CommitOptions) (string, error)
	ChangedFiles(ctx context.Context, base, head string) ([]forge.FileDiff, error)
	Diff(ctx context.Context, base, head string) ([]forge.FileDiff, error)
	MergeBase(ctx context.Context, a, b string) (string, error)
	Merge(ctx context.Context, into, expectedInto, head, message string, author forge.Signature) (string, error)
	Log(ctx context.Context, rev string, n int) ([]forge.CommitInfo, error)
	Commits(ctx context.Context, base, head string) ([]string, error)
}

// beforeMerge returns what main was just before a change request's merge commit (its first parent).
func (s *Service) beforeMerge(ctx context.Context, mergedSHA string) (string, error) {
	log, err := s.repo.Log(ctx, mergedSHA, 1)
	if err != nil {
		return "", err
	}
	if len(log) == 0 || len(log[0].Parents) == 0 {
		return "", fmt.Errorf("merge commit %s has no parent", short(mergedSHA))
	}
	return log[0].Parents[0], nil
}

// Hooks let other parts react to a change request's life.
type Hooks struct {
	Opened func(ctx context.Context, c store.Change)
	// Merged runs after the merge commit is on main.
	Merged func(ctx context.Context, c store.Change)
	// Closed runs when a change request is rejected or withdrawn.
	Closed func(ctx context.Context, c store.Change)
	// Reviewed runs after an approval is recorded.
	Reviewed func(ctx context.Context, c store.Change, r store.Review)
}

// Service runs change requests on one repository.
type Service struct {
	repo     Repo
	store    store.Store
	describe func(cfg *platform.Config) plan.Describer
	hooks    Hooks
	log      *slog.Logger
	now      func() time.Time
	generic  bool // not the platform repository: no contract checks, no plan
	mayPush  func(ctx context.Context, p auth.Principal) error
	checks   []FileCheck
	owner    func(ctx context.Context, path string) (string, bool, error)

	mergeMu sync.Mutex // merges are serialised; the store's compare-and-swap guards across processes
}

// Options configure a Service.
type Options struct {
	Repo     Repo
	Store    store.Store
	Describe func(cfg *platform.Config) plan.Describer // the provisioners' description of resources
	Hooks    Hooks
	Logger   *slog.Logger
	// Generic marks a repository that holds no contracts (e.g. an app repository): its change requests
	// need one approval and have no contract checks or plan.
	Generic bool
	// FileChecks validate other files a change touches (templates, say), shown as checks of their own.
	FileChecks []FileCheck
	// PathOwner names who owns a file that is not a contract (an app's rendered overlay belongs to the
	// app's team), so changing it needs their consent like a contract's; ok is false for files nobody owns.
	PathOwner func(ctx context.Context, path string) (owner string, ok bool, err error)
	// MayPush tells whether p may push to the repository; opening and merging a change request needs the
	// same right (nil: the developer role suffices, as for the platform repository's branches).
	MayPush func(ctx context.Context, p auth.Principal) error
}

// New returns a Service.
func New(o Options) *Service {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{repo: o.Repo, store: o.Store, describe: o.Describe, hooks: o.Hooks, log: log, now: time.Now, generic: o.Generic, mayPush: o.MayPush, checks: o.FileChecks, owner: o.PathOwner}
}

// FileCheck validates the files of one kind that a change adds or modifies, such as software templates,
// so their problems show on the change request that introduces them rather than after it merged.
type FileCheck struct {
	Name    string                 // the check's name on the change request
	Applies func(path string) bool // which files it validates
	// Check returns the file's problems, each naming the file, the field and the rule.
	Check func(path string, data []byte) []*strictyaml.FieldError
}

// OpenInput describes a change request to open from file changes.
type OpenInput struct {
	Title      string
	Body       string
	Changes    []forge.Change
	RequestIDs []string
}

var slugRe = regexp.MustCompile(`[^a-z0-9]+`)

func branchName(title string) string {
	slug := strings.Trim(slugRe.ReplaceAllString(strings.ToLower(title), "-"), "-")
	if len(slug) > 40 {
		slug = strings.Trim(slug[:40], "-")
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return "change/" + slug + "-" + hex.EncodeToString(b)
}

// mayOpen tells whether p may open (or merge) change requests on the repository: the developer role,
// and the right to push to it.
func (s *Service) mayOpen(ctx context.Context, p auth.Principal, verb string) error {
	if !p.Is(store.RoleDeveloper) {
		return problem.New(problem.Forbidden, "%s a change request needs the developer role", verb)
	}
	if s.mayPush != nil {
		if err := s.mayPush(ctx, p); err != nil {
			return problem.New(problem.Forbidden, "%s a change request on %s needs the right to push to it: %v", verb, s.repo.Name(), err)
		}
	}
	return nil
}

// Open commits the changes on a new branch from main and opens a change request for it.
func (s *Service) Open(ctx context.Context, p auth.Principal, in OpenInput) (store.Change, error) {
	if err := s.mayOpen(ctx, p, "opening"); err != nil {
		return store.Change{}, err
	}
	if strings.TrimSpace(in.Title) == "" {
		return store.Change{}, problem.Field("title", "is required")
	}
	mainSHA, err := s.repo.ResolveRef(ctx, MainBranch)
	if err != nil {
		return store.Change{}, fmt.Errorf("resolving main: %w", err)
	}
	branch := branchName(in.Title)
	head, err := s.repo.Commit(ctx, forge.CommitOptions{
		Branch: branch, Base: mainSHA, Message: in.Title + "\n\n" + in.Body,
		Author: s.signature(p), Changes: in.Changes,
	})
	if errors.Is(err, forge.ErrNoChanges) {
		return store.Change{}, problem.New(problem.Conflict, "nothing to change: main already has this content")
	}
	if err != nil {
		return store.Change{}, fmt.Errorf("committing to %s: %w", branch, err)
	}
	if err := s.store.RecordPushers(ctx, s.repo.Name(), p.Name, []string{head}, s.now().UTC()); err != nil {
		return store.Change{}, fmt.Errorf("recording the author of %s: %w", short(head), err)
	}
	return s.create(ctx, p, branch, head, in.Title, in.Body, in.RequestIDs)
}

// OpenBranch opens a change request for a branch pushed to the repository.
func (s *Service) OpenBranch(ctx context.Context, p auth.Principal, branch, title, body string) (store.Change, error) {
	if err := s.mayOpen(ctx, p, "opening"); err != nil {
		return store.Change{}, err
	}
	if branch == "" || branch == MainBranch {
		return store.Change{}, problem.Field("branch", "must name a branch other than main")
	}
	if err := forge.ValidateBranchName(branch); err != nil {
		return store.Change{}, problem.Field("branch", "%v", err)
	}
	head, err := s.repo.ResolveRef(ctx, "refs/heads/"+branch)
	if errors.Is(err, forge.ErrNotFound) {
		return store.Change{}, problem.Field("branch", "branch %q does not exist in the %s repository", branch, s.repo.Name())
	}
	if err != nil {
		return store.Change{}, err
	}
	open, err := s.store.ListChanges(ctx, store.ChangeFilter{Repo: s.repo.Name(), State: store.ChangeOpen})
	if err != nil {
		return store.Change{}, err
	}
	for _, c := range open {
		if c.Branch == branch {
			return store.Change{}, problem.New(problem.Conflict, "branch %q already has open change request #%d", branch, c.Number)
		}
	}
	if strings.TrimSpace(title) == "" {
		title = "Merge " + branch
	}
	mainSHA, err := s.repo.ResolveRef(ctx, MainBranch)
	if err != nil {
		return store.Change{}, err
	}
	files, err := s.repo.ChangedFiles(ctx, mainSHA, head)
	if err != nil {
		return store.Change{}, err
	}
	if len(files) == 0 {
		return store.Change{}, problem.New(problem.Precondition, "branch %q has no changes compared to main", branch)
	}
	c, err := s.create(ctx, p, branch, head, title, body, nil)
	if err != nil {
		return c, err
	}
	// Evaluating links the requests the branch touches, so they show the change request.
	if _, err := s.Evaluate(ctx, c); err != nil {
		s.log.Warn("evaluating a new change request", "change", c.Number, "err", err)
	}
	return s.Get(ctx, c.Number)
}

func (s *Service) create(ctx context.Context, p auth.Principal, branch, head, title, body string, ids []string) (store.Change, error) {
	now := s.now().UTC()
	c := store.Change{Repo: s.repo.Name(), Title: title, Body: body, Branch: branch, Base: MainBranch, HeadSHA: head,
		Author: p.Name, State: store.ChangeOpen, RequestIDs: ids, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateChange(ctx, &c); err != nil {
		return store.Change{}, err
	}
	s.audit(ctx, p.Name, "change.open", c, branch)
	if s.hooks.Opened != nil {
		s.hooks.Opened(ctx, c)
	}
	return c, nil
}

func (s *Service) signature(p auth.Principal) forge.Signature {
	return forge.Signature{Name: p.Name, Email: p.Name + "@users.goldenpath.local", When: s.now()}
}

func (s *Service) audit(ctx context.Context, actor, action string, c store.Change, detail string) {
	if err := s.store.Audit(ctx, store.AuditEntry{Time: s.now().UTC(), Actor: actor, Action: action,
		Target: fmt.Sprintf("change/%d", c.Number), Detail: detail}); err != nil {
		s.log.Warn("writing audit log", "err", err)
	}
}

// Get returns a change request.
func (s *Service) Get(ctx context.Context, number int64) (store.Change, error) {
	c, err := s.store.GetChange(ctx, number)
	if errors.Is(err, store.ErrNotFound) {
		return c, problem.New(problem.NotFound, "change request #%d does not exist", number)
	}
	return c, err
}

// List returns change requests.
func (s *Service) List(ctx context.Context, f store.ChangeFilter) ([]store.Change, error) {
	f.Repo = s.repo.Name()
	return s.store.ListChanges(ctx, f)
}
