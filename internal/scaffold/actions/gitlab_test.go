package actions

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/scaffold"
)

// fakeChanges records the change requests a publisher opens.
type fakeChanges struct {
	mu     sync.Mutex
	opened []string
}

func (f *fakeChanges) OpenBranch(_ context.Context, u scaffold.User, repo, branch, title, body string) (int64, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opened = append(f.opened, u.Name+" "+repo+" "+branch+" "+title)
	n := int64(len(f.opened))
	return n, "http://gp/api/v1/changes/" + string(rune('0'+n)), nil
}

func newTestForge(t *testing.T) *forge.Forge {
	t.Helper()
	f, err := forge.New(t.TempDir(), forge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// runAs runs steps with the given actions as user u.
func runAs(t *testing.T, u scaffold.User, acts []scaffold.Action, steps string, files map[string]string) (scaffold.Result, string, error) {
	t.Helper()
	old := testUser
	testUser = u
	defer func() { testUser = old }()
	_, res, ev, err := runSteps(t, context.Background(), acts, steps, files, nil)
	return res, ev.text(), err
}

func TestPublishGitLab(t *testing.T) {
	f := newTestForge(t)
	changes := &fakeChanges{}
	p := &Publisher{Forge: f, Changes: changes, BaseURL: "http://gp"}
	acts := []scaffold.Action{p.GitLab(), p.GitLabMergeRequest()}
	alice := scaffold.User{Name: "alice", Teams: []string{"payments"}}

	res, log, err := runAs(t, alice, acts, `
    - id: pub
      action: publish:gitlab
      input:
        repoUrl: gitlab.com?owner=Payments&repo=orders
        settings: {visibility: internal, topics: [go]}
        projectVariables: [{key: TOKEN, value: s3cr3t}]
        branches: [{name: develop, create: true}, {name: main, protect: true}]
`, map[string]string{"README.md": "hi", "catalog-info.yaml": "kind: Component"})
	if err != nil {
		t.Fatal(err)
	}
	out := stepOutput(res, "pub")
	if out["remoteUrl"] != "http://gp/git/payments/orders.git" || out["repoContentsUrl"] != "http://gp/git/payments/orders/blob/main" ||
		out["created"] != true || out["projectId"] != float64(projectID("payments/orders")) && out["projectId"] != projectID("payments/orders") {
		t.Errorf("outputs: %v", out)
	}
	repo, err := f.Repo("payments/orders")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := repo.ReadFile(context.Background(), "develop", "README.md"); err != nil || string(got) != "hi" {
		t.Errorf("branch develop: %q, %v", got, err)
	}
	if !strings.Contains(log, "CI/CD variables not stored") || strings.Contains(log, "s3cr3t") {
		t.Errorf("the log should say the variables were not stored, without their values:\n%s", log)
	}

	// skipExisting: the repository is left as it is, created is false.
	res, _, err = runAs(t, alice, acts, `
    - {id: pub, action: publish:gitlab, input: {repoUrl: "gitlab.com?owner=payments&repo=orders", skipExisting: true}}
`, map[string]string{"other.txt": "x"})
	if err != nil || stepOutput(res, "pub")["created"] != false {
		t.Errorf("skipExisting: %v, %v", stepOutput(res, "pub"), err)
	}
	// The merge request: a branch plus a change request, with GitLab's outputs.
	res, _, err = runAs(t, alice, acts, `
    - {id: mr, action: publish:gitlab:merge-request, input: {repoUrl: "gitlab.com?owner=payments&repo=orders", title: Add docs, branchName: docs, targetPath: docs}}
`, map[string]string{"docs/index.md": "# docs"})
	if err != nil {
		t.Fatal(err)
	}
	out = stepOutput(res, "mr")
	if out["projectPath"] != "payments/orders" || out["targetBranchName"] != "main" || !strings.HasPrefix(out["mergeRequestUrl"].(string), "http://gp/api/v1/changes/") {
		t.Errorf("merge request outputs: %v", out)
	}
	if got, err := repo.ReadFile(context.Background(), "docs", "docs/index.md"); err != nil || string(got) != "# docs" {
		t.Errorf("branch docs: %q, %v", got, err)
	}
	if len(changes.opened) != 1 || changes.opened[0] != "alice payments/orders docs Add docs" {
		t.Errorf("change requests opened: %v", changes.opened)
	}

	// Another team's group is refused, for both actions.
	bob := scaffold.User{Name: "bob", Teams: []string{"search"}}
	for _, step := range []string{
		`{id: pub, action: publish:gitlab, input: {repoUrl: "gitlab.com?owner=payments&repo=evil"}}`,
		`{id: mr, action: publish:gitlab:merge-request, input: {repoUrl: "gitlab.com?owner=payments&repo=orders", title: x, branchName: x}}`,
	} {
		if _, _, err := runAs(t, bob, acts, "    - "+step+"\n", map[string]string{"a": "b"}); err == nil || !strings.Contains(err.Error(), "may publish under") {
			t.Errorf("bob publishing under payments: %v", err)
		}
	}
	for user, want := range map[string]string{"alice": "", "bob": "neither bob nor one of their teams"} {
		u := map[string]scaffold.User{"alice": alice, "bob": bob}[user]
		res, _, err := runAs(t, u, []scaffold.Action{GitLabGroupEnsureExists()}, `    - {id: g, action: "gitlab:group:ensureExists", input: {repoUrl: gitlab.com, path: [payments]}}`+"\n", nil)
		if want == "" && (err != nil || stepOutput(res, "g")["groupId"] == nil) {
			t.Errorf("%s: gitlab:group:ensureExists of payments: %v %v", user, res, err)
		}
		if want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: gitlab:group:ensureExists of payments: %v, want %q", user, err, want)
		}
	}
	if _, err := f.Repo("payments/evil"); err == nil {
		t.Errorf("bob created payments/evil")
	}
}
