package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/app"
	"github.com/goldenpathidp/goldenpath/internal/build"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/kubetest"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/provision/local"
	"github.com/goldenpathidp/goldenpath/internal/registry"
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
	"k8s.io/client-go/tools/clientcmd"
)

// benchScore is the benchmarked app's Score workload.
const benchScore = `apiVersion: score.dev/v1b1
metadata:
  name: bench
containers:
  main:
    image: .
    readinessProbe:
      httpGet: {path: /healthz, port: 8080}
service:
  ports:
    http: {port: 80, targetPort: 8080}
resources:
  route:
    type: route
    params: {host: bench.dev.goldenpathidp.io, path: /, port: 80}
`

// benchProgram answers with the version it was built as.
const benchProgram = `package main

import (
	"fmt"
	"net/http"
	"os"
)

var version = "unset"

func main() {
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, version) })
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`

// deliveryEnv is a running goldenpath with the bench app and its image repository.
type deliveryEnv struct {
	a    *app.App
	dir  string
	host string // the registry's host:port
	auth authn.Authenticator
}

func startDelivery(ctx context.Context, mode string, getenv func(string) string) (*deliveryEnv, error) {
	dir, err := os.MkdirTemp("", "goldenpath-bench-delivery-")
	if err != nil {
		return nil, err
	}
	a, err := app.Start(ctx, app.Config{DataDir: dir, Addr: "127.0.0.1:0", S3Addr: "127.0.0.1:0", DNSAddr: "127.0.0.1:0",
		GatewayAddr: "127.0.0.1:0", GatewayTLSAddr: "127.0.0.1:0", Logger: benchLogger(), Getenv: getenv,
		PlatformYAML: append(platform.DefaultYAML("goldenpathidp.io"), "delivery:\n  mode: "+mode+"\n"...)})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	d := &deliveryEnv{a: a, dir: dir, host: strings.TrimPrefix(a.URL(), "http://"), auth: &authn.Basic{Username: "admin", Password: a.AdminToken}}
	for _, repo := range []string{"dev/bench", "staging/bench"} {
		if _, err := a.Registry.CreateRepository(ctx, repo, registry.RepoSettings{Labels: map[string]string{local.LabelOwner: "admin", local.LabelTeam: "platform"}}); err != nil {
			d.close()
			return nil, err
		}
	}
	if _, _, err := a.Forge.CreateRepoWithCommit(ctx, "platform/bench", "main", forge.CommitOptions{Message: "bench app",
		Author: forge.Signature{Name: "bench", Email: "bench@localhost"}, Changes: []forge.Change{{Path: "score.yaml", Content: []byte(benchScore)}}}); err != nil {
		d.close()
		return nil, err
	}
	a.KickEdge()
	return d, nil
}

// history is goldenpath's own account of the bench app's deployments, newest first, for an error message:
// a deploy that failed says why there (a bench that only says "never ran" cannot be diagnosed).
func (d *deliveryEnv) history(ctx context.Context) string {
	ds, err := d.a.Deployments(ctx, "bench")
	if err != nil {
		return fmt.Sprintf("; reading goldenpath's deployments: %v", err)
	}
	if len(ds) == 0 {
		return "; goldenpath recorded no deployment of the bench app (was the push seen? BENCH_LOG=1 shows goldenpath's log)"
	}
	var b strings.Builder
	b.WriteString("; goldenpath's deployments, newest first:")
	for _, dep := range ds[:min(len(ds), 5)] {
		fmt.Fprintf(&b, "\n    %s %s %s %s", dep.Environment, dep.Image, dep.Status, dep.Message)
	}
	return b.String()
}

func (d *deliveryEnv) close() {
	d.a.Close()
	os.RemoveAll(d.dir)
}

// push writes img to dev/bench:tag and returns when the registry has answered the manifest PUT.
func (d *deliveryEnv) push(img v1.Image, tag string) error {
	ref, err := name.ParseReference(d.host + "/dev/bench:" + tag)
	if err != nil {
		return err
	}
	return remote.Write(ref, img, remote.WithAuth(d.auth))
}

func randomImage(i int) (v1.Image, error) {
	img, err := random.Image(1024, 1)
	if err != nil {
		return nil, err
	}
	return mutate.CreatedAt(img, v1.Time{Time: time.Now().Add(time.Duration(i) * time.Second)})
}

// waitUntil polls cond every interval until it holds or timeout passes.
func waitUntil(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(interval)
	}
	return false
}

func deliveryBench(ctx context.Context, n int) error {
	fmt.Printf("delivery: push → write-back commit, → Deployment on the API server, → the local app answering (%d pushes each)\n", n)
	fmt.Println("  the default chain for comparison: Argo CD Image Updater polls every 2 min, Argo CD re-reads git every 3 min: " +
		"≈2.5 min on average, up to 5 min")
	if err := pushToCommit(ctx, n); err != nil {
		return fmt.Errorf("push → commit: %w", err)
	}
	if err := pushToDeployment(ctx, n); err != nil {
		return fmt.Errorf("push → Deployment: %w", err)
	}
	if err := pushToLocalApp(ctx, n); err != nil {
		return fmt.Errorf("push → local app: %w", err)
	}
	return nil
}

