package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/app"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/platform"
)

// The app boundary: an app is its repository, owned by the repository's owner (a team or a user). What it
// gets injected, the image repository it deploys from, its name, its logs and the registry events that move
// it are all tied to that owner. The cast is twoTeams': payments and search, each with a developer and an
// approver.

// appsProgram prints the APP_* variables it was started with, then serves /healthz on $PORT.
const appsProgram = `package main

import (
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
)

func main() {
	env := os.Environ()
	sort.Strings(env)
	for _, kv := range env {
		if strings.HasPrefix(kv, "APP_") {
			fmt.Println("env", kv)
		}
	}
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	fmt.Println("listening")
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}
`

// appsScore is a workload named name whose variables read an s3 resource's outputs (and a postgres one's
// when withDB).
func appsScore(name string, withDB bool) string {
	db, dbRes := "", ""
	if withDB {
		db = "      APP_DB_URL: postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}:${resources.db.port}/${resources.db.name}\n"
		dbRes = "  db:\n    type: postgres\n"
	}
	return "apiVersion: score.dev/v1b1\nmetadata:\n  name: " + name + "\ncontainers:\n  main:\n    image: .\n    variables:\n" +
		"      APP_S3_BUCKET: ${resources.store.bucket}\n      APP_S3_SECRET: ${resources.store.secretAccessKey}\n" + db +
		"    readinessProbe:\n      httpGet:\n        path: /healthz\n        port: 8080\n" +
		"service:\n  ports:\n    http:\n      port: 80\n      targetPort: 8080\n" +
		"resources:\n  store:\n    type: s3\n" + dbRes
}

// appsRepo creates a team's app repository, as a template's publish step would.
func appsRepo(t *testing.T, e *env, repo string) {
	t.Helper()
	createRepo(t, e, repo, map[string]string{"README.md": "# app\n"})
}

// appsPushSource commits the program and scoreYAML to a clone of repo and pushes it to main as user; it
// returns the checkout and git's output and error.
func appsPushSource(t *testing.T, e *env, user, token, repo, scoreYAML string) (string, string, error) {
	t.Helper()
	dir := clone(t, e, user, token, repo)
	commitFiles(t, dir, "main", map[string]string{"go.mod": "module example.com/app\n\ngo 1.22\n", "main.go": appsProgram, "score.yaml": scoreYAML})
	out, err := gitOut(dir, "push", "origin", "HEAD:main")
	return dir, out, err
}

// appsRun creates repo, pushes the program with scoreYAML to it as user, builds and
// deploys it with goldenpath build, and returns the logs of the app (called name) once it listens.
func appsRun(t *testing.T, e *env, user, token, repo, name, scoreYAML string) string {
	t.Helper()
	appsRepo(t, e, repo)
	src, out, err := appsPushSource(t, e, user, token, repo, scoreYAML)
	if err != nil {
		t.Fatalf("%s's push of its own app: %v\n%s", user, err, out)
	}
	if code, out, errOut := e.goldenpath(token, "build", src, "--tag", "v1"); code != 0 {
		t.Fatalf("goldenpath build as %s: exit %d\n%s\n%s", user, code, out, errOut)
	}
	return appsWaitLogs(t, e, token, name, "listening")
}

// appsWaitLogs polls an app's logs as token until they contain want, and returns them.
func appsWaitLogs(t *testing.T, e *env, token, app, want string) string {
	t.Helper()
	var r response
	if !eventually(30*time.Second, func() bool {
		r = e.call("GET", "/api/v1/apps/"+app+"/logs", token, nil)
		return r.status == 200 && bytes.Contains(r.body, []byte(want))
	}) {
		t.Fatalf("the logs of %s never showed %q: %d %s", app, want, r.status, r.body)
	}
	return string(r.body)
}

