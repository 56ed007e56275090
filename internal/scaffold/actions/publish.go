package actions

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/skeleton"
)

// Forge is the git forge publish actions write to (goldenpath's embedded forge in `up`).
type Forge interface {
	CreateRepoWithCommit(ctx context.Context, name, branch string, o forge.CommitOptions) (string, bool, error)
	Repo(name string) (*forge.Repo, error)
}

// Changes opens change requests on forge repositories.
type Changes interface {
	OpenBranch(ctx context.Context, user scaffold.User, repo, branch, title, body string) (number int64, url string, err error)
}

// Publisher holds what the publish actions share.
type Publisher struct {
	Forge   Forge
	Changes Changes
	BaseURL string // e.g. http://127.0.0.1:7070; URLs of published repositories start with it
	// Published is told about every repository a task wrote to (as a git push would be), so that what
	// depends on repositories' contents (routes, deployments) catches up at once.
	Published func(ctx context.Context, repo string)
}

func (p *Publisher) published(ctx context.Context, repo string) {
	if p.Published != nil {
		p.Published(ctx, repo)
	}
}

// taskTrailer marks commits made by a task, so a retried publish recognises its own repository.
const taskTrailer = "Goldenpath-Task: "

func (p *Publisher) urls(name, branch string) (remote, contents string) {
	base := strings.TrimRight(p.BaseURL, "/") + "/git/" + name
	return base + ".git", base + "/blob/" + branch
}

// target resolves a repoUrl to an owner/repo forge name the user may publish to. Source hosts match owner
// and repository names case-insensitively (RoadieHQ is roadiehq), so the forge name is the lowercase one;
// messages keep the case the template wrote.
func target(ac *scaffold.ActionContext) (string, error) {
	return repoTarget(ac, "repoUrl")
}

func repoTarget(ac *scaffold.ActionContext, input string) (string, error) {
	u, err := scaffold.ParseRepoURL(ac.String(input, ""))
	if err != nil {
		return "", fmt.Errorf("input.%s: %w", input, err)
	}
	owner := u.Owner
	for _, alt := range []string{u.Organization, u.Workspace} {
		if owner == "" {
			owner = alt
		}
	}
	display := owner + "/" + u.Repo
	name := strings.ToLower(display)
	if err := forge.ValidateRepoName(name); err != nil {
		return "", fmt.Errorf("input.%s: %w", input, err)
	}
	if !MayPublish(ac.User, strings.ToLower(owner)) {
		return "", fmt.Errorf("input.%s: %s may publish under their own name or their teams (%s), not under %q",
			input, ac.User.Name, strings.Join(ac.User.Teams, ", "), owner)
	}
	return name, nil
}

// MayPublish tells whether u may create or push to repositories of owner (a lowercase forge owner): their
// own name, their teams, or anything for admins. A task runs with its user's rights, whoever wrote the
// template.
func MayPublish(u scaffold.User, owner string) bool {
	return owner == u.Name || slices.Contains(u.Teams, owner) || slices.Contains(u.Roles, "admin")
}

func publishInput() map[string]any {
	return object(map[string]any{
		"repoUrl":              str("host?owner=OWNER&repo=REPO (every host publishes to goldenpath's forge)"),
		"description":          str("Repository description"),
		"defaultBranch":        str("Default branch (default main)"),
		"sourcePath":           str("Workspace path to publish (default the whole workspace)"),
		"gitCommitMessage":     str("Commit message (default: initial commit)"),
		"gitAuthorName":        str("Commit author name (default: the user)"),
		"gitAuthorEmail":       str("Commit author email"),
		"repoVisibility":       str("private, internal or public (recorded; the forge is private)"),
		"protectDefaultBranch": boolean("Protect the default branch (recorded)"),
		"allowedHosts":         strs("Hosts the repoUrl may name"),
		"topics":               strs("Topics (recorded)"),
		"token":                str("Token (unused)"),
	}, "repoUrl")
}

func publishOutput() map[string]any {
	return object(map[string]any{
		"remoteUrl":       str("Clone URL of the repository"),
		"repoContentsUrl": str("URL of the repository's contents at the default branch"),
		"commitHash":      str("The commit published"),
	})
}

// Publish is publish:github and its equivalents (id names which): a new repository holding the workspace.
func (p *Publisher) Publish(id string) scaffold.Action {
	return &action{
		id:          id,
		description: "Creates a repository in goldenpath's forge and pushes the workspace to it (" + id + " in Backstage templates).",
		input:       publishInput(),
		output:      publishOutput(),
		run:         p.publish,
	}
}

