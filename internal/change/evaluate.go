package change

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/plan"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/store"
	"github.com/goldenpathidp/goldenpath/internal/strictyaml"
)

// Check is one check on a change request.
type Check struct {
	Name    string                   `json:"name"`
	Passed  bool                     `json:"passed"`
	Summary string                   `json:"summary"`
	Errors  []*strictyaml.FieldError `json:"errors,omitempty"`
}

// Evaluation is everything known about whether a change request can merge, computed from the repository.
type Evaluation struct {
	MainSHA   string           `json:"mainSHA"`
	HeadSHA   string           `json:"headSHA"`
	Files     []forge.FileDiff `json:"files"`
	Checks    []Check          `json:"checks"`
	Plan      []plan.Entry     `json:"plan"`
	Required  int              `json:"requiredApprovals"`
	Approvers []string         `json:"approvedBy"`
	// Ignored explains approvals that do not count (their reviewer pushed commits of the change).
	Ignored   []string `json:"ignoredApprovals,omitempty"`
	Blockers  []string `json:"blockers,omitempty"`
	Mergeable bool     `json:"mergeable"`
}

// RequestIDs lists the requests the plan touches.
func (e *Evaluation) RequestIDs() []string {
	var ids []string
	for _, p := range e.Plan {
		ids = append(ids, string(p.RequestID))
	}
	return ids
}

// Evaluate computes checks, plan and approvals of c against the current main. If the branch moved since the
// change request was opened, it records the new head: approvals given to an older head no longer count.
func (s *Service) Evaluate(ctx context.Context, c store.Change) (*Evaluation, error) {
	mainSHA, err := s.repo.ResolveRef(ctx, MainBranch)
	if err != nil {
		return nil, fmt.Errorf("resolving main: %w", err)
	}
	head := c.HeadSHA
	if c.State == store.ChangeOpen {
		if head, err = s.repo.ResolveRef(ctx, "refs/heads/"+c.Branch); err != nil {
			return nil, fmt.Errorf("resolving branch %s of change request #%d: %w", c.Branch, c.Number, err)
		}
		if head != c.HeadSHA {
			moved := c
			moved.HeadSHA, moved.UpdatedAt = head, s.now().UTC()
			if err := s.store.UpdateChange(ctx, moved, c.State, c.HeadSHA); err != nil && !errors.Is(err, store.ErrConflict) {
				return nil, err
			}
		}
	}
	base := mainSHA
	if c.State == store.ChangeMerged && c.MergedSHA != "" {
		// Show a merged change against what main was before it.
		base = mainSHA
		if before, err := s.beforeMerge(ctx, c.MergedSHA); err == nil {
			if mb, err := s.repo.MergeBase(ctx, before, head); err == nil {
				base = mb
			}
		}
	}
	ev := &Evaluation{MainSHA: mainSHA, HeadSHA: head}
	if ev.Files, err = s.repo.ChangedFiles(ctx, base, head); err != nil {
		return nil, err
	}
	before, after, err := s.checkAndPlan(ctx, ev, base, head)
	if err != nil {
		return nil, err
	}
	if err := s.countApprovals(ctx, c, ev, base); err != nil {
		return nil, err
	}
	if !s.generic {
		own, err := s.ownership(ctx, c, ev, before, after)
		if err != nil {
			return nil, err
		}
		ev.Checks = append(ev.Checks, own)
	}
	ev.blockers(c)
	if c.State == store.ChangeOpen {
		if err := s.linkRequests(ctx, c, ev); err != nil {
			return nil, err
		}
	}
	return ev, nil
}

// state is the platform configuration and contracts at one revision.
type state struct {
	cfg    *platform.Config
	cfgErr error
	set    *contract.Set
}

