// Package kubetest runs a real kube-apiserver (with etcd, no nodes) for tests and benchmarks, through the
// project's scripts/kube-apiserver.sh.
package kubetest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Script is the path of scripts/kube-apiserver.sh in this checkout.
func Script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "scripts", "kube-apiserver.sh")
}

// Built tells whether kube-apiserver is built; when it is not, the message says where it was looked for.
func Built() (bool, string) {
	out, err := exec.Command(Script(), "path").Output()
	return err == nil, strings.TrimSpace(string(out))
}

// Build builds kube-apiserver (~20-25 min cold on 2 cores; cached under $HOME/.cache/goldenpath).
func Build() error {
	if out, err := exec.Command(Script(), "build").CombinedOutput(); err != nil {
		return fmt.Errorf("building kube-apiserver: %v\n%s", err, out)
	}
	return nil
}

// Start starts etcd and kube-apiserver with their data in dir and returns the kubeconfig's path.
// Stop(dir) stops them.
func Start(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, Script(), "start", dir).Output()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "apiserver.log"))
		if len(log) > 3000 {
			log = log[len(log)-3000:]
		}
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		return "", fmt.Errorf("starting kube-apiserver: %v\n%s\n%s", err, stderr, log)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	kubeconfig, ok := strings.CutPrefix(lines[len(lines)-1], "KUBECONFIG=")
	if !ok {
		return "", fmt.Errorf("kube-apiserver.sh start printed %q, want KUBECONFIG=<path> last", out)
	}
	return kubeconfig, nil
}

// Stop stops what Start started in dir.
func Stop(dir string) error {
	if out, err := exec.Command(Script(), "stop", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("stopping kube-apiserver: %v\n%s", err, out)
	}
	return nil
}

// Ensure skips t without a built kube-apiserver, or builds it under CI=true.
func Ensure(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: not starting a kube-apiserver")
	}
	ok, bin := Built()
	if ok {
		return
	}
	if os.Getenv("CI") != "true" {
		t.Skipf("kube-apiserver is not built (%s): run scripts/kube-apiserver.sh build once (~25 min cold on 2 cores, "+
			"cached after); under CI=true this test builds it", bin)
	}
	if tt, isT := t.(*testing.T); isT {
		if deadline, ok := tt.Deadline(); ok && time.Until(deadline) < 35*time.Minute {
			t.Fatalf("kube-apiserver is not built (%s) and building it takes ~25 min cold, more than this test run's "+
				"timeout leaves (%s): run scripts/kube-apiserver.sh build before the tests, or go test -timeout 60m",
				bin, time.Until(deadline).Round(time.Second))
		}
	}
	if err := Build(); err != nil {
		t.Fatal(err)
	}
}

// Run ensures kube-apiserver is built, starts it in a temporary directory for t, stops it when t ends,
// and returns the kubeconfig's path and a client configuration without client-side rate limits.
func Run(t testing.TB) (string, *rest.Config) {
	t.Helper()
	Ensure(t)
	dir := t.TempDir()
	t.Cleanup(func() {
		if err := Stop(dir); err != nil {
			t.Error(err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kubeconfig, err := Start(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatalf("reading %s: %v", kubeconfig, err)
	}
	// client-go's default client-side limit (5 requests/s) would make tests wait on the client, not the server.
	cfg.QPS, cfg.Burst = 500, 1000
	return kubeconfig, cfg
}
