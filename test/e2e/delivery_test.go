package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"sync"

	"github.com/goldenpathidp/goldenpath/internal/app"
	"github.com/goldenpathidp/goldenpath/internal/cli"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/kubetest"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// scaffoldApp runs app-template for name as alice, merges the registry's change request and waits for the
// dev/<name> repository to be Ready.
func scaffoldApp(t *testing.T, e *env, tm team, name string) {
	t.Helper()
	id := e.task(tm.alice, "app-template", map[string]any{"name": name, "owner": "group:default/payments", "registry": true,
		"repoUrl": "goldenpath?owner=payments&repo=" + name}, nil)
	status, evs := e.waitTask(tm.alice, id, 30*time.Second)
	if status != "completed" {
		t.Fatalf("app-template: %s\n%s", status, messages(evs))
	}
	var task struct {
		State struct {
			Steps []struct {
				ID     string         `json:"id"`
				Output map[string]any `json:"output"`
			} `json:"steps"`
		} `json:"state"`
	}
	e.must(200, "GET", "/api/scaffolder/v2/tasks/"+id, tm.alice, nil).json(t, &task)
	var n float64
	for _, s := range task.State.Steps {
		if s.ID == "registry" {
			n, _ = s.Output["changeNumber"].(float64)
		}
	}
	if n == 0 {
		t.Fatalf("the registry step opened no change request: %+v", task.State.Steps)
	}
	e.approveAndMerge(int64(n), tm.bob)
	e.waitPhase("ecr.dev."+name, "Ready", 15*time.Second)
}

// clone checks an app repository out over git's smart HTTP.
func clone(t *testing.T, e *env, user, token, repo string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "src")
	u, _ := url.Parse(e.app.URL() + "/git/" + repo + ".git")
	u.User = url.UserPassword(user, token)
	out, err := exec.Command("git", "clone", "-q", u.String(), dir).CombinedOutput()
	if err != nil {
		t.Fatalf("git clone %s: %v\n%s", repo, err, out)
	}
	return dir
}

// goldenpath runs the CLI in-process against e and returns its exit code, stdout and stderr.
func (e *env) goldenpath(token string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string {
		switch k {
		case "GOLDENPATH_SERVER":
			return e.app.URL()
		case "GOLDENPATH_TOKEN":
			return token
		}
		return ""
	}
	code := cli.Run(context.Background(), args, cli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: getenv})
	return code, stdout.String(), stderr.String()
}