// desiredFiles reads platform.yaml and the contracts at rev.
func (s *Service) desiredFiles(ctx context.Context, rev string) ([]contract.File, error) {
	files, err := s.repo.ReadTree(ctx, rev, contract.Root)
	if err != nil && !errors.Is(err, forge.ErrNotFound) {
		return nil, err
	}
	out := make([]contract.File, 0, len(files)+1)
	for _, f := range files {
		out = append(out, contract.File{Path: f.Path, Content: f.Content})
	}
	cfg, err := s.repo.ReadFile(ctx, rev, platform.Path)
	if err != nil && !errors.Is(err, forge.ErrNotFound) {
		return nil, err
	}
	if err == nil {
		out = append(out, contract.File{Path: platform.Path, Content: cfg})
	}
	return out, nil
}

func load(files []contract.File) state {
	var st state
	for _, f := range files {
		if f.Path == platform.Path {
			st.cfg, st.cfgErr = platform.Parse(platform.Path, f.Content)
		}
	}
	if st.cfg == nil && st.cfgErr == nil {
		st.cfgErr = &strictyaml.FieldError{File: platform.Path, Rule: "is missing from the platform repository"}
	}
	if st.cfg != nil {
		st.set = contract.Load(files, st.cfg)
	}
	return st
}

// checkAndPlan simulates the merge at file level (main's files with the change's files applied), validates
// the result and plans it against main.
func (s *Service) checkAndPlan(ctx context.Context, ev *Evaluation, base, head string) (before, after state, err error) {
	if s.generic {
		ev.Required = 1
		return before, after, nil
	}
	baseFiles, err := s.desiredFiles(ctx, base)
	if err != nil {
		return before, after, err
	}
	merged := map[string][]byte{}
	for _, f := range baseFiles {
		merged[f.Path] = f.Content
	}
	touched := map[string]bool{}
	for _, f := range ev.Files {
		touched[f.Path] = true
		if f.OldPath != "" {
			touched[f.OldPath] = true
			delete(merged, f.OldPath)
		}
		if f.Status == "deleted" {
			delete(merged, f.Path)
			continue
		}
		if f.Path != platform.Path && !contract.IsContractPath(f.Path) {
			continue
		}
		content, err := s.repo.ReadFile(ctx, head, f.Path)
		if err != nil {
			return before, after, fmt.Errorf("reading %s at %s: %w", f.Path, head, err)
		}
		merged[f.Path] = content
	}
	var mergedFiles []contract.File
	for p, c := range merged {
		mergedFiles = append(mergedFiles, contract.File{Path: p, Content: c})
	}
	before, after = load(baseFiles), load(mergedFiles)
	ev.Checks = checks(before, after, touched)
	fileChecks, err := s.fileChecks(ctx, ev.Files, head)
	if err != nil {
		return before, after, err
	}
	ev.Checks = append(ev.Checks, fileChecks...)
	ev.Required = required(before, after, touched)
	if after.set != nil {
		var baseReqs map[contract.ID]*contract.Request
		if before.set != nil {
			baseReqs = before.set.Requests
		}
		var describe plan.Describer
		if s.describe != nil {
			describe = s.describe(after.cfg)
		}
		ev.Plan = plan.Diff(baseReqs, after.set.Requests, describe)
	}
	return before, after, nil
}

func checks(before, after state, touched map[string]bool) []Check {
	valid := Check{Name: "contracts", Passed: true, Summary: "every changed contract is valid"}
	if after.cfgErr != nil {
		fes, _ := strictyaml.AsErrors(after.cfgErr)
		valid.Errors = append(valid.Errors, fes...)
	}
	if after.set != nil {
		for _, e := range after.set.Errors {
			if touched[e.File] || touched[platform.Path] {
				valid.Errors = append(valid.Errors, e)
			}
		}
	}
	if len(valid.Errors) > 0 {
		valid.Passed, valid.Summary = false, fmt.Sprintf("%d problem(s) in the changed files", len(valid.Errors))
	}
	immutable := Check{Name: "immutable fields", Passed: true, Summary: "no immutable field changes"}
	if before.set != nil && after.set != nil {
		ids := make([]string, 0, len(after.set.Requests))
		for id := range after.set.Requests {
			ids = append(ids, string(id))
		}
		sort.Strings(ids)
		for _, id := range ids {
			if old, ok := before.set.Requests[contract.ID(id)]; ok {
				immutable.Errors = append(immutable.Errors, contract.CheckUpdate(old, after.set.Requests[contract.ID(id)])...)
			}
		}
	}
	if len(immutable.Errors) > 0 {
		immutable.Passed, immutable.Summary = false, fmt.Sprintf("%d immutable field(s) changed", len(immutable.Errors))
	}
	return []Check{valid, immutable}
}

