package actions

import (
	"context"
	"fmt"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
)

// More publishers that public templates use, onto goldenpath's forge like publish:github: the Bitbucket and
// Azure DevOps publishers with their own inputs and outputs, and github:repo:create (a repository made
// before github:repo:push fills it).

// publishVia is publish:github's action under another ID, with more inputs described and, when set, a
// final step that adds the original's extra outputs.
func (p *Publisher) publishVia(id string, inputs, outputs map[string]any, after func(ac *scaffold.ActionContext, repo string)) scaffold.Action {
	a := p.Publish(id).(*action)
	props := a.input["properties"].(map[string]any)
	for k, v := range inputs {
		props[k] = v
	}
	outProps := a.output["properties"].(map[string]any)
	for k, v := range outputs {
		outProps[k] = v
	}
	if after != nil {
		run := a.run
		a.run = func(ctx context.Context, ac *scaffold.ActionContext) error {
			if err := run(ctx, ac); err != nil {
				return err
			}
			name, err := target(ac)
			if err != nil {
				return err
			}
			after(ac, name)
			return nil
		}
	}
	return a
}

// Bitbucket is publish:bitbucket, publish:bitbucketCloud or publish:bitbucketServer (id says which).
func (p *Publisher) Bitbucket(id string) scaffold.Action {
	return p.publishVia(id, map[string]any{
		"repoUrl":    str("bitbucket.org?workspace=WORKSPACE&project=PROJECT&repo=REPO, or host?owner=OWNER&repo=REPO (every host publishes to goldenpath's forge)"),
		"enableLFS":  boolean("Enable LFS (recorded; the forge stores files in git)"),
		"signCommit": boolean("Sign the commit (recorded; the forge does not sign commits)"),
	}, nil, nil)
}

// Azure is publish:azure.
func (p *Publisher) Azure() scaffold.Action {
	return p.publishVia("publish:azure", map[string]any{
		"repoUrl": str("dev.azure.com?organization=ORG&project=PROJECT&repo=REPO (the organization is the owner in goldenpath's forge)"),
	}, map[string]any{"repositoryId": str("The repository's ID (its owner/name in the forge)")}, func(ac *scaffold.ActionContext, repo string) {
		ac.Output("repositoryId", repo)
	})
}

// RepoCreate is github:repo:create: the repository, holding one empty commit, ready for github:repo:push.
func (p *Publisher) RepoCreate() scaffold.Action {
	in := publishInput()
	props := in["properties"].(map[string]any)
	for k, v := range map[string]any{
		"homepageUrl":                  str("Homepage (recorded)"),
		"access":                       str("Owning team or user (recorded: the repository belongs to its owner)"),
		"requireCodeOwnerReviews":      boolean("Recorded: goldenpath's change requests need approvals"),
		"requiredApprovingReviewCount": num("Recorded"),
		"requiredStatusCheckContexts":  strs("Recorded"),
		"deleteBranchOnMerge":          boolean("Recorded"),
		"allowMergeCommit":             boolean("Recorded"),
		"allowSquashMerge":             boolean("Recorded"),
		"allowRebaseMerge":             boolean("Recorded"),
		"allowAutoMerge":               boolean("Recorded"),
		"collaborators":                map[string]any{"type": "array", "title": "Recorded"},
		"hasProjects":                  boolean("Recorded"),
		"hasWiki":                      boolean("Recorded"),
		"hasIssues":                    boolean("Recorded"),
		"repoVariables":                map[string]any{"type": "object", "title": "Recorded (goldenpath runs no CI)"},
		"secrets":                      map[string]any{"type": "object", "title": "Refused: use a SecretRequest"},
	} {
		props[k] = v
	}
	return &action{
		id:          "github:repo:create",
		description: "Creates a repository in goldenpath's forge (holding one empty commit) for github:repo:push to fill.",
		input:       in,
		output: object(map[string]any{
			"remoteUrl":       str("Clone URL of the repository"),
			"repoContentsUrl": str("URL of the repository's contents at the default branch"),
		}),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			if s, ok := ac.Input["secrets"]; ok && s != nil {
				return fmt.Errorf("input.secrets: goldenpath runs no CI to give repository secrets to; file a SecretRequest (goldenpath:request:create)")
			}
			name, err := target(ac)
			if err != nil {
				return err
			}
			branch := ac.String("defaultBranch", "main")
			if err := p.publishEmpty(ctx, ac, name, branch); err != nil {
				return err
			}
			ac.Logf("Created repository %s", name)
			return nil
		},
	}
}
