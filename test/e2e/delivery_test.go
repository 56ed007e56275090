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

	"github.com/goldenpathidp/goldenpath/internal/app"
	"github.com/goldenpathidp/goldenpath/internal/cli"
	"github.com/goldenpathidp/goldenpath/internal/kubetest"
	"github.com/goldenpathidp/goldenpath/internal/platform"
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