// getVia GETs url through client, returning the status and body (0 and the error text on failure).
func getVia(client *http.Client, u string) (int, string) {
	resp, err := client.Get(u)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDeliveryLocal is the inner loop: scaffold an app, build and push v1, and the app answers at its
// https://<app>.dev.<domain> through the dev gateway; v2 replaces it; a build that does not compile and
// an image that crashes leave the running version alone.
func TestDeliveryLocal(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("building an app needs the go command")
	}
	e := start(t, startOptions{})
	tm := cast(e)
	scaffoldApp(t, e, tm, "orders")

	var apps []app.AppView
	e.must(200, "GET", "/api/v1/apps", tm.alice, nil).json(t, &apps)
	if len(apps) != 1 || apps[0].Name != "orders" || len(apps[0].Environments) != 1 || apps[0].Environments[0].Status != "not-deployed" {
		t.Fatalf("apps before the first image: %+v", apps)
	}

	src := clone(t, e, "alice", tm.alice, "payments/orders")
	code, out, errOut := e.goldenpath(tm.alice, "build", src, "--tag", "v1")
	if code != 0 {
		t.Fatalf("goldenpath build v1: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "deployed to orders in dev") {
		t.Errorf("build v1 output: %s", out)
	}
	gw := gatewayClient(t, e)
	if status, body := getVia(gw, "https://orders.dev.goldenpathidp.io/"); status != 200 || !strings.Contains(body, `"service":"orders"`) {
		t.Fatalf("orders v1 through the gateway: %d %s", status, body)
	}
	kust, err := e.app.Platform.ReadFile(context.Background(), "main", "gitops/kustomize/overlays/dev/apps/orders/kustomization.yaml")
	if err != nil || !strings.Contains(string(kust), "newTag: v1") {
		t.Errorf("v1 is not pinned on main: %v\n%s", err, kust)
	}

	// v2: a change to the code, built and pushed, replaces v1.
	mainGo := filepath.Join(src, "main.go")
	code2, _ := os.ReadFile(mainGo)
	v2 := strings.Replace(string(code2), `"service": serviceName,`, `"service": serviceName, "build": "second",`, 1)
	if v2 == string(code2) {
		t.Fatal("the scaffolded main.go changed shape; update this test's edit")
	}
	os.WriteFile(mainGo, []byte(v2), 0o644)
	if code, out, errOut := e.goldenpath(tm.alice, "build", src, "--tag", "v2"); code != 0 {
		t.Fatalf("goldenpath build v2: exit %d\n%s\n%s", code, out, errOut)
	}
	if status, body := getVia(gw, "https://orders.dev.goldenpathidp.io/"); status != 200 || !strings.Contains(body, `"build":"second"`) {
		t.Fatalf("orders v2 through the gateway: %d %s", status, body)
	}
	var ds []app.Deployment
	e.must(200, "GET", "/api/v1/deployments?app=orders", tm.alice, nil).json(t, &ds)
	if len(ds) < 2 || !strings.HasSuffix(ds[0].Image, ":v2") || ds[0].Status != "deployed" || !strings.HasSuffix(ds[0].Previous, "v1") {
		t.Errorf("deployments: %+v", ds)
	}
	msg, _ := e.app.Platform.Log(context.Background(), "main", 1)
	if len(msg) == 0 || !strings.Contains(msg[0].Message, "deploy") || !strings.Contains(msg[0].Message, ":v2") {
		t.Errorf("the write-back commit: %+v", msg)
	}

	// A build that does not compile is refused by the CLI with the compiler's words; nothing is pushed.
	os.WriteFile(mainGo, []byte(v2+"\nfunc broken() { undefinedThing() }\n"), 0o644)
	code, out, errOut = e.goldenpath(tm.alice, "build", src, "--tag", "v3")
	if code == 0 || !strings.Contains(errOut, "undefinedThing") {
		t.Errorf("a broken build: exit %d\n%s\n%s", code, out, errOut)
	}

	// An image whose program exits at once is reported failed and v2 keeps serving.
	crash := strings.Replace(v2, "func main() {", "func main() {\n\tif true {\n\t\tfmt.Fprintln(os.Stderr, \"boom: no config\")\n\t\tos.Exit(3)\n\t}", 1)
	os.WriteFile(mainGo, []byte(crash), 0o644)
	code, out, errOut = e.goldenpath(tm.alice, "build", src, "--tag", "v4")
	if code == 0 || !strings.Contains(errOut, "failed") {
		t.Errorf("a crashing image: exit %d\n%s\n%s", code, out, errOut)
	}
	if status, body := getVia(gw, "https://orders.dev.goldenpathidp.io/"); status != 200 || !strings.Contains(body, `"build":"second"`) {
		t.Errorf("after a crashing v4 the app should still answer with v2: %d %s", status, body)
	}
	var view app.AppView
	e.must(200, "GET", "/api/v1/apps/orders", tm.alice, nil).json(t, &view)
	env := view.Environments[0]
	if env.Local == nil || env.Local.PID == 0 || !strings.Contains(env.Message, "boom") {
		t.Errorf("the app's view after a failed release: %+v local=%+v", env, env.Local)
	}
	logs := e.must(200, "GET", "/api/v1/apps/orders/logs", tm.alice, nil).body
	if !bytes.Contains(logs, []byte("listening")) || !bytes.Contains(logs, []byte("boom")) {
		t.Errorf("logs:\n%s", logs)
	}
	if r := e.call("GET", "/api/v1/apps/nope", tm.alice, nil); r.status != 404 || !strings.Contains(string(r.body), "score.yaml") {
		t.Errorf("an unknown app: %d %s", r.status, r.body)
	}
}

// TestDeliveryKubernetes is delivery.mode apply against a real kube-apiserver: each pushed image becomes a
// write-back commit and the app's Deployment on the API server, and goldenpath reports the rollout.
func TestDeliveryKubernetes(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("building an app needs the go command")
	}
	kubeconfig, kcfg := kubetest.Run(t)
	e := start(t, startOptions{config: func(c *app.Config) {
		c.PlatformYAML = append(platform.DefaultYAML("goldenpathidp.io"), "delivery:\n  mode: apply\n"...)
		c.Getenv = func(k string) string {
			if k == "GOLDENPATH_KUBECONFIG" {
				return kubeconfig
			}
			return os.Getenv(k)
		}
	}})
	tm := cast(e)
	scaffoldApp(t, e, tm, "orders")
	dyn, err := dynamic.NewForConfig(kcfg)
	if err != nil {
		t.Fatal(err)
	}
	deployments := dyn.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}).Namespace("orders")
	image := func() string {
		d, err := deployments.Get(context.Background(), "orders", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("reading the orders Deployment: %v", err)
		}
		cs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
		img, _ := cs[0].(map[string]any)["image"].(string)
		return img
	}

	src := clone(t, e, "alice", tm.alice, "payments/orders")
	for _, tag := range []string{"v1", "v2"} {
		if code, out, errOut := e.goldenpath(tm.alice, "build", src, "--tag", tag); code != 0 {
			t.Fatalf("goldenpath build %s: exit %d\n%s\n%s", tag, code, out, errOut)
		}
		if img := image(); !strings.HasSuffix(img, "/dev/orders:"+tag) {
			t.Errorf("after pushing %s the Deployment runs %s", tag, img)
		}
		if tag == "v1" {
			addOverlayPatch(t, e, "gitops/kustomize/overlays/dev/apps/orders")
		}
	}
	// The overlay went through kustomize: the patch the platform team added by hand is applied too.
	if d, err := deployments.Get(context.Background(), "orders", metav1.GetOptions{}); err != nil || d.GetAnnotations()["platform.example/owner-note"] != "patched by hand" {
		t.Errorf("the hand-written patch is not on the Deployment: annotations %v (%v)", d.GetAnnotations(), err)
	}
	log, err := e.app.Platform.Log(context.Background(), "main", 10)
	if err != nil {
		t.Fatal(err)
	}
	var deploys []string
	for _, c := range log {
		if strings.HasPrefix(c.Message, "goldenpath: deploy ") {
			deploys = append(deploys, strings.SplitN(c.Message, "\n", 2)[0])
		}
	}
	if len(deploys) != 2 || !strings.Contains(deploys[0], ":v2") || !strings.Contains(deploys[1], ":v1") {
		t.Errorf("the platform repository's deploy commits, newest first: %q", deploys)
	}

	// No deployment controller runs next to this API server: goldenpath says the rollout waits for one...
	code, out, errOut := e.goldenpath(tm.alice, "apps", "show", "orders")
	if code != 0 || !strings.Contains(out, "waiting for the deployment controller") {
		t.Errorf("apps show before the controller: exit %d\n%s%s", code, out, errOut)
	}
	// ...and once the controller's status arrives (written here as the controller would), it is rolled out.
	d, _ := deployments.Get(context.Background(), "orders", metav1.GetOptions{})
	replicas, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
	unstructured.SetNestedField(d.Object, map[string]any{"observedGeneration": d.GetGeneration(), "replicas": replicas,
		"updatedReplicas": replicas, "availableReplicas": replicas, "readyReplicas": replicas}, "status")
	if _, err := deployments.UpdateStatus(context.Background(), d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	var view app.AppView
	e.must(200, "GET", "/api/v1/apps/orders", tm.alice, nil).json(t, &view)
	if r := view.Environments[0].Rollout; view.Environments[0].Status != "rolled-out" || r == nil || !strings.HasSuffix(r.Image, ":v2") {
		t.Errorf("after the controller's status: %+v rollout %+v", view.Environments[0], r)
	}
}

