package e2e

import (
	"context"
	"html"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/app"
	"github.com/goldenpathidp/goldenpath/internal/platform"
)

// Score workloads beyond the golden-path templates: literal images, render failures the developer must
// see, Score's escape, and the Score features goldenpath provides (files from the repository, volumes,
// service and environment resources).

// scoreArgoCD starts goldenpath with delivery.mode argocd: rendering and write-back, no local runtime.
func scoreArgoCD(t *testing.T) *env {
	t.Helper()
	return start(t, startOptions{config: func(c *app.Config) {
		c.PlatformYAML = append(platform.DefaultYAML("goldenpathidp.io"), "delivery:\n  mode: argocd\n"...)
	}})
}

// scoreSettled waits until the edge loop has computed and committed twice since now, so that every render
// goldenpath was going to commit has landed.
func scoreSettled(t *testing.T, e *env) {
	t.Helper()
	for range 2 {
		before := time.Time{}
		if st := e.app.Edge(); st != nil {
			before = st.Computed
		}
		e.app.KickEdge()
		waitFor(t, 20*time.Second, "an edge sync", func() bool {
			st := e.app.Edge()
			return st != nil && st.Computed.After(before)
		})
	}
}

// scoreOnMain reads a file of the platform repository's main ("" when it is not there).
func scoreOnMain(e *env, p string) string {
	b, err := e.app.Platform.ReadFile(context.Background(), "main", p)
	if err != nil {
		return ""
	}
	return string(b)
}

const toolsScore = `apiVersion: score.dev/v1b1
metadata:
  name: tools
containers:
  main:
    image: busybox:1.36
    command: ["/bin/sh", "-c", "exec sleep 3600"]
`

// TestScoreLiteralImage: a workload whose container names its image (busybox) keeps its overlay and its
// Argo CD Application: a later render commit must not delete them. Nothing is built for it, so a build
// says so at once.
func TestScoreLiteralImage(t *testing.T) {
	e := scoreArgoCD(t)
	c := twoTeams(e)
	fileReady(e, c.alice, c.paula, "ECRRequest", "tools", "alice", "payments", "  size: small\n")
	createRepo(t, e, "payments/tools", map[string]string{"score.yaml": toolsScore})
	e.app.KickEdge()
	// A push to the app's image repository (what the issue did: it is how the old code first rendered it).
	pushImage(t, e, "alice", c.alice, "dev/tools", "v1", time.Now())
	application := "gitops/argocd/apps/dev/tools.yaml"
	deployment := "gitops/kustomize/overlays/dev/apps/tools/deployment.yaml"
	waitFor(t, 20*time.Second, "the Application of tools on main", func() bool { return scoreOnMain(e, application) != "" })
	scoreSettled(t, e)
	for _, p := range []string{application, deployment, "gitops/kustomize/overlays/dev/apps/tools/kustomization.yaml"} {
		if scoreOnMain(e, p) == "" {
			t.Errorf("%s is gone from main after a render commit", p)
		}
	}
	if d := scoreOnMain(e, deployment); !strings.Contains(d, "image: busybox:1.36") {
		t.Errorf("the Deployment does not run busybox:1.36:\n%s", d)
	}
	if k := scoreOnMain(e, "gitops/argocd/apps/dev/kustomization.yaml"); !strings.Contains(k, "tools.yaml") {
		t.Errorf("the dev Applications' kustomization does not list tools:\n%s", k)
	}
	code, out, _ := e.goldenpath(c.alice, "apps")
	if code != 0 || !strings.Contains(out, "tools") || !strings.Contains(out, "rendered") {
		t.Errorf("goldenpath apps for a literal image: exit %d\n%s", code, out)
	}
	dir := clone(t, e, "alice", c.alice, "payments/tools")
	start := time.Now()
	code, out, errOut := e.goldenpath(c.alice, "build", dir, "--tag", "v2", "--wait", "30s")
	if code == 0 || !strings.Contains(errOut+out, "builds no image") || time.Since(start) > 10*time.Second {
		t.Errorf("goldenpath build of an app with only literal images: exit %d in %s\n%s%s", code, time.Since(start), out, errOut)
	}
}

const shopProgram = `package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	fmt.Println("listening")
	http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil)
}
`

func shopScore(name string) string {
	return "apiVersion: score.dev/v1b1\nmetadata:\n  name: " + name + "\ncontainers:\n  main:\n    image: .\n    variables:\n" +
		"      BUCKET: ${resources.store.bucket}\nservice:\n  ports:\n    http:\n      port: 8080\nresources:\n  store:\n    type: s3\n"
}