// TestAbuseAppsForeignResources: search names its app after payments' requests. The app runs, but none of
// payments' outputs (bucket, keys, database password) reach it, and `goldenpath apps` says why. payments'
// own app with its own requests still gets them, and each team reads only its own app's logs.
func TestAbuseAppsForeignResources(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("building an app needs the go command")
	}
	pg := os.Getenv("GOLDENPATH_TEST_POSTGRES_URL")
	if pg == "" && os.Getenv("CI") == "true" {
		t.Fatal("GOLDENPATH_TEST_POSTGRES_URL is not set; .ci/run starts PostgreSQL and sets it")
	}
	e := start(t, startOptions{config: func(c *app.Config) {
		c.Getenv = func(k string) string {
			if k == "GOLDENPATH_POSTGRES_URL" {
				return pg
			}
			return os.Getenv(k)
		}
	}})
	c := twoTeams(e)
	withDB := pg != ""
	sfx := suffix()
	billing, shop := "billing-"+sfx, "shop-"+sfx

	// payments' requests behind the name search is about to take, and behind payments' own app.
	var secrets []string
	for _, n := range []string{billing, shop} {
		id := fileReady(e, c.alice, c.paula, "S3Request", n, "alice", "payments", "  size: small\n")
		secrets = append(secrets, str(e.credentials(id, c.alice), "secrets", "secretAccessKey"))
		if withDB {
			db := fileReady(e, c.alice, c.paula, "RDSRequest", n, "alice", "payments", "  engine: postgres\n  size: small\n")
			secrets = append(secrets, str(e.credentials(db, c.alice), "secrets", "password"))
		}
	}
	foreign, own := secrets[:len(secrets)/2], secrets[len(secrets)/2:]
	// search files an ordinary ECRRequest for the name, and payments one for its own app.
	fileReady(e, c.seadev, c.sara, "ECRRequest", billing, "seadev", "search", "  size: small\n")
	fileReady(e, c.alice, c.paula, "ECRRequest", shop, "alice", "payments", "  size: small\n")

	// search's repository names its app like payments' requests and declares the resources.
	logs := appsRun(t, e, "seadev", c.seadev, "search/ledger", billing, appsScore(billing, withDB))
	for _, s := range foreign {
		if strings.Contains(logs, s) {
			t.Errorf("search's app %s was started with a secret of payments' request:\n%s", billing, logs)
		}
	}
	if strings.Contains(logs, "APP_S3_BUCKET="+billing) || strings.Contains(logs, "APP_S3_BUCKET=dev-"+billing) {
		t.Errorf("search's app got payments' bucket:\n%s", logs)
	}
	// The problem is reported where the developer looks: the API and `goldenpath apps`.
	view := e.must(200, "GET", "/api/v1/apps/"+billing, c.seadev, nil).body
	for _, want := range []string{"s3.dev." + billing, "payments", "search"} {
		if !bytes.Contains(view, []byte(want)) {
			t.Errorf("the app's view does not report the foreign resource (%q missing):\n%s", want, view)
		}
	}
	code, listed, errOut := e.goldenpath(c.seadev, "apps")
	if code != 0 || !strings.Contains(listed, "s3.dev."+billing) || !strings.Contains(listed, "payments") {
		t.Errorf("goldenpath apps does not report the foreign resource: exit %d\n%s%s", code, listed, errOut)
	}

	// payments' own app, named after its own requests and deploying from its own repository, gets them.
	payLogs := appsRun(t, e, "alice", c.alice, "payments/shop", shop, appsScore(shop, withDB))
	for _, s := range own {
		if !strings.Contains(payLogs, s) {
			t.Errorf("payments' own app did not get its own request's secret:\n%s", payLogs)
		}
	}

	// Logs are the owning team's (and admins'): neither team reads the other's.
	for _, tt := range []struct {
		who, token, app string
		want            int
	}{
		{"search reading payments' app", c.seadev, shop, http.StatusForbidden},
		{"search's approver reading payments' app", c.sara, shop, http.StatusForbidden},
		{"payments reading search's app", c.alice, billing, http.StatusForbidden},
		{"payments reading its own app", c.alice, shop, http.StatusOK},
		{"search reading its own app", c.seadev, billing, http.StatusOK},
		{"an admin", e.admin, shop, http.StatusOK},
	} {
		r := e.call("GET", "/api/v1/apps/"+tt.app+"/logs", tt.token, nil)
		if r.status != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.who, r.status, r.body, tt.want)
		}
		if r.status != http.StatusOK && bytes.Contains(r.body, []byte("listening")) {
			t.Errorf("%s: the refusal carries the logs: %s", tt.who, r.body)
		}
	}

	// The logs endpoint takes only an app that exists and an environment platform.yaml defines.
	for _, tt := range []struct {
		name, path string
		want       int
		mention    string
	}{
		{"traversal in the name", "/api/v1/apps/" + url.PathEscape("../../../"+billing) + "/logs", 400, "name"},
		{"traversal in the name, escaped dots", "/api/v1/apps/%2E%2E%2F%2E%2E%2Fdev%2F" + billing + "/logs", 400, "name"},
		{"traversal in env", "/api/v1/apps/" + billing + "/logs?env=" + url.QueryEscape("../dev"), 400, "env"},
		{"traversal to another app", "/api/v1/apps/" + billing + "/logs?env=" + url.QueryEscape("dev/../dev/"+shop+"/.."), 400, "env"},
		{"an environment platform.yaml does not define", "/api/v1/apps/" + billing + "/logs?env=qa", 400, "env"},
		{"an app that does not exist", "/api/v1/apps/nope-" + sfx + "/logs", 404, "nope-" + sfx},
	} {
		r := e.call("GET", tt.path, c.seadev, nil)
		if r.status != tt.want || !bytes.Contains(r.body, []byte(tt.mention)) || bytes.Contains(r.body, []byte("listening")) {
			t.Errorf("%s: %d %s, want %d naming %q", tt.name, r.status, r.body, tt.want, tt.mention)
		}
	}
}

