package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/app"
	"github.com/goldenpathidp/goldenpath/internal/forge"
)

// The Score boundary: an app is its repository. A service resource points only at an app of the same
// owner, and a file or .env it reads comes from its own repository, never through a path or a symbolic
// link out of it.

// scoreRepo creates repo with files (a name ending in "@" is a symbolic link to its content) and kicks the
// edge so that goldenpath reads it now.
func scoreRepo(t *testing.T, e *env, repo string, files map[string]string) {
	t.Helper()
	var changes []forge.Change
	for p, content := range files {
		ch := forge.Change{Path: p, Content: []byte(content)}
		if link, ok := strings.CutSuffix(p, "@"); ok {
			ch.Path, ch.Mode = link, "120000"
		}
		changes = append(changes, ch)
	}
	if _, _, err := e.app.Forge.CreateRepoWithCommit(context.Background(), repo, "main", forge.CommitOptions{Message: "start",
		Author: forge.Signature{Name: "e2e", Email: "e2e@localhost"}, Changes: changes}); err != nil {
		t.Fatal(err)
	}
	e.app.KickEdge()
}

// scoreEnvOf waits until app's view as token has an environment, and returns it.
func scoreEnvOf(t *testing.T, e *env, token, name string, cond func(app.AppEnvironment) bool) app.AppEnvironment {
	t.Helper()
	var view app.AppView
	waitFor(t, 20*time.Second, "the view of "+name, func() bool {
		r := e.call("GET", "/api/v1/apps/"+name, token, nil)
		if r.status != 200 {
			return false
		}
		r.json(t, &view)
		return len(view.Environments) == 1 && cond(view.Environments[0])
	})
	return view.Environments[0]
}

// TestAbuseScoreServiceOfAnotherTeam: search's app declares a service resource pointing at payments' app.
// It is refused, naming both owners, and nothing of payments' Service is rendered into search's app;
// payments' own app pointing at the same app gets its Service.
func TestAbuseScoreServiceOfAnotherTeam(t *testing.T) {
	e := scoreArgoCD(t)
	c := twoTeams(e)
	scoreRepo(t, e, "payments/api", map[string]string{"score.yaml": strings.Replace(toolsScore, "name: tools", "name: api", 1) +
		"service:\n  ports:\n    http:\n      port: 8080\n"})
	caller := func(name string) string {
		return strings.Replace(toolsScore, "name: tools", "name: "+name, 1) + "    variables:\n      API: http://${resources.backend.name}:${resources.backend.port}\n" +
			"resources:\n  backend:\n    type: service\n    params:\n      workload: api\n"
	}
	scoreRepo(t, e, "search/probe", map[string]string{"score.yaml": caller("probe")})
	scoreRepo(t, e, "payments/client", map[string]string{"score.yaml": caller("client")})

	env := scoreEnvOf(t, e, c.seadev, "probe", func(e app.AppEnvironment) bool { return e.Blocked != "" })
	for _, want := range []string{"payments/api", "payments", "search", "same owner"} {
		if !strings.Contains(env.Blocked, want) || !strings.Contains(strings.Join(env.Problems, "\n"), want) {
			t.Errorf("search's app pointing at payments' app: the refusal does not name %q: %+v", want, env)
		}
	}
	code, out, _ := e.goldenpath(c.seadev, "apps", "show", "probe")
	if code != 0 || !strings.Contains(out, "same owner") {
		t.Errorf("goldenpath apps show probe: exit %d\n%s", code, out)
	}
	scoreSettled(t, e)
	if d := scoreOnMain(e, "gitops/kustomize/overlays/dev/apps/probe/deployment.yaml"); strings.Contains(d, "api.api.svc") || d != "" {
		t.Errorf("search's app was rendered with payments' Service:\n%s", d)
	}

	// payments' own app gets it.
	waitFile(t, e, "gitops/kustomize/overlays/dev/apps/client/deployment.yaml", "value: http://api.api.svc:8080")
}

// TestAbuseScoreFilesOutOfRepository: a file source or a .env that leaves the app's repository — by "..",
// an absolute path or a symbolic link pointing out (at another app's repository, at the server's files) —
// is refused with the path named; a link inside the repository is followed.
func TestAbuseScoreFilesOutOfRepository(t *testing.T) {
	e := scoreArgoCD(t)
	c := twoTeams(e)
	withFile := func(name, source string) string {
		return strings.Replace(toolsScore, "name: tools", "name: "+name, 1) + "    files:\n      /etc/app.conf:\n        source: " + source + "\n"
	}
	scoreRepo(t, e, "payments/vault", map[string]string{"score.yaml": toolsScore, "secret.conf": "payments-only\n"})

	// ".." and absolute paths: the score.yaml is invalid, naming the field.
	for name, source := range map[string]string{"dots": "../payments/vault/secret.conf", "abs": "/etc/passwd"} {
		scoreRepo(t, e, "search/"+name, map[string]string{"score.yaml": withFile(name, source)})
		var view app.AppView
		waitFor(t, 20*time.Second, "search/"+name+" listed as invalid", func() bool {
			r := e.call("GET", "/api/v1/apps/"+name, c.seadev, nil)
			r.json(t, &view)
			return r.status == 200 && view.Invalid != ""
		})
		if !strings.Contains(view.Invalid, "files./etc/app.conf.source") {
			t.Errorf("%s: the refusal does not name the field: %s", source, view.Invalid)
		}
	}
	// Symbolic links out of the repository: refused when rendering, naming the link.
	links := map[string]string{"peek": "../../payments/vault/secret.conf", "etc": "../../../../../../../etc/passwd"}
	for name, target := range links {
		scoreRepo(t, e, "search/"+name, map[string]string{"score.yaml": withFile(name, "conf/app.conf"), "conf/app.conf@": target})
		env := scoreEnvOf(t, e, c.seadev, name, func(e app.AppEnvironment) bool { return e.Blocked != "" })
		if !strings.Contains(env.Blocked, "outside the repository") || !strings.Contains(env.Blocked, "conf/app.conf") {
			t.Errorf("a link to %s: %+v", target, env)
		}
	}
	// An environment resource whose .env links out.
	scoreRepo(t, e, "search/envpeek", map[string]string{".env@": "../payments/vault/secret.conf",
		"score.yaml": strings.Replace(toolsScore, "name: tools", "name: envpeek", 1) + "    variables:\n      X: ${resources.env.X}\nresources:\n  env:\n    type: environment\n"})
	env := scoreEnvOf(t, e, c.seadev, "envpeek", func(e app.AppEnvironment) bool { return e.Blocked != "" })
	if !strings.Contains(env.Blocked, "outside the repository") {
		t.Errorf("a .env linking out: %+v", env)
	}
	scoreSettled(t, e)
	for _, name := range []string{"peek", "etc", "envpeek"} {
		if d := scoreOnMain(e, "gitops/kustomize/overlays/dev/apps/"+name+"/files.yaml"); d != "" {
			t.Errorf("%s was rendered with a file from outside its repository:\n%s", name, d)
		}
	}

	// A link inside the repository is followed: the owner's own file.
	scoreRepo(t, e, "search/inside", map[string]string{"score.yaml": withFile("inside", "conf/app.conf"), "conf/app.conf@": "../real/app.conf",
		"real/app.conf": "search's own\n"})
	waitFile(t, e, "gitops/kustomize/overlays/dev/apps/inside/files.yaml", "search's own")
}