// TestScoreRenderFailures: what keeps an app from being rendered is shown where the developer looks —
// goldenpath apps, apps show, the deployments, and goldenpath build, which stops before compiling — never
// only in the server's log. An invalid score.yaml keeps the app listed, as invalid.
func TestScoreRenderFailures(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("building an app needs the go command")
	}
	e := scoreArgoCD(t)
	c := twoTeams(e)
	fileReady(e, c.alice, c.paula, "ECRRequest", "shop", "alice", "payments", "  size: small\n")
	appsRepo(t, e, "payments/shop")
	dir, out, err := appsPushSource(t, e, "alice", c.alice, "payments/shop", shopScore("shop"))
	if err != nil {
		t.Fatalf("pushing the app: %v\n%s", err, out)
	}
	// Its S3Request does not exist yet.
	waitFor(t, 20*time.Second, "goldenpath apps to list shop", func() bool {
		_, out, _ := e.goldenpath(c.alice, "apps")
		return strings.Contains(out, "shop")
	})
	code, listed, _ := e.goldenpath(c.alice, "apps")
	if code != 0 || !strings.Contains(listed, "blocked") || !strings.Contains(listed, "s3.dev.shop") {
		t.Errorf("goldenpath apps does not show why shop cannot be rendered: exit %d\n%s", code, listed)
	}
	code, shown, _ := e.goldenpath(c.alice, "apps", "show", "shop")
	if code != 0 || !strings.Contains(shown, "there is no request s3.dev.shop") || strings.Contains(shown, "no image pushed yet") {
		t.Errorf("goldenpath apps show does not say why shop cannot be rendered: exit %d\n%s", code, shown)
	}
	scorePortalShows(t, e, c.alice, "shop", "there is no request s3.dev.shop")
	start := time.Now()
	code, out, errOut := e.goldenpath(c.alice, "build", dir, "--tag", "v1", "--wait", "60s")
	if code == 0 || !strings.Contains(out+errOut, "s3.dev.shop") || strings.Contains(out+errOut, "pushed ") || time.Since(start) > 15*time.Second {
		t.Errorf("goldenpath build of an app that cannot be rendered: exit %d in %s\n%s%s", code, time.Since(start), out, errOut)
	}
	// An image pushed anyway: the failure is a deployment, with the reason.
	pushImage(t, e, "alice", c.alice, "dev/shop", "v1", time.Now())
	var ds []app.Deployment
	waitFor(t, 20*time.Second, "a failed deployment of shop:v1", func() bool {
		e.must(200, "GET", "/api/v1/deployments?app=shop", c.alice, nil).json(t, &ds)
		return len(ds) > 0 && ds[0].Status == "failed" && strings.Contains(ds[0].Message, "s3.dev.shop")
	})
	var view app.AppView
	e.must(200, "GET", "/api/v1/apps/shop", c.seadev, nil).json(t, &view)
	if len(view.Environments) != 1 || view.Environments[0].Status != "failed" || !strings.Contains(strings.Join(view.Environments[0].Problems, " "), "s3.dev.shop") {
		t.Errorf("shop's view after the failed deployment: %+v", view)
	}

	// The request filed and Ready: the next push deploys.
	fileReady(e, c.alice, c.paula, "S3Request", "shop", "alice", "payments", "  size: small\n")
	pushImage(t, e, "alice", c.alice, "dev/shop", "v2", time.Now().Add(time.Minute))
	waitPin(t, e, "dev", "shop", "v2")

	// An invalid score.yaml: shop stays listed, as invalid, and what was rendered for it stays.
	commitFiles(t, dir, "main", map[string]string{"score.yaml": strings.Replace(shopScore("shop"), "    image: .\n", "    image: .\n    colour: blue\n", 1)})
	if out, err := gitOut(dir, "push", "origin", "HEAD:main"); err != nil {
		t.Fatalf("pushing an invalid score.yaml: %v\n%s", err, out)
	}
	scoreSettled(t, e)
	code, listed, _ = e.goldenpath(c.alice, "apps")
	if code != 0 || !strings.Contains(listed, "invalid") || !strings.Contains(listed, "colour") {
		t.Errorf("goldenpath apps after an invalid score.yaml: exit %d\n%s", code, listed)
	}
	code, shown, _ = e.goldenpath(c.alice, "apps", "show", "shop")
	if code != 0 || !strings.Contains(shown, "invalid") || !strings.Contains(shown, "colour") {
		t.Errorf("goldenpath apps show after an invalid score.yaml: exit %d\n%s", code, shown)
	}
	scorePortalShows(t, e, c.alice, "shop", "invalid", "colour")
	if scoreOnMain(e, "gitops/argocd/apps/dev/shop.yaml") == "" || !strings.Contains(scoreOnMain(e, "gitops/kustomize/overlays/dev/apps/shop/kustomization.yaml"), "newTag: v2") {
		t.Error("an invalid score.yaml took shop's rendered files off main: Argo CD would undeploy it")
	}
	code, out, errOut = e.goldenpath(c.alice, "build", dir, "--app", "shop", "--tag", "v3")
	if code == 0 || !strings.Contains(out+errOut, "invalid") || strings.Contains(out+errOut, "pushed ") {
		t.Errorf("goldenpath build of an app whose score.yaml on main is invalid: exit %d\n%s%s", code, out, errOut)
	}
}