// TestAbuseAppsNameClash: a name belongs to the repository that claimed it first. Another repository
// claiming it is refused at the push, listed as refused by `goldenpath apps`, and refused by `goldenpath
// build`; scan order does not matter, and the name is free again once the holder renames its app.
func TestAbuseAppsNameClash(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("building an app needs the go command")
	}
	e := start(t, startOptions{config: func(c *app.Config) {
		c.PlatformYAML = append(platform.DefaultYAML("goldenpathidp.io"), "delivery:\n  mode: argocd\n"...)
	}})
	c := twoTeams(e)
	ctx := context.Background()
	ledger := "ledger-" + suffix()

	// search's repository claims the name first.
	appsRepo(t, e, "search/ledger")
	if _, out, err := appsPushSource(t, e, "seadev", c.seadev, "search/ledger", appsScore(ledger, false)); err != nil {
		t.Fatalf("search's push: %v\n%s", err, out)
	}
	appsWaitApp(t, e, c.seadev, ledger, "search/ledger")

	// payments pushes the same name to its repository: refused by the push, naming the holder.
	appsRepo(t, e, "payments/ledger")
	payRepo, _ := e.app.Forge.Repo("payments/ledger")
	before, _ := payRepo.ResolveRef(ctx, "main")
	dir, out, err := appsPushSource(t, e, "alice", c.alice, "payments/ledger", appsScore(ledger, false))
	if err == nil || !strings.Contains(out, ledger) || !strings.Contains(out, "search/ledger") {
		t.Errorf("a push claiming a taken name: err=%v, want a refusal naming %s and its holder search/ledger:\n%s", err, ledger, out)
	}
	if after, _ := payRepo.ResolveRef(ctx, "main"); after != before {
		t.Errorf("the refused push moved main from %s to %s", before, after)
	}
	// A name that is a Kubernetes or platform namespace is nobody's.
	appsRepo(t, e, "search/system")
	if _, out, err := appsPushSource(t, e, "seadev", c.seadev, "search/system", appsScore("kube-system", false)); err == nil || !strings.Contains(out, "reserved") {
		t.Errorf("a push naming its app kube-system: err=%v, want a refusal saying the name is reserved:\n%s", err, out)
	}
	// A push elsewhere (a branch) is not an app and is not refused.
	if out, err := gitOut(dir, "push", "origin", "HEAD:refs/heads/wip"); err != nil {
		t.Errorf("pushing a branch with the same score.yaml: %v\n%s", err, out)
	}

	// The name reaches main another way (a commit without a push): payments' repository sorts before
	// search's, yet search keeps the name, and payments' repository is listed as refused, with the reason.
	head, _ := payRepo.ResolveRef(ctx, "main")
	wip, _ := payRepo.ResolveRef(ctx, "wip")
	score, _ := payRepo.ReadFile(ctx, wip, "score.yaml")
	if _, err := payRepo.Commit(ctx, forge.CommitOptions{Branch: "main", Parent: head, Message: "merge wip", Author: forge.Signature{Name: "alice", Email: "alice@example.com"},
		Changes: []forge.Change{{Path: "score.yaml", Content: score}}}); err != nil {
		t.Fatal(err)
	}
	e.app.KickEdge()
	var code int
	var listed, errOut string
	if !eventually(15*time.Second, func() bool {
		code, listed, errOut = e.goldenpath(c.alice, "apps")
		return code == 0 && strings.Contains(listed, "payments/ledger") && strings.Contains(listed, "refused") && strings.Contains(listed, "search/ledger")
	}) {
		t.Fatalf("goldenpath apps never listed payments/ledger as refused: exit %d\n%s%s", code, listed, errOut)
	}
	appsWaitApp(t, e, c.alice, ledger, "search/ledger")
	var apps []map[string]any
	e.must(200, "GET", "/api/v1/apps", c.alice, nil).json(t, &apps)
	for _, a := range apps {
		if a["repo"] == "payments/ledger" && len(fmt.Sprint(a["environments"])) > len("[]") {
			t.Errorf("the refused repository got environments: %v", a)
		}
	}

	// goldenpath build from payments' checkout fails naming the clash, before pushing anything.
	// payments even owns the image repository of that name; the name is still search's.
	fileReady(e, c.alice, c.paula, "ECRRequest", ledger, "alice", "payments", "  size: small\n")
	code, bout, berr := e.goldenpath(c.alice, "build", dir, "--tag", "v1", "--wait", "0")
	if code == 0 || !strings.Contains(berr, ledger) || !strings.Contains(berr, "search/ledger") {
		t.Errorf("goldenpath build of a refused app: exit %d, want a failure naming %s and search/ledger\n%s\n%s", code, ledger, bout, berr)
	}
	if strings.Contains(bout, "pushed") {
		t.Errorf("goldenpath build of a refused app pushed an image:\n%s", bout)
	}

	// Once search renames its app, the name is released and payments' repository gets it.
	src := clone(t, e, "seadev", c.seadev, "search/ledger")
	raw, _ := os.ReadFile(filepath.Join(src, "score.yaml"))
	os.WriteFile(filepath.Join(src, "score.yaml"), bytes.Replace(raw, []byte("name: "+ledger), []byte("name: renamed-"+ledger), 1), 0o644)
	if out, err := gitOut(src, "commit", "-qam", "rename"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := gitOut(src, "push", "origin", "HEAD:main"); err != nil {
		t.Fatalf("renaming search's app: %v\n%s", err, out)
	}
	appsWaitApp(t, e, c.alice, ledger, "payments/ledger")
	appsWaitApp(t, e, c.seadev, "renamed-"+ledger, "search/ledger")
}

