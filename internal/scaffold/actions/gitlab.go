package actions

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/skeleton"
)

// publish:gitlab and publish:gitlab:merge-request publish to goldenpath's forge, as publish:github and
// publish:github:pull-request do (and through the same code), with the GitLab actions' inputs and
// outputs. GitLab's project settings, branch protection and CI variables have no counterpart in the forge:
// they are accepted and reported in the task log, never silently taken for applied.

func gitlabPublishInput() map[string]any {
	in := publishInput()
	props := in["properties"].(map[string]any)
	props["repoUrl"] = str("gitlab.com?owner=GROUP&repo=PROJECT (every host publishes to goldenpath's forge)")
	props["repoVisibility"] = map[string]any{"type": "string", "enum": []any{"private", "public", "internal"}, "title": "Repository visibility (recorded; the forge is private)"}
	props["sourcePath"] = map[string]any{"type": []any{"string", "boolean"}, "title": "Workspace path to publish; true or absent: the whole workspace; false: an empty repository"}
	props["skipExisting"] = boolean("Do not publish when the repository exists already (created is then false)")
	props["signCommit"] = boolean("Sign the commit (not supported by the forge: refused when true)")
	props["setUserAsOwner"] = boolean("Make the task's user the owner (recorded: the repository belongs to its owner group or user)")
	props["settings"] = object(map[string]any{
		"path": str("Project path"), "auto_devops_enabled": boolean("Auto DevOps"), "ci_config_path": str("CI config path"),
		"description":   str("Project description"),
		"merge_method":  map[string]any{"type": "string", "enum": []any{"merge", "rebase_merge", "ff"}},
		"squash_option": map[string]any{"type": "string", "enum": []any{"default_off", "default_on", "never", "always"}},
		"topics":        strs("Topics"), "visibility": map[string]any{"type": "string", "enum": []any{"private", "public", "internal"}},
		"only_allow_merge_if_all_discussions_are_resolved": boolean("All threads must be resolved"),
		"only_allow_merge_if_pipeline_succeeds":            boolean("Pipelines must succeed"),
		"allow_merge_on_skipped_pipeline":                  boolean("Skipped pipelines are considered successful"),
	})
	props["branches"] = map[string]any{"type": "array", "title": "Branches to create (from ref) or protect", "items": object(map[string]any{
		"name": str("Branch name"), "protect": boolean("Protect the branch (recorded)"), "create": boolean("Create the branch"),
		"ref": str("Where to create it from (default: the default branch)"),
	}, "name")}
	props["projectVariables"] = map[string]any{"type": "array", "title": "CI/CD variables (the forge has no CI: recorded, not stored)", "items": object(map[string]any{
		"key": str("Key"), "value": str("Value"), "description": str("Description"),
		"variable_type": map[string]any{"type": "string", "enum": []any{"env_var", "file"}},
		"protected":     boolean("Protected"), "masked": boolean("Masked"), "raw": boolean("Raw"), "environment_scope": str("Environment scope"),
	}, "key", "value")}
	return in
}

// projectID is a repository's stable number, GitLab's projectId: the forge names repositories, it does
// not number them.
func projectID(name string) int64 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int64(h.Sum32() & 0x7fffffff)
}

// GitLab is publish:gitlab.
func (p *Publisher) GitLab() scaffold.Action {
	out := publishOutput()
	props := out["properties"].(map[string]any)
	props["projectId"] = num("The repository's number (stable, derived from its name)")
	props["created"] = boolean("Whether the repository was created (false when skipExisting found it)")
	return &action{
		id:          "publish:gitlab",
		description: "Creates a repository in goldenpath's forge and pushes the workspace to it (publish:gitlab in Backstage templates).",
		input:       gitlabPublishInput(),
		output:      out,
		run:         p.publishGitLab,
	}
}

func (p *Publisher) publishGitLab(ctx context.Context, ac *scaffold.ActionContext) error {
	name, err := target(ac)
	if err != nil {
		return err
	}
	if ac.Bool("signCommit", false) {
		return fmt.Errorf("input.signCommit: goldenpath's forge does not sign commits")
	}
	in := maps.Clone(ac.Input)
	empty := false
	switch sp := ac.Input["sourcePath"].(type) {
	case bool:
		delete(in, "sourcePath")
		empty = !sp
	}
	branch := ac.String("defaultBranch", "main")
	in["defaultBranch"] = branch
	if ac.Bool("skipExisting", false) && p.Forge != nil {
		if _, err := p.Forge.Repo(name); err == nil {
			remote, contents := p.urls(name, branch)
			ac.Logf("Repository %s exists already; skipExisting: not published", name)
			ac.Output("remoteUrl", remote)
			ac.Output("repoContentsUrl", contents)
			ac.Output("projectId", projectID(name))
			ac.Output("created", false)
			return nil
		}
	}
	reportGitLabSettings(ac)
	c := *ac
	c.Input = in
	if empty {
		err = p.publishEmpty(ctx, &c, name, branch)
	} else {
		err = p.publish(ctx, &c)
	}
	if err != nil {
		return err
	}
	ac.Output("projectId", projectID(name))
	ac.Output("created", true)
	return p.gitlabBranches(ctx, ac, name, branch)
}