// TestScoreRenderNotReady: a postgres resource whose RDSRequest is filed but not approved yet. The app is
// shown as blocked, with the request and its phase, by goldenpath apps, apps show, the portal and the build;
// once the request is Ready, a push deploys.
func TestScoreRenderNotReady(t *testing.T) {
	pg := os.Getenv("GOLDENPATH_TEST_POSTGRES_URL")
	e := start(t, startOptions{config: func(c *app.Config) {
		c.PlatformYAML = append(platform.DefaultYAML("goldenpathidp.io"), "delivery:\n  mode: argocd\n"...)
		c.Getenv = func(k string) string {
			if k == "GOLDENPATH_POSTGRES_URL" {
				return pg
			}
			return os.Getenv(k)
		}
	}})
	c := twoTeams(e)
	n := "ledger-" + suffix() // the PostgreSQL server outlives the test: a database and role of its own
	fileReady(e, c.alice, c.paula, "ECRRequest", n, "alice", "payments", "  size: small\n")
	change := e.file(c.alice, contractDoc("RDSRequest", n, "alice", "payments", "dev", "  engine: postgres\n  size: small\n"))
	score := "apiVersion: score.dev/v1b1\nmetadata:\n  name: " + n + "\ncontainers:\n  main:\n    image: .\n    variables:\n" +
		"      DB_HOST: ${resources.db.host}\n      DB_PASSWORD: ${resources.db.password}\nresources:\n  db:\n    type: postgres\n"
	createRepo(t, e, "payments/"+n, map[string]string{"score.yaml": score})
	e.app.KickEdge()
	why := "request rds.dev." + n + " is Pending, not Ready yet"
	waitFor(t, 20*time.Second, "goldenpath apps to show why "+n+" is blocked", func() bool {
		_, out, _ := e.goldenpath(c.alice, "apps")
		return strings.Contains(out, n) && strings.Contains(out, "blocked")
	})
	code, shown, _ := e.goldenpath(c.alice, "apps", "show", n)
	if code != 0 || !strings.Contains(shown, why) || strings.Contains(shown, "no image pushed yet") {
		t.Errorf("goldenpath apps show does not say why %s cannot be rendered: exit %d\n%s", n, code, shown)
	}
	scorePortalShows(t, e, c.alice, n, why)
	pushImage(t, e, "alice", c.alice, "dev/"+n, "v1", time.Now())
	var ds []app.Deployment
	waitFor(t, 20*time.Second, "a failed deployment of "+n+":v1", func() bool {
		e.must(200, "GET", "/api/v1/deployments?app="+n, c.alice, nil).json(t, &ds)
		return len(ds) > 0 && ds[0].Status == "failed" && strings.Contains(ds[0].Message, why)
	})
	if scoreOnMain(e, "gitops/argocd/apps/dev/"+n+".yaml") != "" {
		t.Errorf("%s was rendered before its database was Ready", n)
	}

	if pg == "" {
		t.Skip("GOLDENPATH_TEST_POSTGRES_URL is not set: the database cannot be made Ready (scripts/test-postgres.sh starts a server)")
	}
	e.approveAndMerge(change, c.paula)
	e.waitPhase("rds.dev."+n, "Ready", 30*time.Second)
	pushImage(t, e, "alice", c.alice, "dev/"+n, "v2", time.Now().Add(time.Minute))
	waitPin(t, e, "dev", n, "v2")
	if dep := scoreOnMain(e, "gitops/kustomize/overlays/dev/apps/"+n+"/deployment.yaml"); !strings.Contains(dep, "secretKeyRef") {
		t.Errorf("%s's Deployment does not take its password from a Secret:\n%s", n, dep)
	}
}