func (p *Publisher) publish(ctx context.Context, ac *scaffold.ActionContext) error {
	name, err := target(ac)
	if err != nil {
		return err
	}
	if hosts := ac.Strings("allowedHosts"); len(hosts) > 0 {
		u, _ := scaffold.ParseRepoURL(ac.String("repoUrl", ""))
		if !slices.Contains(hosts, u.Host) {
			return fmt.Errorf("input.repoUrl: host %q is not in allowedHosts (%s)", u.Host, strings.Join(hosts, ", "))
		}
	}
	branch := ac.String("defaultBranch", "main")
	remote, contents := p.urls(name, branch)
	ac.Output("remoteUrl", remote)
	ac.Output("repoContentsUrl", contents)
	files, err := workspaceFiles(ac)
	if err != nil {
		return err
	}
	if ac.DryRun {
		ac.Logf("Dry run: would create repository %s with %d files on %s", name, len(files), branch)
		ac.Output("commitHash", "dry-run")
		return nil
	}
	sha, retry, err := p.createRepo(ctx, ac, name, branch, forge.CommitOptions{
		Message: commitMessage(ac, "initial commit"), Author: author(ac), Changes: toChanges(files),
	})
	if err != nil {
		return err
	}
	if retry {
		ac.Logf("Repository %s was already published by this task (retry); keeping commit %s", name, sha[:10])
		ac.Output("commitHash", sha)
		return nil
	}
	ac.Logf("Published %d files to %s (%s)", len(files), remote, sha[:10])
	ac.Output("commitHash", sha)
	p.published(ctx, name)
	return nil
}

// createRepo makes repository name with one commit on branch. A repository that already exists is
// accepted only when its branch tip was made by this task (a retry): then its commit is returned, with retry true.
func (p *Publisher) createRepo(ctx context.Context, ac *scaffold.ActionContext, name, branch string, o forge.CommitOptions) (sha string, retry bool, err error) {
	sha, created, err := p.Forge.CreateRepoWithCommit(ctx, name, branch, o)
	if err != nil {
		return "", false, fmt.Errorf("creating repository %s: %w", name, err)
	}
	if created {
		return sha, false, nil
	}
	repo, err := p.Forge.Repo(name)
	if err != nil {
		return "", false, err
	}
	own, ok := p.ownCommit(ctx, repo, branch, ac.TaskID)
	if !ok {
		return "", false, fmt.Errorf("repository %s already exists; choose another repo name", name)
	}
	return own, true, nil
}

// ownCommit tells whether branch's tip was made by this task.
func (p *Publisher) ownCommit(ctx context.Context, repo *forge.Repo, branch, taskID string) (string, bool) {
	log, err := repo.Log(ctx, branch, 1)
	if err != nil || len(log) == 0 {
		return "", false
	}
	return log[0].SHA, strings.Contains(log[0].Message, taskTrailer+taskID)
}

func commitMessage(ac *scaffold.ActionContext, def string) string {
	return ac.String("gitCommitMessage", def) + "\n\n" + taskTrailer + ac.TaskID
}

func author(ac *scaffold.ActionContext) forge.Signature {
	name := ac.String("gitAuthorName", ac.User.Name)
	email := ac.String("gitAuthorEmail", ac.User.Name+"@users.goldenpath.local")
	return forge.Signature{Name: name, Email: email}
}

// workspaceFiles reads the workspace (or its sourcePath) for publishing: symlinks go to git as symlinks,
// never read through.
func workspaceFiles(ac *scaffold.ActionContext) ([]skeleton.File, error) {
	dir, err := skeleton.Rel(ac.String("sourcePath", "."))
	if err != nil {
		return nil, fmt.Errorf("input.sourcePath: %w", err)
	}
	files, err := ac.Workspace.ReadTree(dir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("nothing to publish: %s is empty", displayPath(ac.String("sourcePath", ".")))
	}
	return files, nil
}

func toChanges(files []skeleton.File) []forge.Change {
	out := make([]forge.Change, 0, len(files))
	for _, f := range files {
		c := forge.Change{Path: f.Path, Content: f.Content}
		switch {
		case f.Symlink != "":
			c.Mode, c.Content = "120000", []byte(f.Symlink)
		case f.Executable:
			c.Mode = "100755"
		}
		out = append(out, c)
	}
	return out
}

