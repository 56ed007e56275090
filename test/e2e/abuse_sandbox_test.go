package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAbuseSandboxAppCannotReachGoldenpath: a payments developer ships an app that, once goldenpath runs it,
// tries to read and overwrite goldenpath's data directory (the vault key, the admin token, the databases,
// the repositories, every app's logs), to read goldenpath's environment (it holds e.g. the PostgreSQL
// admin password) and to signal goldenpath. Every attempt must be refused by the kernel, while the app
// itself deploys, serves through the gateway and uses its own directory, and its developer reads its logs.
func TestAbuseSandboxAppCannotReachGoldenpath(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("building an app needs the go command")
	}
	e := start(t, startOptions{})
	tm := cast(e)
	scaffoldApp(t, e, tm, "orders")

	// Everything in the data directory, and the files the issue names, which must be there.
	entries, err := os.ReadDir(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	var reads []string
	for _, de := range entries {
		reads = append(reads, filepath.Join(e.dir, de.Name()))
	}
	for _, must := range []string{"secret.key", "admin.token", "goldenpath.db", "apps"} {
		if _, err := os.Stat(filepath.Join(e.dir, must)); err != nil {
			t.Fatalf("the data directory has no %s, so a refusal to read it proves nothing: %v", must, err)
		}
	}
	pid := strconv.Itoa(os.Getpid()) // goldenpath runs in this process
	reads = append(reads, "/proc/"+pid+"/environ")
	writes := []string{filepath.Join(e.dir, "secret.key"), filepath.Join(e.dir, "goldenpath.db"), filepath.Join(e.dir, "admin.token")}
	creates := []string{filepath.Join(e.dir, "planted"), filepath.Join(e.dir, "apps", "planted")}

	src := clone(t, e, "alice", tm.alice, "payments/orders")
	mainGo := filepath.Join(src, "main.go")
	code, err := os.ReadFile(mainGo)
	if err != nil {
		t.Fatal(err)
	}
	probe := strings.Replace(string(code), "func main() {", "func main() {\n\tsandboxProbe()", 1)
	if probe == string(code) || !strings.Contains(probe, `"syscall"`) {
		t.Fatal("the scaffolded main.go changed shape; update this test's edit")
	}
	probe += sandboxProbeSource(reads, writes, creates, pid)
	if err := os.WriteFile(mainGo, []byte(probe), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "-C", src, "commit", "-qam", "probe").CombinedOutput(); err != nil {
		t.Fatalf("git commit: %v\n%s", err, out)
	}
	if code, out, errOut := e.goldenpath(tm.alice, "build", src, "--tag", "probe"); code != 0 {
		t.Fatalf("goldenpath build: exit %d\n%s\n%s", code, out, errOut)
	}

	// The owner's view: the app serves, and its developer reads its logs, which hold the probe's report.
	if status, body := getVia(gatewayClient(t, e), "https://orders.dev.goldenpathidp.io/"); status != 200 || !strings.Contains(body, `"service":"orders"`) {
		t.Fatalf("the probe app through the gateway: %d %s", status, body)
	}
	var logs []byte
	if !eventually(30*time.Second, func() bool {
		logs = e.must(200, "GET", "/api/v1/apps/orders/logs", tm.alice, nil).body
		return bytes.Contains(logs, []byte("sandbox-probe done"))
	}) {
		t.Fatalf("the probe's report never reached the app's logs:\n%s", logs)
	}
	results := map[string]string{}
	for line := range strings.SplitSeq(string(logs), "\n") {
		if rest, ok := strings.CutPrefix(line, "sandbox-probe "); ok {
			if what, res, ok := strings.Cut(rest, " => "); ok {
				results[what] = res
			}
		}
	}
	check := func(what string) {
		t.Helper()
		got, ok := results[what]
		if !ok || !(strings.HasSuffix(got, "permission denied") || strings.HasSuffix(got, "operation not permitted")) {
			t.Errorf("the app's attempt to %s: got %q, want it refused by the kernel", what, got)
		}
	}
	for _, p := range reads {
		check("read " + p)
	}
	for _, p := range writes {
		check("write " + p)
	}
	for _, p := range creates {
		check("create " + p)
	}
	check("signal " + pid)
	if got := results["write $HOME"]; got != "ok" {
		t.Errorf("the app writing its own directory: got %q, want ok", got)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "planted")); err == nil {
		t.Error("the app planted a file in the data directory")
	}
	if !bytes.Contains(logs, []byte("confined by ")) {
		t.Errorf("the app's log does not say how it is confined:\n%s", logs)
	}
	if !strings.Contains(e.log(), "apps run confined") {
		t.Error("goldenpath's log does not say at start how apps are confined")
	}
}

// sandboxProbeSource is Go code to append to an app's main.go (which imports fmt, os and syscall): the
// sandboxProbe function it calls first thing, which tries each attempt and prints how it ended.
func sandboxProbeSource(reads, writes, creates []string, pid string) string {
	return fmt.Sprintf(`
func sandboxProbe() {
	report := func(what string, err error) {
		res := "ok"
		if err != nil {
			res = err.Error()
		}
		fmt.Printf("sandbox-probe %%s => %%s\n", what, res)
	}
	open := func(p string, flag int) error {
		f, err := os.OpenFile(p, flag, 0o600)
		if err == nil {
			f.Close()
		}
		return err
	}
	for _, p := range %#v {
		report("read "+p, open(p, os.O_RDONLY))
	}
	for _, p := range %#v {
		report("write "+p, open(p, os.O_WRONLY|os.O_APPEND))
	}
	for _, p := range %#v {
		report("create "+p, open(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL))
	}
	report("signal %s", syscall.Kill(%s, 0))
	report("write $HOME", os.WriteFile(os.Getenv("HOME")+"/own", []byte("mine"), 0o600))
	fmt.Println("sandbox-probe done")
}
`, reads, writes, creates, pid, pid)
}
