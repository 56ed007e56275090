package actions

import (
	"context"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
)

// Deps are what the built-in actions use.
type Deps struct {
	Engine    *expr.Engine
	Remote    Remote
	Catalog   Catalog
	Publisher *Publisher
	Requests  Requests
	MaxWait   time.Duration // debug:wait cap; default 10s
	API       API           // goldenpath's own API, for http:backstage:request
	// Environments lists platform.yaml's environments (argocd:create-resources' instances).
	Environments func(ctx context.Context) ([]string, error)
}

// All returns every built-in action.
func All(d Deps) []scaffold.Action {
	if d.MaxWait == 0 {
		d.MaxWait = 10 * time.Second
	}
	return []scaffold.Action{
		FetchTemplate(d.Engine, d.Remote), FetchPlain(d.Remote), FetchPlainFile(d.Remote),
		FsDelete(), FsRename(), FsReaddir(), DebugLog(), DebugWait(d.MaxWait),
		CatalogWrite(), CatalogRegister(d.Catalog), CatalogFetch(d.Catalog),
		d.Publisher.Publish("publish:github"), d.Publisher.Publish("publish:gitea"),
		d.Publisher.RepoPush(), d.Publisher.PullRequest(),
		ActionsDispatch(d.Requests), RequestCreate(d.Requests),
		RoadieWrite(), RoadieAppend(), RoadieParse(), RoadieReplace(), RoadieMerge(), RoadieJSONMerge(),
		RoadieSerializeJSON(), RoadieSerializeYAML(), RoadieZip(), RoadieSleep(d.MaxWait),
		RoadieJSONata(), RoadieJSONataJSON(), RoadieJSONataYAML(),
		CatalogTimestamping(nil), CatalogScaffoldedFrom(), CatalogAnnotate(),
		d.Publisher.GitLab(), d.Publisher.GitLabMergeRequest(), GitLabGroupEnsureExists(),
		BackstageRequest(d.API), d.Publisher.ArgoCD(d.Environments),
		Cookiecutter(d.Engine, d.Remote),
		d.Publisher.Bitbucket("publish:bitbucket"), d.Publisher.Bitbucket("publish:bitbucketCloud"),
		d.Publisher.Bitbucket("publish:bitbucketServer"), d.Publisher.Azure(), d.Publisher.RepoCreate(),
	}
}