// addOverlayPatch commits to main a strategic-merge patch in an app's overlay, as a platform engineer
// would: an annotation on the app's Deployment.
func addOverlayPatch(t *testing.T, e *env, dir string) {
	t.Helper()
	ctx := context.Background()
	main, err := e.app.Platform.ResolveRef(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	k, err := e.app.Platform.ReadFile(ctx, main, dir+"/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	patch := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: orders\n  namespace: orders\n  annotations:\n    platform.example/owner-note: patched by hand\n"
	if _, err := e.app.Platform.Commit(ctx, forge.CommitOptions{Branch: "main", Parent: main, Message: "a hand-written patch",
		Author: forge.Signature{Name: "platform", Email: "platform@example.com"},
		Changes: []forge.Change{
			{Path: dir + "/owner-note.yaml", Content: []byte(patch)},
			{Path: dir + "/kustomization.yaml", Content: append(k, "patches:\n  - path: owner-note.yaml\n"...)},
		}}); err != nil {
		t.Fatal(err)
	}
}

// argoCDRecorder stands in for Argo CD's /api/webhook and keeps the push events it receives.
type argoCDRecorder struct {
	mu     sync.Mutex
	events []map[string]any
}

func (r *argoCDRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var ev map[string]any
	if req.URL.Path != "/api/webhook" || req.Header.Get("X-GitHub-Event") != "push" || json.NewDecoder(req.Body).Decode(&ev) != nil {
		http.Error(w, "not a GitHub push event", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

func (r *argoCDRecorder) afters() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.events {
		out = append(out, fmt.Sprint(ev["after"]))
	}
	return out
}

// pushImage pushes a small image, built at created, to repo:tag of goldenpath's registry as user, and
// returns its digest.
func pushImage(t *testing.T, e *env, user, token, repo, tag string, created time.Time) string {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	if img, err = mutate.CreatedAt(img, v1.Time{Time: created}); err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(strings.TrimPrefix(e.app.URL(), "http://") + "/" + repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: user, Password: token})); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// waitPin waits until main pins tag for app in env.
func waitPin(t *testing.T, e *env, env, app, tag string) {
	t.Helper()
	waitFile(t, e, "gitops/kustomize/overlays/"+env+"/apps/"+app+"/kustomization.yaml", "newTag: "+tag+"\n")
}

// TestDeliveryWriteBack is delivery.mode argocd: write-back survives a busy main, Argo CD hears of the
// commits, and an environment deployed through change requests gets one (the newest) proposal to review.
func TestDeliveryWriteBack(t *testing.T) {
	argo := &argoCDRecorder{}
	argoSrv := httptest.NewServer(argo)
	defer argoSrv.Close()
	opts := startOptions{dir: t.TempDir(), config: func(c *app.Config) {
		c.PlatformYAML = append(platform.DefaultYAML("goldenpathidp.io"),
			fmt.Sprintf("delivery:\n  mode: argocd\n  argocd:\n    webhookURL: %s/api/webhook\n", argoSrv.URL)...)
	}}
	e := start(t, opts)
	tm := cast(e)
	ctx := context.Background()
	scaffoldApp(t, e, tm, "orders")

	// The app also goes to prod, which deploys through change requests (prod needs 2 approvals).
	repo, _ := e.app.Forge.Repo("payments/orders")
	head, _ := repo.ResolveRef(ctx, "main")
	sc, _ := repo.ReadFile(ctx, head, "score.yaml")
	withProd := strings.Replace(string(sc), "metadata:\n", "metadata:\n  annotations:\n    goldenpath.io/environments: dev,prod\n", 1)
	if _, err := repo.Commit(ctx, forge.CommitOptions{Branch: "main", Parent: head, Message: "Deploy to prod too",
		Author: forge.Signature{Name: "alice", Email: "alice@example.com"}, Changes: []forge.Change{{Path: "score.yaml", Content: []byte(withProd)}}}); err != nil {
		t.Fatal(err)
	}
	e.app.KickEdge()
	n := e.file(tm.alice, contractDoc("ECRRequest", "orders", "alice", "payments", "prod", "  size: small\n"))
	e.approveAndMerge(n, tm.bob, tm.carol)
	e.waitPhase("ecr.prod.orders", "Ready", 15*time.Second)

	// A race: the platform team commits to main while ten images are pushed. Every commit lands, and main
	// ends pinning the newest image.
	base := time.Now().Add(-time.Hour)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 20 {
			for {
				tip, _ := e.app.Platform.ResolveRef(ctx, "main")
				_, err := e.app.Platform.Commit(ctx, forge.CommitOptions{Branch: "main", Parent: tip, Message: fmt.Sprintf("note %d", i),
					Author: forge.Signature{Name: "bob", Email: "bob@example.com"}, Changes: []forge.Change{{Path: fmt.Sprintf("notes/%02d.md", i), Content: []byte("note\n")}}})
				if err == nil {
					break
				}
				if !errors.Is(err, forge.ErrConflict) {
					t.Errorf("committing note %d: %v", i, err)
					return
				}
			}
		}
	}()
	for i := 1; i <= 10; i++ {
		pushImage(t, e, "alice", tm.alice, "dev/orders", fmt.Sprintf("r%02d", i), base.Add(time.Duration(i)*time.Minute))
	}
	wg.Wait()
	waitPin(t, e, "dev", "orders", "r10")
	files, err := e.app.Platform.ReadTree(ctx, "main", "notes/")
	if err != nil || len(files) != 20 {
		t.Errorf("the platform team's notes on main: %d, %v", len(files), err)
	}
	main, _ := e.app.Platform.ResolveRef(ctx, "main")
	log, _ := e.app.Platform.Log(ctx, "main", 100)
	var lastDeploy string
	for _, c := range log {
		if strings.HasPrefix(c.Message, "goldenpath: deploy ") {
			lastDeploy = c.SHA
			if !strings.Contains(c.Message, "Previous: ") {
				t.Errorf("a write-back commit without the previous image: %q", c.Message)
			}
			break
		}
	}
	if lastDeploy == "" || !slices.Contains(argo.afters(), lastDeploy) {
		t.Errorf("Argo CD never heard of the last write-back commit %s (heard %v; main %s)", lastDeploy, argo.afters(), main)
	}
	var ds []app.Deployment
	e.must(200, "GET", "/api/v1/deployments?app=orders", tm.alice, nil).json(t, &ds)
	if len(ds) == 0 || ds[0].Status != "committed" || !strings.HasSuffix(ds[0].Image, ":r10") {
		t.Errorf("the newest deployment: %+v", ds)
	}

	// prod: each image opens a change request instead of a commit; a newer one supersedes the older.
	pushImage(t, e, "alice", tm.alice, "prod/orders", "p1", base.Add(time.Hour))
	first := waitProposal(t, e, tm, "p1")
	pushImage(t, e, "alice", tm.alice, "prod/orders", "p2", base.Add(time.Hour+time.Minute))
	second := waitProposal(t, e, tm, "p2")
	var c1 struct{ State string }
	e.must(200, "GET", fmt.Sprintf("/api/v1/changes/%d", first), tm.bob, nil).json(t, &c1)
	if c1.State != "closed" {
		t.Errorf("the superseded proposal #%d is %s, want closed", first, c1.State)
	}
	if _, err := e.app.Platform.ReadFile(ctx, "main", "gitops/kustomize/overlays/prod/apps/orders/kustomization.yaml"); err == nil {
		t.Error("prod's overlay reached main before its change request was merged")
	}
	e.must(200, "POST", fmt.Sprintf("/api/v1/changes/%d/approve", second), tm.bob, map[string]string{"comment": "ok"})
	if r := e.call("POST", fmt.Sprintf("/api/v1/changes/%d/merge", second), tm.bob, nil); r.status != 422 {
		t.Errorf("merging a prod deploy with one approval: %d %s", r.status, r.body)
	}
	e.approveAndMerge(second, tm.carol)
	waitPin(t, e, "prod", "orders", "p2")
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.must(200, "GET", "/api/v1/deployments?app=orders", tm.alice, nil).json(t, &ds)
		if ds[0].Status == "merged" && ds[0].Commit != "" && slices.Contains(argo.afters(), ds[0].Commit) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the merge: %+v; Argo CD heard %v", ds[0], argo.afters())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The history outlives a restart.
	var before []app.Deployment
	e.must(200, "GET", "/api/v1/deployments?app=orders", tm.alice, nil).json(t, &before)
	e.app.Close()
	again := start(t, opts)
	var after []app.Deployment
	again.must(200, "GET", "/api/v1/deployments?app=orders", tm.alice, nil).json(t, &after)
	if len(before) < 3 || fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("deployments after a restart:\n%+v\nwant\n%+v", after, before)
	}
}

// waitProposal waits for the deployment of prod/orders:tag to be proposed and returns its change request.
func waitProposal(t *testing.T, e *env, tm team, tag string) int64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ds []app.Deployment
		e.must(200, "GET", "/api/v1/deployments?app=orders", tm.alice, nil).json(t, &ds)
		for _, d := range ds {
			if d.Environment == "prod" && strings.HasSuffix(d.Image, ":"+tag) && d.Status == "proposed" && d.Change != 0 {
				return d.Change
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no proposal for prod/orders:%s: %+v", tag, ds)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