// publishEmpty is sourcePath: false: a repository whose one commit holds no file.
func (p *Publisher) publishEmpty(ctx context.Context, ac *scaffold.ActionContext, name, branch string) error {
	remote, contents := p.urls(name, branch)
	ac.Output("remoteUrl", remote)
	ac.Output("repoContentsUrl", contents)
	if ac.DryRun {
		ac.Output("commitHash", "dry-run")
		return nil
	}
	sha, _, err := p.createRepo(ctx, ac, name, branch, forge.CommitOptions{
		Message: commitMessage(ac, "initial commit"), Author: author(ac), AllowEmpty: true})
	if err != nil {
		return err
	}
	ac.Output("commitHash", sha)
	p.published(ctx, name)
	return nil
}

// reportGitLabSettings says in the task log which GitLab-only inputs were recorded but have no effect.
func reportGitLabSettings(ac *scaffold.ActionContext) {
	if s, ok := expr.AsMap(ac.Input["settings"]); ok && len(s) > 0 {
		ac.Logf("GitLab project settings recorded, not applied (the forge has no such settings): %s", strings.Join(slices.Sorted(maps.Keys(s)), ", "))
	}
	if vars, _ := ac.Input["projectVariables"].([]any); len(vars) > 0 {
		var keys []string
		for _, v := range vars {
			m, _ := expr.AsMap(v)
			k, _ := m["key"].(string)
			keys = append(keys, k)
		}
		ac.Logf("GitLab CI/CD variables not stored (goldenpath runs no CI; use a SecretRequest for secrets): %s", strings.Join(keys, ", "))
	}
	if ac.Bool("setUserAsOwner", false) {
		ac.Logf("setUserAsOwner: the repository belongs to its owner (%s may push to it as a member)", ac.User.Name)
	}
}

// gitlabBranches creates the branches asked for, from their ref (default: the default branch).
func (p *Publisher) gitlabBranches(ctx context.Context, ac *scaffold.ActionContext, name, defaultBranch string) error {
	list, _ := ac.Input["branches"].([]any)
	if len(list) == 0 || ac.DryRun {
		return nil
	}
	repo, err := p.Forge.Repo(name)
	if err != nil {
		return err
	}
	for i, item := range list {
		b, _ := expr.AsMap(item)
		bn, _ := b["name"].(string)
		if protect, _ := b["protect"].(bool); protect {
			ac.Logf("Branch %s: protection recorded (goldenpath guards branches through change requests)", bn)
		}
		if create, _ := b["create"].(bool); !create || bn == defaultBranch {
			continue
		}
		ref, _ := b["ref"].(string)
		if ref == "" {
			ref = defaultBranch
		}
		sha, err := repo.ResolveRef(ctx, ref)
		if err != nil {
			return fmt.Errorf("input.branches[%d].ref: %q: %w", i, ref, err)
		}
		err = repo.UpdateRef(ctx, bn, sha, "")
		if err != nil && !errors.Is(err, forge.ErrConflict) {
			return fmt.Errorf("input.branches[%d]: creating branch %q: %w", i, bn, err)
		}
		ac.Logf("Created branch %s from %s", bn, ref)
	}
	return nil
}

// GitLabMergeRequest is publish:gitlab:merge-request: the workspace committed to a new branch of an existing
// repository and proposed as a goldenpath change request (into main, where goldenpath merges).
func (p *Publisher) GitLabMergeRequest() scaffold.Action {
	return &action{
		id:          "publish:gitlab:merge-request",
		description: "Commits the workspace to a new branch of an existing repository and opens a change request for it (publish:gitlab:merge-request in Backstage templates).",
		input: object(map[string]any{
			"repoUrl":                          str("gitlab.com?owner=GROUP&repo=PROJECT"),
			"title":                            str("The name for the merge request"),
			"description":                      str("The description of the merge request"),
			"branchName":                       str("The source branch name of the merge request"),
			"targetBranchName":                 str("The target branch (default: main, the branch goldenpath merges into)"),
			"sourcePath":                       str("Subdirectory of the workspace to copy changes from (default: targetPath, then the whole workspace)"),
			"targetPath":                       str("Subdirectory of the repository to apply changes to"),
			"token":                            str("Token (unused)"),
			"commitAction":                     map[string]any{"type": "string", "enum": []any{"create", "delete", "update", "skip", "auto"}, "title": "create, update and auto write the files; delete removes them; skip commits nothing"},
			"projectid":                        str("Deprecated: the project is the repoUrl's"),
			"removeSourceBranch":               boolean("Delete the branch once merged (recorded)"),
			"assignee":                         str("Assignee (recorded)"),
			"reviewers":                        strs("Reviewers (recorded)"),
			"assignReviewersFromApprovalRules": boolean("Reviewers from approval rules (goldenpath's approvals apply)"),
			"labels":                           anyOf("Labels (recorded)", "string", "array"),
		}, "repoUrl", "title", "branchName"),
		output: object(map[string]any{
			"targetBranchName": str("Target branch name of the merge request"),
			"projectid":        str("The repository, owner/name"),
			"projectPath":      str("The repository, owner/name"),
			"mergeRequestUrl":  str("Link to the change request"),
		}),
		run: p.gitlabMergeRequest,
	}
}

