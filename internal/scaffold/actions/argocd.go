package actions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"go.yaml.in/yaml/v3"
)

// argocd:create-resources, mapped onto goldenpath's delivery. Roadie's action creates an Argo CD project and
// an Application watching a repository path on an Argo CD instance. In goldenpath an app is a repository with
// a score.yaml, and goldenpath renders its Argo CD Application (gitops/argocd/apps/<env>/<app>.yaml) and
// overlay for every environment the score.yaml's goldenpath.io/environments annotation lists. So:
//   - repoUrl names the app's repository (a forge clone URL, a bare repository URL, or host?owner=&repo=);
//   - argoInstance is the environment (one platform.yaml defines);
//   - appName must be the app's Score name (metadata.name), which names its Application;
//   - the environment is added to the annotation by a commit to the repository's main, as the task's user
//     (who must be allowed to push to it), and delivery renders the Application at once.
//
// namespace, path, labelValue and projectName have no say in goldenpath (the app runs in its own namespace,
// from the overlay goldenpath renders, in goldenpath's project); they are reported in the task log.

// annotationEnvironments is the score.yaml annotation listing an app's environments (app.AnnotationEnvironments).
const annotationEnvironments = "goldenpath.io/environments"

// ArgoCD is argocd:create-resources; environments lists the environments platform.yaml defines.
func (p *Publisher) ArgoCD(environments func(ctx context.Context) ([]string, error)) scaffold.Action {
	return &action{
		id:          "argocd:create-resources",
		description: "Delivers an app (a repository with a score.yaml) to an environment: goldenpath renders its Argo CD Application and overlay there.",
		input: object(map[string]any{
			"appName":      str("The name of the app as it will show up in Argo CD (the score.yaml's metadata.name)"),
			"argoInstance": str("The Argo CD instance to deploy to: an environment of platform.yaml (dev, prod, ...)"),
			"namespace":    str("The namespace Argo CD will target (goldenpath: the app's own namespace, its name)"),
			"repoUrl":      str("The app's repository: a clone URL, a repository URL or host?owner=OWNER&repo=REPO"),
			"path":         str("The path Argo CD watches (goldenpath: the overlay it renders for the app)"),
			"labelValue":   str("The label Backstage uses to find applications in Argo CD (recorded)"),
			"projectName":  str("The Argo CD project (recorded; default the app name)"),
		}, "appName", "argoInstance", "namespace", "repoUrl", "path"),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			return p.argoCD(ctx, ac, environments)
		},
	}
}

func (p *Publisher) argoCD(ctx context.Context, ac *scaffold.ActionContext, environments func(ctx context.Context) ([]string, error)) error {
	name, err := forgeRepoOf(ac, "repoUrl")
	if err != nil {
		return err
	}
	app, env := ac.String("appName", ""), ac.String("argoInstance", "")
	if environments != nil {
		envs, err := environments(ctx)
		if err != nil {
			return err
		}
		if !slices.Contains(envs, env) {
			return fmt.Errorf("input.argoInstance: %q is not an environment of platform.yaml (%s); goldenpath's Argo CD instances are its environments", env, strings.Join(envs, ", "))
		}
	}
	if ns := ac.String("namespace", ""); ns != app {
		ac.Logf("namespace %q: goldenpath deploys %s into its own namespace, %q", ns, app, app)
	}
	ac.Logf("Argo CD project %q, label %q and path %q recorded: goldenpath renders the Application (gitops/argocd/apps/%s/%s.yaml) from score.yaml",
		ac.String("projectName", app), ac.String("labelValue", app), ac.String("path", ""), env, app)
	if ac.DryRun {
		ac.Logf("Dry run: would deliver %s (%s) to %s", app, name, env)
		return nil
	}
	repo, err := p.Forge.Repo(name)
	if err != nil {
		return fmt.Errorf("input.repoUrl: repository %s does not exist (publish it first)", name)
	}
	for attempt := 0; ; attempt++ {
		done, err := p.addEnvironment(ctx, ac, repo, app, env)
		if errors.Is(err, forge.ErrConflict) && attempt < 5 {
			continue // main moved meanwhile: read it again
		}
		if err != nil {
			return err
		}
		if done {
			ac.Logf("%s is delivered to %s: goldenpath renders its Argo CD Application and overlay", app, env)
			p.published(ctx, name)
		}
		return nil
	}
}