// appsWaitApp waits until GET /api/v1/apps/<name> answers with repo as the app's repository.
func appsWaitApp(t *testing.T, e *env, token, name, repo string) {
	t.Helper()
	var r response
	if !eventually(15*time.Second, func() bool {
		r = e.call("GET", "/api/v1/apps/"+name, token, nil)
		return r.status == 200 && r.field(t, "repo") == repo
	}) {
		t.Fatalf("app %s is not %s's: %d %s", name, repo, r.status, r.body)
	}
}

// appsWebhook posts a distribution notification for repo:tag@digest with header set.
func appsWebhook(t *testing.T, e *env, repo, tag, digest string, header map[string]string) (int, string) {
	t.Helper()
	host := strings.TrimPrefix(e.app.URL(), "http://")
	body := `{"events": [{"action": "push", "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "repository": "` + repo +
		`", "digest": "` + digest + `", "tag": "` + tag + `"}, "request": {"host": "` + host + `"}}]}`
	req, _ := http.NewRequest(http.MethodPost, e.app.URL()+"/webhooks/registry", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		if v == "sign" {
			m := hmac.New(sha256.New, []byte(appsHookSecret))
			m.Write([]byte(body))
			v = "sha256=" + hex.EncodeToString(m.Sum(nil))
		}
		req.Header.Set(k, v)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

const appsHookSecret = "hook-s3cret-for-tests"

// TestAbuseAppsWebhooks: with a webhook secret, anonymous and wrongly signed events are refused; an event
// naming a tag the registry does not have, or a digest the tag does not point at, commits nothing; a real
// push still deploys.
func TestAbuseAppsWebhooks(t *testing.T) {
	e := start(t, startOptions{config: func(c *app.Config) {
		c.PlatformYAML = append(platform.DefaultYAML("goldenpathidp.io"), "delivery:\n  mode: argocd\n"...)
		c.Getenv = func(k string) string {
			if k == "GOLDENPATH_WEBHOOK_SECRET" {
				return appsHookSecret
			}
			return os.Getenv(k)
		}
	}})
	c := twoTeams(e)
	ctx := context.Background()
	hooked := "hooked-" + suffix()
	fileReady(e, c.alice, c.paula, "ECRRequest", hooked, "alice", "payments", "  size: small\n")
	createRepo(t, e, "payments/hooked", map[string]string{"score.yaml": "apiVersion: score.dev/v1b1\nmetadata:\n  name: " + hooked + "\ncontainers:\n  main:\n    image: .\n"})
	e.app.KickEdge()
	appsWaitApp(t, e, c.alice, hooked, "payments/hooked")
	base := time.Now().Add(-time.Hour)
	v1Digest := pushImage(t, e, "alice", c.alice, "dev/"+hooked, "v1", base)
	kustomization := "gitops/kustomize/overlays/dev/apps/" + hooked + "/kustomization.yaml"
	waitPin(t, e, "dev", hooked, "v1")

	// Without the secret, with a wrong one, or with a wrong signature: refused, whatever the body says.
	for _, tt := range []struct {
		name   string
		header map[string]string
	}{
		{"anonymous", nil},
		{"wrong secret", map[string]string{"X-Webhook-Secret": "guess"}},
		{"wrong bearer", map[string]string{"Authorization": "Bearer guess"}},
		{"wrong signature", map[string]string{"X-Hub-Signature-256": "sha256=" + strings.Repeat("0", 64)}},
	} {
		if status, body := appsWebhook(t, e, "dev/"+hooked, "v1", v1Digest, tt.header); status != http.StatusUnauthorized {
			t.Errorf("%s webhook: %d %s, want 401", tt.name, status, body)
		}
	}

	// Authenticated events that the registry contradicts are refused and logged; nothing is committed.
	mainBefore, _ := e.app.Platform.ResolveRef(ctx, "main")
	forged := []struct {
		tag, digest, why string
		header           map[string]string
	}{
		{"zz-forged", v1Digest, "a tag the registry does not have", map[string]string{"X-Webhook-Secret": appsHookSecret}},
		{"v1", "sha256:" + strings.Repeat("1", 64), "a digest v1 does not point at", map[string]string{"X-Hub-Signature-256": "sign"}},
	}
	for _, f := range forged {
		if status, body := appsWebhook(t, e, "dev/"+hooked, f.tag, f.digest, f.header); status != http.StatusAccepted {
			t.Fatalf("signed webhook (%s): %d %s, want 202", f.why, status, body)
		}
		refused := eventually(15*time.Second, func() bool {
			if strings.Contains(e.log(), "tag="+f.tag) && strings.Contains(e.log(), "push event refused") {
				return true
			}
			if k, err := e.app.Platform.ReadFile(ctx, "main", kustomization); err != nil || !strings.Contains(string(k), "newTag: v1\n") {
				t.Fatalf("an event naming %s moved the pin (%v):\n%s", f.why, err, k)
			}
			return false
		})
		if !refused {
			t.Fatalf("the event naming %s was never refused in the log", f.why)
		}
	}
	// Nothing deployed since: no pin commit on main (the edge may commit rendered files meanwhile).
	log, _ := e.app.Platform.Log(ctx, "main", 50)
	for _, c := range log {
		if c.SHA == mainBefore {
			break
		}
		if strings.HasPrefix(c.Message, "goldenpath: deploy") {
			t.Errorf("a refused event was deployed: %s", c.Message)
		}
	}

	// A real push, announced by a signed webhook too, is deployed.
	v2Digest := pushImage(t, e, "alice", c.alice, "dev/"+hooked, "v2", base.Add(time.Minute))
	if status, body := appsWebhook(t, e, "dev/"+hooked, "v2", v2Digest, map[string]string{"X-Webhook-Secret": appsHookSecret}); status != http.StatusAccepted {
		t.Errorf("webhook with the secret: %d %s", status, body)
	}
	waitPin(t, e, "dev", hooked, "v2")
}

// appsRouted is a workload named name with one route on host.
func appsRouted(name, host string) string {
	return "apiVersion: score.dev/v1b1\nmetadata:\n  name: " + name + "\ncontainers:\n  main:\n    image: .\n" +
		"service:\n  ports:\n    http:\n      port: 80\n      targetPort: 8080\n" +
		"resources:\n  route:\n    type: route\n    params:\n      host: " + host + "\n      path: /\n      port: 80\n"
}

// TestAbuseAppsHostTakeover: search's app declares the host of payments' older app. payments keeps its
// route (and everyone else theirs); search's app is left out of the routes and reported.
func TestAbuseAppsHostTakeover(t *testing.T) {
	e := start(t, startOptions{})
	c := twoTeams(e)
	sfx := suffix()
	shop, squat, other := "shop-"+sfx, "squat-"+sfx, "other-"+sfx
	host := shop + ".dev.goldenpathidp.io"
	commit := func(repo, score string) {
		t.Helper()
		createRepo(t, e, repo, map[string]string{"score.yaml": score})
		e.app.KickEdge()
	}
	commit("payments/shop", appsRouted(shop, host))
	appsWaitApp(t, e, c.alice, shop, "payments/shop")
	commit("search/other", appsRouted(other, other+".dev.goldenpathidp.io"))
	appsWaitApp(t, e, c.seadev, other, "search/other")
	commit("search/squat", appsRouted(squat, host))
	appsWaitApp(t, e, c.seadev, squat, "search/squat")

	type edgeView struct {
		Routes   []struct{ Host, AppName string } `json:"routes"`
		Problems []string                         `json:"problems"`
	}
	var view edgeView
	if !eventually(15*time.Second, func() bool {
		view = edgeView{}
		e.must(200, "GET", "/api/v1/edge", c.seadev, nil).json(t, &view)
		return strings.Contains(strings.Join(view.Problems, "\n"), squat)
	}) {
		t.Fatalf("the host conflict was never reported against %s: %+v", squat, view)
	}
	owners := map[string][]string{}
	for _, r := range view.Routes {
		owners[r.Host] = append(owners[r.Host], r.AppName)
	}
	if got := owners[host]; len(got) != 1 || got[0] != shop {
		t.Errorf("%s is routed to %v, want payments' %s only", host, got, shop)
	}
	if got := owners[other+".dev.goldenpathidp.io"]; len(got) != 1 {
		t.Errorf("search's unrelated app lost its route to the conflict: %v", view.Routes)
	}
}