func pushToCommit(ctx context.Context, n int) error {
	d, err := startDelivery(ctx, "argocd", os.Getenv)
	if err != nil {
		return err
	}
	defer d.close()
	kust := "gitops/kustomize/overlays/dev/apps/bench/kustomization.yaml"
	var lat []time.Duration
	for i := 0; i <= n; i++ {
		img, err := randomImage(i)
		if err != nil {
			return err
		}
		tag := fmt.Sprintf("c%03d", i)
		start := time.Now()
		if err := d.push(img, tag); err != nil {
			return err
		}
		if !waitUntil(10*time.Second, time.Millisecond, func() bool {
			b, err := d.a.Platform.ReadFile(ctx, "main", kust)
			return err == nil && strings.Contains(string(b), "newTag: "+tag+"\n")
		}) {
			return fmt.Errorf("%s was never written back%s", tag, d.history(ctx))
		}
		if i > 0 { // the first push renders the app's whole overlay
			lat = append(lat, time.Since(start))
		}
	}
	report("push → write-back commit", lat, 250*time.Millisecond)
	return nil
}

func pushToDeployment(ctx context.Context, n int) error {
	if ok, where := kubetest.Built(); !ok {
		fmt.Printf("  push → Deployment updated: skipped, kube-apiserver is not built (%s; scripts/kube-apiserver.sh build)\n", where)
		return nil
	}
	kdir, err := os.MkdirTemp("", "goldenpath-bench-kube-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(kdir)
	kubeconfig, err := kubetest.Start(ctx, kdir)
	if err != nil {
		return err
	}
	defer kubetest.Stop(kdir)
	d, err := startDelivery(ctx, "apply", func(k string) string {
		if k == "GOLDENPATH_KUBECONFIG" {
			return kubeconfig
		}
		return os.Getenv(k)
	})
	if err != nil {
		return err
	}
	defer d.close()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 1000, 1000
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	deployments := dyn.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}).Namespace("bench")
	image := func() string {
		dep, err := deployments.Get(ctx, "bench", metav1.GetOptions{})
		if err != nil {
			return ""
		}
		cs, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
		if len(cs) == 0 {
			return ""
		}
		img, _ := cs[0].(map[string]any)["image"].(string)
		return img
	}
	var lat []time.Duration
	for i := 0; i <= n; i++ {
		img, err := randomImage(i)
		if err != nil {
			return err
		}
		tag := fmt.Sprintf("k%03d", i)
		start := time.Now()
		if err := d.push(img, tag); err != nil {
			return err
		}
		if !waitUntil(20*time.Second, 2*time.Millisecond, func() bool { return strings.HasSuffix(image(), ":"+tag) }) {
			return fmt.Errorf("the Deployment never ran %s (it runs %q)%s", tag, image(), d.history(ctx))
		}
		if i > 0 {
			lat = append(lat, time.Since(start))
		}
	}
	report("push → Deployment updated on the API server", lat, 2*time.Second)
	return nil
}

func pushToLocalApp(ctx context.Context, n int) error {
	d, err := startDelivery(ctx, "local", os.Getenv)
	if err != nil {
		return err
	}
	defer d.close()
	src, err := os.MkdirTemp("", "goldenpath-bench-src-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module bench\n\ngo 1.22\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(benchProgram), 0o644); err != nil {
		return err
	}
	// Build every version first, into a staging repository; the measured push copies one into dev/bench.
	fmt.Printf("  building %d versions of a small Go app (not measured)...\n", n+1)
	staged := make([]v1.Image, n+1)
	for i := range staged {
		tag := fmt.Sprintf("v%03d", i)
		res, err := build.Build(ctx, build.Options{Dir: src, Ref: d.host + "/staging/bench:" + tag, Platform: build.HostPlatform(), Version: tag, Auth: d.auth})
		if err != nil {
			return err
		}
		ref, _ := name.ParseReference(res.Ref)
		if staged[i], err = remote.Image(ref, remote.WithAuth(d.auth)); err != nil {
			return err
		}
	}
	client, err := gatewayHTTPS(d.a)
	if err != nil {
		return err
	}
	answers := func(want string) bool {
		resp, err := client.Get("https://bench.dev.goldenpathidp.io/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200 && string(b) == want
	}
	var lat []time.Duration
	for i, img := range staged {
		tag := fmt.Sprintf("v%03d", i)
		start := time.Now()
		if err := d.push(img, tag); err != nil {
			return err
		}
		if !waitUntil(20*time.Second, 2*time.Millisecond, func() bool { return answers(tag) }) {
			return fmt.Errorf("the app never answered %s%s", tag, d.history(ctx))
		}
		if i > 0 {
			lat = append(lat, time.Since(start))
		}
	}
	report("push → the local app answering with the new version (HTTPS via the dev gateway)", lat, 2*time.Second)
	return nil
}

// gatewayHTTPS speaks HTTPS to the dev gateway for any host, trusting its CA.
func gatewayHTTPS(a *app.App) (*http.Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(a.Gateway.CACertPEM()) {
		return nil, fmt.Errorf("the gateway's CA is not PEM")
	}
	_, httpsURL := a.GatewayURLs()
	addr := strings.TrimPrefix(httpsURL, "https://")
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}, nil
}

// report prints p50 and p95 beside the target.
func report(what string, lat []time.Duration, target time.Duration) {
	p50, p95 := pct(lat, 50), pct(lat, 95)
	verdict := "meets"
	if p50 > target {
		verdict = "MISSES"
	}
	fmt.Printf("  %-80s p50 %7s  p95 %7s  (n=%d; target p50 ≤ %s: %s)\n", what, p50.Round(time.Millisecond), p95.Round(time.Millisecond), len(lat), target, verdict)
}

// benchLogger discards goldenpath's log unless BENCH_LOG is set (then it goes to stderr at debug level).
func benchLogger() *slog.Logger {
	if os.Getenv("BENCH_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}