// addEnvironment adds env to score.yaml's environments annotation on main; false when it was there.
func (p *Publisher) addEnvironment(ctx context.Context, ac *scaffold.ActionContext, repo *forge.Repo, app, env string) (bool, error) {
	tip, err := repo.ResolveRef(ctx, "main")
	if err != nil {
		return false, fmt.Errorf("repository %s has no main branch: %w", repo.Name(), err)
	}
	raw, err := repo.ReadFile(ctx, tip, "score.yaml")
	if err != nil {
		return false, fmt.Errorf("repository %s has no score.yaml on main, so it is no app goldenpath delivers: %w", repo.Name(), err)
	}
	out, changed, err := withEnvironment(raw, app, env)
	if err != nil {
		return false, fmt.Errorf("%s's score.yaml: %w", repo.Name(), err)
	}
	if !changed {
		ac.Logf("%s is delivered to %s already", app, env)
		return false, nil
	}
	_, err = repo.Commit(ctx, forge.CommitOptions{Branch: "main", Parent: tip, Author: author(ac),
		Message: commitMessage(ac, fmt.Sprintf("deliver %s to %s (argocd:create-resources)", app, env)),
		Changes: []forge.Change{{Path: "score.yaml", Content: out}}})
	return err == nil, err
}

// withEnvironment returns score.yaml with env in its environments annotation (default: dev), comments and
// layout kept; changed is false when env is listed already. The workload must be the app named app.
func withEnvironment(raw []byte, app, env string) ([]byte, bool, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, false, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, false, errors.New("not a Score workload")
	}
	meta := mappingValue(doc.Content[0], "metadata")
	if meta == nil || meta.Kind != yaml.MappingNode {
		return nil, false, errors.New("metadata is missing")
	}
	if n := mappingValue(meta, "name"); n == nil || n.Value != app {
		got := ""
		if n != nil {
			got = n.Value
		}
		return nil, false, fmt.Errorf("input.appName %q: the workload is named %q, and goldenpath names an app's Application after it", app, got)
	}
	ann := mappingValue(meta, "annotations")
	if ann == nil {
		ann = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		meta.Content = append(meta.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "annotations"}, ann)
	}
	cur := mappingValue(ann, annotationEnvironments)
	envs := []string{"dev"}
	if cur != nil && strings.TrimSpace(cur.Value) != "" {
		envs = nil
		for _, e := range strings.Split(cur.Value, ",") {
			envs = append(envs, strings.TrimSpace(e))
		}
	}
	if slices.Contains(envs, env) {
		return raw, false, nil
	}
	envs = append(envs, env)
	if cur == nil {
		cur = &yaml.Node{Kind: yaml.ScalarNode}
		ann.Content = append(ann.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: annotationEnvironments}, cur)
	}
	cur.Kind, cur.Tag, cur.Style, cur.Value = yaml.ScalarNode, "!!str", 0, strings.Join(envs, ",")
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, false, err
	}
	return b.Bytes(), true, enc.Close()
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// forgeRepoOf reads a repository input: host?owner=&repo=, a forge clone or browse URL (…/git/owner/repo.git),
// or a bare repository URL (https://host/owner/repo), and checks the task's user may push to it.
func forgeRepoOf(ac *scaffold.ActionContext, input string) (string, error) {
	raw := ac.String(input, "")
	if !strings.Contains(raw, "://") {
		return repoTarget(ac, input)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("input.%s: %w", input, err)
	}
	p := strings.Trim(u.Path, "/")
	if _, after, ok := strings.Cut(p, "git/"); ok && strings.HasPrefix(p, "git/") {
		p = after
	}
	if i := strings.Index(p, "/blob/"); i >= 0 {
		p = p[:i]
	}
	p = strings.TrimSuffix(p, ".git")
	owner, repo, ok := strings.Cut(p, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return "", fmt.Errorf("input.%s: %q names no repository (want http://<goldenpath>/git/OWNER/REPO.git or host?owner=OWNER&repo=REPO)", input, raw)
	}
	c := *ac
	c.Input = map[string]any{input: u.Host + "?owner=" + url.QueryEscape(owner) + "&repo=" + url.QueryEscape(repo)}
	return repoTarget(&c, input)
}