// scorePortalShows checks that the portal's app page, and its list of apps, show each of wants for app (as
// HTML escapes it).
func scorePortalShows(t *testing.T, e *env, token, app string, wants ...string) {
	t.Helper()
	b := portalAs(t, e, token)
	for _, page := range []string{"/apps/" + app, "/apps"} {
		status, _, body := b.do("GET", page, nil)
		text := html.UnescapeString(body)
		for _, want := range wants {
			if status != http.StatusOK || !strings.Contains(text, want) {
				t.Errorf("the portal's %s does not show %q: %d\n%s", page, want, status, body)
			}
		}
	}
}

// TestScoreEscapeLocal: Score's "$${x}" is the text "${x}" in the local runtime too, as in the manifests.
func TestScoreEscapeLocal(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("building an app needs the go command")
	}
	e := start(t, startOptions{})
	c := twoTeams(e)
	fileReady(e, c.alice, c.paula, "ECRRequest", "echo", "alice", "payments", "  size: small\n")
	score := "apiVersion: score.dev/v1b1\nmetadata:\n  name: echo\n  team: payments\ncontainers:\n  main:\n    image: .\n    variables:\n" +
		"      APP_LITERAL: $${HOME}/cache\n      APP_DOLLARS: cost $$5\n      APP_NAME: ${metadata.name}\n      APP_TEAM: ${metadata.team}\n" +
		"    readinessProbe:\n      httpGet:\n        path: /healthz\n        port: 8080\n"
	logs := appsRun(t, e, "alice", c.alice, "payments/echo", "echo", score)
	for _, want := range []string{"APP_LITERAL=${HOME}/cache", "APP_DOLLARS=cost $5", "APP_NAME=echo", "APP_TEAM=payments"} {
		if !strings.Contains(logs, "env "+want+"\n") {
			t.Errorf("the local process was not started with %s:\n%s", want, logs)
		}
	}
}

// scoreFeatures is a workload using what Score offers beyond the templates: a file from the repository, a
// volume shared by two containers, another app's Service and the environment's values.
const scoreFeatures = `apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: .
    variables:
      API_URL: http://${resources.api.name}:${resources.api.port}/v1
      LOG_LEVEL: ${resources.env.LOG_LEVEL}
    files:
      /etc/web/app.conf:
        source: conf/app.conf
    volumes:
      /cache:
        source: ${resources.cache}
  sidecar:
    image: busybox:1.36
    volumes:
      /cache:
        source: ${resources.cache}
        readOnly: true
resources:
  api:
    type: service
  cache:
    type: volume
  env:
    type: environment
`

// TestScoreFeatures renders files, volumes, a service resource and the environment resource into the
// app's overlay.
func TestScoreFeatures(t *testing.T) {
	e := scoreArgoCD(t)
	c := twoTeams(e)
	for _, n := range []string{"web", "api"} {
		fileReady(e, c.alice, c.paula, "ECRRequest", n, "alice", "payments", "  size: small\n")
	}
	createRepo(t, e, "payments/api", map[string]string{"score.yaml": strings.Replace(toolsScore, "name: tools", "name: api", 1) +
		"service:\n  ports:\n    http:\n      port: 8080\n      targetPort: 3000\n"})
	createRepo(t, e, "payments/web", map[string]string{"score.yaml": scoreFeatures, "conf/app.conf": "name = ${metadata.name}\n",
		".env": "LOG_LEVEL=info\n", ".env.dev": "LOG_LEVEL=debug\n"})
	e.app.KickEdge()
	pushImage(t, e, "alice", c.alice, "dev/web", "v1", time.Now())
	waitPin(t, e, "dev", "web", "v1")
	dep := scoreOnMain(e, "gitops/kustomize/overlays/dev/apps/web/deployment.yaml")
	files := scoreOnMain(e, "gitops/kustomize/overlays/dev/apps/web/files.yaml")
	for _, want := range []string{"value: http://api.api.svc:8080/v1", "value: debug", "mountPath: /cache", "name: vol-cache", "mountPath: /etc/web/app.conf"} {
		if !strings.Contains(dep, want) {
			t.Errorf("web's Deployment lacks %q:\n%s", want, dep)
		}
	}
	if !strings.Contains(files, "name = web") {
		t.Errorf("web's files lack conf/app.conf, expanded:\n%s", files)
	}
	var view app.AppView
	e.must(200, "GET", "/api/v1/apps/web", c.alice, nil).json(t, &view)
	if len(view.Environments) != 1 || len(view.Environments[0].Problems) != 0 || view.Environments[0].Status != "pinned" {
		t.Errorf("web's view: %+v", view)
	}
}
