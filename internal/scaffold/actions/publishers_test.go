package actions

import (
	"context"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
)

func TestMorePublishers(t *testing.T) {
	f := newTestForge(t)
	p := &Publisher{Forge: f, Changes: &fakeChanges{}, BaseURL: "http://gp"}
	acts := []scaffold.Action{p.Bitbucket("publish:bitbucket"), p.Azure(), p.RepoCreate(), p.RepoPush()}
	alice := scaffold.User{Name: "alice", Teams: []string{"payments"}}
	res, log, err := runAs(t, alice, acts, `
    - {id: bb, action: publish:bitbucket, input: {repoUrl: "bitbucket.org?workspace=payments&project=P&repo=bb", enableLFS: true}}
    - {id: az, action: publish:azure, input: {repoUrl: "dev.azure.com?organization=payments&project=P&repo=az"}}
    - {id: create, action: "github:repo:create", input: {repoUrl: "github.com?owner=payments&repo=gh", hasWiki: false}}
    - {id: push, action: "github:repo:push", input: {repoUrl: "github.com?owner=payments&repo=gh"}}
`, map[string]string{"README.md": "hello"})
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if got := stepOutput(res, "az")["repositoryId"]; got != "payments/az" {
		t.Errorf("publish:azure repositoryId: %v", got)
	}
	if got := stepOutput(res, "create")["remoteUrl"]; got != "http://gp/git/payments/gh.git" {
		t.Errorf("github:repo:create remoteUrl: %v", got)
	}
	for _, name := range []string{"payments/bb", "payments/az", "payments/gh"} {
		repo, err := f.Repo(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, err := repo.ReadFile(context.Background(), "main", "README.md"); err != nil || string(got) != "hello" {
			t.Errorf("%s: README.md %q, %v", name, got, err)
		}
	}
	// A retry of the same task finds the repository it made.
	if _, _, err := runAs(t, alice, acts, `    - {id: create, action: "github:repo:create", input: {repoUrl: "github.com?owner=payments&repo=gh"}}`+"\n", nil); err != nil {
		t.Errorf("github:repo:create retried by its task: %v", err)
	}
	bob := scaffold.User{Name: "bob", Teams: []string{"search"}}
	if _, _, err := runAs(t, bob, acts, `    - {id: create, action: "github:repo:create", input: {repoUrl: "github.com?owner=payments&repo=bobs"}}`+"\n", nil); err == nil {
		t.Errorf("bob created a repository under payments")
	}
}