// RepoPush is github:repo:push: the workspace committed to an existing repository.
func (p *Publisher) RepoPush() scaffold.Action {
	return &action{
		id:          "github:repo:push",
		description: "Commits the workspace to an existing repository of goldenpath's forge.",
		input:       publishInput(),
		output:      publishOutput(),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			name, err := target(ac)
			if err != nil {
				return err
			}
			branch := ac.String("defaultBranch", "main")
			remote, contents := p.urls(name, branch)
			ac.Output("remoteUrl", remote)
			ac.Output("repoContentsUrl", contents)
			files, err := workspaceFiles(ac)
			if err != nil {
				return err
			}
			if ac.DryRun {
				ac.Logf("Dry run: would push %d files to %s", len(files), name)
				ac.Output("commitHash", "dry-run")
				return nil
			}
			repo, err := p.Forge.Repo(name)
			if err != nil {
				return fmt.Errorf("repository %s does not exist (github:repo:push needs an existing repository; publish:github creates one)", name)
			}
			parent, err := repo.ResolveRef(ctx, branch)
			if errors.Is(err, forge.ErrNotFound) {
				parent = ""
			} else if err != nil {
				return err
			}
			sha, err := repo.Commit(ctx, forge.CommitOptions{Branch: branch, Parent: parent, Message: commitMessage(ac, "initial commit"),
				Author: author(ac), Changes: toChanges(files)})
			if errors.Is(err, forge.ErrNoChanges) {
				sha, err = parent, nil
			}
			if err != nil {
				return fmt.Errorf("pushing to %s: %w", name, err)
			}
			ac.Output("commitHash", sha)
			p.published(ctx, name)
			return nil
		},
	}
}

// PullRequest is publish:github:pull-request: the workspace on a new branch of an existing repository,
// proposed through a goldenpath change request.
func (p *Publisher) PullRequest() scaffold.Action {
	return &action{
		id:          "publish:github:pull-request",
		description: "Commits the workspace to a new branch of an existing repository and opens a change request for it.",
		input: object(map[string]any{
			"repoUrl":     str("host?owner=OWNER&repo=REPO"),
			"branchName":  str("Branch to create"),
			"title":       str("Title of the change request"),
			"description": str("Body of the change request"),
			"targetPath":  str("Directory of the repository to write the workspace to (default the root)"),
			"sourcePath":  str("Workspace path to publish"),
			"draft":       boolean("Draft (recorded)"),
			"reviewers":   strs("Reviewers (recorded)"),
			"token":       str("Token (unused)"),
		}, "repoUrl", "branchName", "title", "description"),
		output: object(map[string]any{"remoteUrl": str("URL of the change request"), "pullRequestNumber": num("Its number"), "targetBranchName": str("Base branch")}),
		run:    p.pullRequest,
	}
}

func (p *Publisher) pullRequest(ctx context.Context, ac *scaffold.ActionContext) error {
	name, err := target(ac)
	if err != nil {
		return err
	}
	files, err := workspaceFiles(ac)
	if err != nil {
		return err
	}
	prefix, err := skeleton.Rel(strings.TrimPrefix(ac.String("targetPath", ""), "/"))
	if err != nil {
		return fmt.Errorf("input.targetPath: %w", err)
	}
	if prefix != "." {
		for i := range files {
			files[i].Path = prefix + "/" + files[i].Path
		}
	}
	branch := ac.String("branchName", "")
	ac.Output("targetBranchName", "main")
	if ac.DryRun {
		ac.Logf("Dry run: would open a change request on %s from branch %s with %d files", name, branch, len(files))
		ac.Output("remoteUrl", "dry-run")
		return nil
	}
	repo, err := p.Forge.Repo(name)
	if err != nil {
		return fmt.Errorf("repository %s does not exist", name)
	}
	mainSHA, err := repo.ResolveRef(ctx, "main")
	if err != nil {
		return fmt.Errorf("repository %s has no main branch: %w", name, err)
	}
	if _, err := repo.Commit(ctx, forge.CommitOptions{Branch: branch, Base: mainSHA, Message: commitMessage(ac, ac.String("title", "")),
		Author: author(ac), Changes: toChanges(files)}); err != nil {
		return fmt.Errorf("committing to branch %s of %s: %w", branch, name, err)
	}
	n, url, err := p.Changes.OpenBranch(ctx, ac.User, name, branch, ac.String("title", ""), ac.String("description", ""))
	if err != nil {
		return err
	}
	ac.Logf("Opened change request #%d on %s", n, name)
	ac.Output("remoteUrl", url)
	ac.Output("pullRequestNumber", n)
	return nil
}