func (p *Publisher) gitlabMergeRequest(ctx context.Context, ac *scaffold.ActionContext) error {
	name, err := target(ac)
	if err != nil {
		return err
	}
	targetBranch := ac.String("targetBranchName", "main")
	if targetBranch != "main" {
		return fmt.Errorf("input.targetBranchName: goldenpath's change requests merge into main, not %q", targetBranch)
	}
	source := ac.String("sourcePath", ac.String("targetPath", "."))
	dir, err := skeleton.Rel(source)
	if err != nil {
		return fmt.Errorf("input.sourcePath: %w", err)
	}
	prefix, err := skeleton.Rel(strings.TrimPrefix(ac.String("targetPath", ""), "/"))
	if err != nil {
		return fmt.Errorf("input.targetPath: %w", err)
	}
	files, err := ac.Workspace.ReadTree(dir)
	if err != nil {
		return err
	}
	changes := toChanges(files)
	for i := range changes {
		if prefix != "." {
			changes[i].Path = path.Join(prefix, changes[i].Path)
		}
		if ac.String("commitAction", "auto") == "delete" {
			changes[i] = forge.Change{Path: changes[i].Path, Delete: true}
		}
	}
	if ac.String("commitAction", "auto") == "skip" {
		changes = nil
	}
	branch := ac.String("branchName", "")
	ac.Output("targetBranchName", targetBranch)
	ac.Output("projectid", name)
	ac.Output("projectPath", name)
	if ac.DryRun {
		ac.Logf("Dry run: would open a change request on %s from branch %s with %d changes", name, branch, len(changes))
		ac.Output("mergeRequestUrl", "dry-run")
		return nil
	}
	repo, err := p.Forge.Repo(name)
	if err != nil {
		return fmt.Errorf("repository %s does not exist", name)
	}
	base, err := repo.ResolveRef(ctx, targetBranch)
	if err != nil {
		return fmt.Errorf("repository %s has no %s branch: %w", name, targetBranch, err)
	}
	if len(changes) > 0 {
		if _, err := repo.Commit(ctx, forge.CommitOptions{Branch: branch, Base: base, Message: commitMessage(ac, ac.String("title", "")),
			Author: author(ac), Changes: changes}); err != nil {
			return fmt.Errorf("committing to branch %s of %s: %w", branch, name, err)
		}
	} else if err := repo.UpdateRef(ctx, branch, base, ""); err != nil && !errors.Is(err, forge.ErrConflict) {
		return fmt.Errorf("creating branch %s of %s: %w", branch, name, err)
	}
	if a := ac.String("assignee", ""); a != "" || len(ac.Strings("reviewers")) > 0 {
		ac.Logf("Assignee and reviewers recorded (%s; %s): goldenpath's approvals come from the repository's team", a, strings.Join(ac.Strings("reviewers"), ", "))
	}
	n, url, err := p.Changes.OpenBranch(ctx, ac.User, name, branch, ac.String("title", ""), ac.String("description", ""))
	if err != nil {
		return err
	}
	ac.Logf("Opened change request #%d on %s", n, name)
	ac.Output("mergeRequestUrl", url)
	return nil
}

// GitLabGroupEnsureExists is gitlab:group:ensureExists. The forge's owners are goldenpath's teams and users,
// one level deep, made by admins, not by templates: the group must be the task's user, or a team the user
// belongs to (admins: any owner). groupId is its stable number.
func GitLabGroupEnsureExists() scaffold.Action {
	return &action{
		id:          "gitlab:group:ensureExists",
		description: "Ensures a group exists: in goldenpath, that it is a team of the task's user (or the user); teams are made by admins.",
		input: object(map[string]any{
			"repoUrl": str("gitlab.com (the host; every host is goldenpath's forge)"),
			"token":   str("Token (unused)"),
			"path":    map[string]any{"type": "array", "minItems": 1, "items": map[string]any{"type": "string"}, "title": "A path of group names that is ensured to exist (goldenpath's owners are one level deep)"},
		}, "repoUrl", "path"),
		output: object(map[string]any{"groupId": num("The group's stable number")}),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			path := ac.Strings("path")
			if len(path) != 1 {
				return fmt.Errorf("input.path: %q: goldenpath's forge has one level of owners (teams and users), not subgroups", strings.Join(path, "/"))
			}
			owner := strings.ToLower(path[0])
			if !MayPublish(ac.User, owner) {
				return fmt.Errorf("input.path: %q is neither %s nor one of their teams (%s); goldenpath's teams are made by admins",
					path[0], ac.User.Name, strings.Join(ac.User.Teams, ", "))
			}
			ac.Output("groupId", projectID(owner))
			return nil
		},
	}
}