// required is the number of approvals the change needs: the highest of the environments it touches; every
// environment's when platform.yaml itself changes; at least one.
func required(before, after state, touched map[string]bool) int {
	n := 1
	consider := func(cfg *platform.Config, env string) {
		if cfg == nil {
			return
		}
		for _, e := range cfg.Environments {
			if (env == "" || e.Name == env) && e.Approvals > n {
				n = e.Approvals
			}
		}
	}
	if touched[platform.Path] {
		consider(before.cfg, "")
		consider(after.cfg, "")
		return n
	}
	for _, st := range []state{before, after} {
		if st.set == nil {
			continue
		}
		for _, r := range st.set.Requests {
			if touched[r.Path()] {
				consider(st.cfg, r.Metadata.Environment)
			}
		}
	}
	// An environment's rendered tree (an app's image pin, its Terraform) is that environment's as much as
	// its contracts are.
	for p := range touched {
		if env, ok := environmentOfPath(p); ok {
			consider(after.cfg, env)
			consider(before.cfg, env)
		}
	}
	return n
}

// environmentOfPath names the environment whose tree holds p: gitops/kustomize/overlays/<env>/... or
// envs/<env>/...
func environmentOfPath(p string) (string, bool) {
	for _, prefix := range []string{"gitops/kustomize/overlays/", "envs/"} {
		if rest, ok := strings.CutPrefix(p, prefix); ok {
			if env, _, ok := strings.Cut(rest, "/"); ok && env != "" {
				return env, true
			}
		}
	}
	return "", false
}

func (ev *Evaluation) blockers(c store.Change) {
	if c.State != store.ChangeOpen {
		ev.Blockers = append(ev.Blockers, fmt.Sprintf("the change request is %s", c.State))
	}
	for _, ch := range ev.Checks {
		if !ch.Passed {
			ev.Blockers = append(ev.Blockers, fmt.Sprintf("check %q failed: %s", ch.Name, ch.Summary))
		}
	}
	if len(ev.Approvers) < ev.Required {
		ev.Blockers = append(ev.Blockers, fmt.Sprintf("needs %d approval(s) on the latest commit from someone who neither opened the change request nor pushed any of its commits, has %d",
			ev.Required, len(ev.Approvers)))
	}
	if len(ev.Files) == 0 && c.State == store.ChangeOpen {
		ev.Blockers = append(ev.Blockers, "the branch has no changes compared to main")
	}
	ev.Mergeable = len(ev.Blockers) == 0
}

// fileChecks runs the configured file checks on the files the change adds or modifies.
func (s *Service) fileChecks(ctx context.Context, files []forge.FileDiff, head string) ([]Check, error) {
	var out []Check
	for _, fc := range s.checks {
		chk := Check{Name: fc.Name, Passed: true}
		n := 0
		for _, f := range files {
			if f.Status == "deleted" || !fc.Applies(f.Path) {
				continue
			}
			content, err := s.repo.ReadFile(ctx, head, f.Path)
			if err != nil {
				return nil, fmt.Errorf("reading %s at %s: %w", f.Path, head, err)
			}
			n++
			chk.Errors = append(chk.Errors, fc.Check(f.Path, content)...)
		}
		if n == 0 {
			continue
		}
		chk.Summary = fmt.Sprintf("%d changed file(s) valid", n)
		if len(chk.Errors) > 0 {
			chk.Passed, chk.Summary = false, fmt.Sprintf("%d problem(s) in the changed files", len(chk.Errors))
		}
		out = append(out, chk)
	}
	return out, nil
}
