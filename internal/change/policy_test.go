package change

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// Two teams: alice (developer) and paula (approver) in payments; sam (developer) and sara (approver) in search.
var (
	paula = auth.Principal{Name: "paula", Roles: []string{store.RoleApprover}, Teams: []string{"payments"}}
	sam   = auth.Principal{Name: "sam", Roles: []string{store.RoleDeveloper}, Teams: []string{"search"}}
	sara  = auth.Principal{Name: "sara", Roles: []string{store.RoleApprover}, Teams: []string{"search"}}
)

func addUsers(t *testing.T, s *Service, ps ...auth.Principal) {
	t.Helper()
	for _, p := range ps {
		if err := s.store.CreateUser(context.Background(), store.User{Name: p.Name, Roles: p.Roles, Teams: p.Teams, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
}

func s3Contract(owner, team string) forge.Change {
	return forge.Change{Path: contract.PathFor(contract.S3, "invoices"), Content: []byte(
		"apiVersion: goldenpath.io/v1\nkind: S3Request\nmetadata: {name: invoices, owner: " + owner + ", team: " + team +
			", environment: dev}\nspec:\n  size: small\n")}
}

func check(ev *Evaluation, name string) Check {
	for _, c := range ev.Checks {
		if c.Name == name {
			return c
		}
	}
	return Check{Name: name + " (missing)"}
}

func checkText(c Check) string {
	var msgs []string
	for _, e := range c.Errors {
		msgs = append(msgs, e.Error())
	}
	return c.Summary + "\n" + strings.Join(msgs, "\n")
}

// mergeAs opens changes as author and merges them with approver.
func mergeAs(t *testing.T, s *Service, author, approver auth.Principal, ch ...forge.Change) store.Change {
	t.Helper()
	ctx := context.Background()
	c, err := s.Open(ctx, author, OpenInput{Title: "setup", Changes: ch})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Approve(ctx, approver, c.Number, ""); err != nil {
		t.Fatal(err)
	}
	m, err := s.Merge(ctx, approver, c.Number)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOwnershipNeedsTheOwningTeamsConsent(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	addUsers(t, s, alice, paula, sam, sara)
	mergeAs(t, s, alice, paula, s3Contract("alice", "payments"))

	tests := []struct {
		name      string
		author    auth.Principal
		change    forge.Change
		approvers []auth.Principal
		wantPass  bool
		want      string
	}{
		{"another team takes it over with its own approver", sam, s3Contract("sam", "search"), []auth.Principal{sara}, false,
			"s3.dev.invoices belongs to alice of team payments: transferring it to sam of team search by sam needs their consent"},
		{"another team changes it", sam, forge.Change{Path: contract.PathFor(contract.S3, "invoices"), Content: []byte(strings.Replace(string(s3Contract("alice", "payments").Content), "small", "medium", 1))},
			[]auth.Principal{sara}, false, "changing by sam needs their consent"},
		{"another team deletes it", sam, forge.Change{Path: contract.PathFor(contract.S3, "invoices"), Delete: true}, []auth.Principal{sara}, false,
			"deleting by sam needs their consent"},
		{"the owning team consents to a takeover", sam, s3Contract("sam", "search"), []auth.Principal{sara, paula}, true, "ownership transfer"},
		{"the owning team gives it away", alice, s3Contract("sam", "search"), []auth.Principal{sara}, true, "from alice (team payments) to sam (team search)"},
		{"a new contract for another team", sam, forge.Change{Path: contract.PathFor(contract.S3, "reports"), Content: []byte(
			"apiVersion: goldenpath.io/v1\nkind: S3Request\nmetadata: {name: reports, owner: alice, team: payments, environment: dev}\nspec:\n  size: small\n")},
			[]auth.Principal{sara}, false, "sam may only request resources owned by themselves or a team they belong to (search), not by alice of team payments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := s.Open(ctx, tt.author, OpenInput{Title: tt.name, Changes: []forge.Change{tt.change}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(ctx, tt.author, c.Number, "done")
			for _, a := range tt.approvers {
				if _, err := s.Approve(ctx, a, c.Number, ""); err != nil {
					t.Fatal(err)
				}
			}
			ev, err := s.Evaluate(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			own := check(ev, "ownership")
			if own.Passed != tt.wantPass || ev.Mergeable != tt.wantPass || !strings.Contains(checkText(own), tt.want) {
				t.Errorf("ownership check passed=%v, mergeable=%v:\n%s\nwant passed=%v and %q", own.Passed, ev.Mergeable, checkText(own), tt.wantPass, tt.want)
			}
			if !tt.wantPass {
				if _, err := s.Merge(ctx, tt.approvers[0], c.Number); code(err) != problem.Precondition {
					t.Errorf("merging without consent: %v, want a precondition failure", err)
				}
			}
		})
	}
}

func TestApprovalsFromCommitPushersDoNotCount(t *testing.T) {
	ctx := context.Background()
	s, repo := newService(t)
	addUsers(t, s, alice, paula, sam, sara)
	c := open(t, s, rds("dev", "small", ""))
	// paula (an approver) adds a commit to alice's change, as a push would, then approves it.
	sneak, err := repo.Commit(ctx, forge.CommitOptions{Branch: c.Branch, Parent: c.HeadSHA, Message: "sneak",
		Author: forge.Signature{Name: "alice", Email: "alice@users.goldenpath.local"}, Changes: []forge.Change{rds("dev", "xlarge", "")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.store.RecordPushers(ctx, repo.Name(), "paula", []string{sneak}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Approve(ctx, paula, c.Number, ""); err != nil {
		t.Fatal(err)
	}
	ev, err := s.Evaluate(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Approvers) != 0 || ev.Mergeable || len(ev.Ignored) != 1 || !strings.Contains(ev.Ignored[0], "paula's approval does not count: they pushed commit "+sneak[:10]) {
		t.Errorf("approvers %v, ignored %v, mergeable %v: want paula's approval set aside", ev.Approvers, ev.Ignored, ev.Mergeable)
	}
	if _, err := s.Merge(ctx, paula, c.Number); code(err) != problem.Precondition {
		t.Errorf("merging with only the pusher's approval: %v, want refused", err)
	}
	// Someone who pushed nothing can approve it.
	if _, err := s.Approve(ctx, sara, c.Number, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Merge(ctx, sara, c.Number); err != nil {
		t.Errorf("merging with an independent approval: %v", err)
	}
}

func TestGuardBranchPush(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	c := open(t, s, rds("dev", "small", ""))
	admin := auth.Principal{Name: "root", Roles: []string{store.RoleAdmin}}
	for _, tt := range []struct {
		who    auth.Principal
		branch string
		ok     bool
	}{
		{alice, c.Branch, true}, // the author
		{admin, c.Branch, true},
		{paula, c.Branch, false}, // an approver of the same team
		{sam, c.Branch, false},
		{sam, "feature/mine", true}, // a branch without an open change request
	} {
		err := GuardBranchPush(ctx, s.store, "platform", tt.who, tt.branch)
		if (err == nil) != tt.ok {
			t.Errorf("%s pushing %s: %v, want allowed=%v", tt.who.Name, tt.branch, err, tt.ok)
		}
		if err != nil && (code(err) != problem.Forbidden || !strings.Contains(err.Error(), "belongs to open change request")) {
			t.Errorf("refusal %v is not a clear 403", err)
		}
	}
	s.Close(ctx, alice, c.Number, "done")
	if err := GuardBranchPush(ctx, s.store, "platform", sam, c.Branch); err != nil {
		t.Errorf("pushing to the branch of a closed change request: %v, want allowed", err)
	}
}

func TestOpenBranchNeedsPushRightsAndAValidName(t *testing.T) {
	ctx := context.Background()
	s, repo := newService(t)
	s.mayPush = func(_ context.Context, p auth.Principal) error {
		if p.Owns("payments", "payments") {
			return nil
		}
		return errors.New("payments/orders belongs to payments")
	}
	if _, err := repo.Commit(ctx, forge.CommitOptions{Branch: "wip", Base: "main", Message: "wip", Author: forge.Signature{Name: "a", Email: "a@x"},
		Changes: []forge.Change{{Path: "README.md", Content: []byte("wip\n")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenBranch(ctx, sam, "wip", "", ""); code(err) != problem.Forbidden {
		t.Errorf("another team opening a change request: %v, want 403", err)
	}
	for _, bad := range []string{"a..b", "x.lock", "../etc", "-rf", "a b", "refs/heads/../x", "a~1"} {
		if _, err := s.OpenBranch(ctx, alice, bad, "", ""); code(err) != problem.Invalid || !strings.Contains(err.Error(), "branch") {
			t.Errorf("branch %q: %v, want a 400 naming the branch", bad, err)
		}
	}
	c, err := s.OpenBranch(ctx, alice, "wip", "", "")
	if err != nil {
		t.Fatal(err)
	}
	s.mayPush = func(_ context.Context, p auth.Principal) error {
		if p.Owns("payments", "payments") {
			return nil
		}
		return errors.New("payments/orders belongs to payments")
	}
	if _, err := s.Approve(ctx, sara, c.Number, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Merge(ctx, sara, c.Number); code(err) != problem.Forbidden {
		t.Errorf("another team's approver merging: %v, want 403", err)
	}
	if _, err := s.Merge(ctx, alice, c.Number); err != nil {
		t.Errorf("the author merging with an approval: %v", err)
	}
}

func TestLaterCommitsLinkTheirRequests(t *testing.T) {
	ctx := context.Background()
	s, repo := newService(t)
	addUsers(t, s, alice, paula)
	mergeAs(t, s, alice, paula, s3Contract("alice", "payments"))
	if _, err := s.store.UpdateRequest(ctx, "s3.dev.invoices", func(r *store.Request) ([]store.Event, error) {
		r.Kind, r.Environment, r.Name, r.Owner, r.Team, r.Phase = "S3Request", "dev", "invoices", "alice", "payments", store.PhaseReady
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	c := open(t, s, rds("dev", "small", ""))
	if _, err := repo.Commit(ctx, forge.CommitOptions{Branch: c.Branch, Parent: c.HeadSHA, Message: "more", Author: forge.Signature{Name: "a", Email: "a@x"},
		Changes: []forge.Change{{Path: contract.PathFor(contract.S3, "invoices"), Delete: true}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Evaluate(ctx, c); err != nil {
		t.Fatal(err)
	}
	linked, err := s.store.ListChanges(ctx, store.ChangeFilter{RequestID: "s3.dev.invoices", State: store.ChangeOpen})
	if err != nil || len(linked) != 1 || linked[0].Number != c.Number {
		t.Fatalf("open change requests of s3.dev.invoices = %+v, %v; want #%d", linked, err, c.Number)
	}
	evs, err := s.store.Events(ctx, "s3.dev.invoices", 10)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range evs {
		found = found || strings.Contains(e.Message, "now touches this request")
	}
	if !found {
		t.Errorf("timeline of s3.dev.invoices = %+v, want an event for the change request's later commit", evs)
	}
}
