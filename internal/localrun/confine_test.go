package localrun_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/localrun"
	"github.com/goldenpathidp/goldenpath/internal/sandbox"
)

// probeReport is what testdata/probe answers at GET /.
type probeReport struct {
	UID      int
	GID      int
	Home     string
	Attempts map[string]string
}

func probeApp(name string, env map[string]string) localrun.App {
	return localrun.App{Name: name, Environment: "dev", Image: images.probe, Health: "/healthz", Env: env}
}

func (f *fixture) probe(t *testing.T, app localrun.App) (probeReport, localrun.State) {
	t.Helper()
	st := f.deploy(t, app)
	resp, err := http.Get(st.Upstream + "/")
	if err != nil {
		t.Fatalf("asking %s for its report: %v", app.Name, err)
	}
	defer resp.Body.Close()
	var r probeReport
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("reading %s's report: %v", app.Name, err)
	}
	return r, st
}

// dataDir stands for goldenpath's data directory: its secrets and databases, and the apps' logs (the
// Supervisor's Dir), as goldenpath lays them out.
func dataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil { // as goldenpath makes it
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"secret.key": "0123456789abcdef0123456789abcdef", "admin.token": "gp_admin_s3cret",
		"goldenpath.db": "SQLite format 3", "catalog.db": "SQLite format 3",
		"repos/payments/orders.git/config": "[core]",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// requireMechanisms skips a mode the machine cannot offer (root for the user switch, a kernel with
// Landlock), except in CI, which runs as root on a kernel with Landlock and must test every mode.
func requireMechanisms(t *testing.T, opts sandbox.Options, landlock, ownUser bool) {
	t.Helper()
	box, err := sandbox.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if (box.Landlock() > 0) == landlock && box.SwitchesUser() == ownUser {
		return
	}
	msg := fmt.Sprintf("this machine offers %s (%v), not the mode under test", box, box.Err())
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// TestAppsCannotReachGoldenpath deploys an app that tries to read and write goldenpath's data directory,
// another app's directory and log, goldenpath's and the other app's environment, to signal them and to
// connect to a Unix socket private to goldenpath's user;
// every attempt must be refused by the kernel (not fail for want of the file), under each mechanism alone
// and both together, while the app's own directory stays usable.
func TestAppsCannotReachGoldenpath(t *testing.T) {
	modes := []struct {
		name              string
		opts              sandbox.Options
		landlock, ownUser bool
	}{
		{"landlock and own user", sandbox.Options{}, true, true},
		{"landlock only", sandbox.Options{NoUserSwitch: true}, true, false},
		{"own user only", sandbox.Options{NoLandlock: true}, false, true},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			data := dataDir(t)
			mode.opts.Private = []string{data}
			requireMechanisms(t, mode.opts, mode.landlock, mode.ownUser)
			f := newFixture(t, localrun.Options{Dir: filepath.Join(data, "apps"), Sandbox: mode.opts})

			other, otherSt := f.probe(t, probeApp("other", nil))
			otherFile := filepath.Join(other.Home, "notes.txt")
			if err := os.WriteFile(otherFile, []byte("the other app's data"), 0o600); err != nil {
				t.Fatal(err)
			}
			// A socket of goldenpath's user, private to it, like an ssh agent's.
			sockDir := t.TempDir()
			if err := os.Chmod(sockDir, 0o700); err != nil {
				t.Fatal(err)
			}
			agent, err := net.Listen("unix", filepath.Join(sockDir, "agent.sock"))
			if err != nil {
				t.Fatal(err)
			}
			defer agent.Close()
			me := strconv.Itoa(os.Getpid())
			forbidden := map[string][]string{
				"PROBE_READ": {
					filepath.Join(data, "secret.key"), filepath.Join(data, "admin.token"),
					filepath.Join(data, "goldenpath.db"), filepath.Join(data, "catalog.db"),
					filepath.Join(data, "repos"), filepath.Join(data, "apps", "dev", "other", "output.log"),
					other.Home, otherFile,
					"/proc/" + me + "/environ", "/proc/" + strconv.Itoa(otherSt.PID) + "/environ",
				},
				"PROBE_WRITE":   {filepath.Join(data, "goldenpath.db"), filepath.Join(data, "secret.key"), otherFile},
				"PROBE_CREATE":  {filepath.Join(data, "planted"), filepath.Join(data, "apps", "planted"), filepath.Join(other.Home, "planted")},
				"PROBE_SIGNAL":  {me, strconv.Itoa(otherSt.PID)},
				"PROBE_CONNECT": {agent.Addr().String()},
			}
			env := map[string]string{}
			for k, paths := range forbidden {
				for _, p := range paths {
					if k == "PROBE_READ" || k == "PROBE_WRITE" || k == "PROBE_CONNECT" {
						if _, err := os.Stat(p); err != nil {
							t.Fatalf("the target %s must exist, or a refusal proves nothing: %v", p, err)
						}
					}
				}
				env[k] = strings.Join(paths, "\n")
			}
			r, _ := f.probe(t, probeApp("probe", env))

			for k, paths := range forbidden {
				verb := strings.ToLower(strings.TrimPrefix(k, "PROBE_"))
				for _, p := range paths {
					got, ok := r.Attempts[verb+" "+p]
					if !ok || !deniedByKernel(got) {
						t.Errorf("%s %s: got %q, want permission denied", verb, p, got)
					}
				}
			}
			for _, own := range []string{"create $HOME", "create $TMPDIR", "read $HOME"} {
				if got := r.Attempts[own]; got != "ok" {
					t.Errorf("%s: got %q, want ok (the app's own directory is its to use)", own, got)
				}
			}
			if got := r.Attempts["mknod $HOME"]; !strings.Contains(got, "operation not permitted") {
				t.Errorf("mknod in its own directory: got %q, want operation not permitted (the app has no privileges)", got)
			}
			switch {
			case mode.ownUser && (r.UID == 0 || r.UID == other.UID || r.GID == other.GID || r.UID != r.GID):
				t.Errorf("ids: got uid %d gid %d, other app uid %d gid %d; want a user and group of its own", r.UID, r.GID, other.UID, other.GID)
			case !mode.ownUser && r.UID != os.Geteuid():
				t.Errorf("uid: got %d, want goldenpath's %d", r.UID, os.Geteuid())
			}
			if strings.HasPrefix(r.Home, data) {
				t.Errorf("the app's home %s is inside the data directory %s", r.Home, data)
			}
			if _, err := os.Stat(filepath.Join(data, "planted")); err == nil {
				t.Error("the app planted a file in the data directory")
			}
			if logs, _ := f.sup.Logs(localrun.Key{Environment: "dev", Name: "probe"}); !strings.Contains(string(logs), "confined by ") {
				t.Errorf("the app's log does not say how it is confined:\n%s", logs)
			}
			// The apps' directories are scratch space outside the data directory: Close removes them.
			if err := f.sup.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if _, err := os.Stat(filepath.Dir(filepath.Dir(r.Home))); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the apps' directory after Close: got %v, want it removed", err)
			}
		})
	}
}

// deniedByKernel says whether an attempt failed for want of permission, not because its target is missing.
func deniedByKernel(result string) bool {
	return strings.HasSuffix(result, "permission denied") || strings.HasSuffix(result, "operation not permitted")
}

// TestAppsRefusedWithoutConfinement: with no mechanism available the app does not run, and the deploy's
// error (recorded for `goldenpath apps show`) says why.
func TestAppsRefusedWithoutConfinement(t *testing.T) {
	t.Run("no mechanism", func(t *testing.T) {
		f := newFixture(t, localrun.Options{Sandbox: sandbox.Options{NoLandlock: true, NoUserSwitch: true}})
		checkRefused(t, f, "Landlock is turned off", "users of their own is turned off")
		if !strings.Contains(f.logs.String(), "apps cannot run") {
			t.Errorf("the supervisor's log does not report the refusal at start:\n%s", f.logs.String())
		}
	})
	t.Run("own user alone with a data directory others can enter", func(t *testing.T) {
		opts := sandbox.Options{NoLandlock: true}
		requireMechanisms(t, opts, false, true)
		data := t.TempDir()
		if err := os.Chmod(data, 0o755); err != nil {
			t.Fatal(err)
		}
		opts.Private = []string{data}
		f := newFixture(t, localrun.Options{Dir: filepath.Join(data, "apps"), Sandbox: opts})
		checkRefused(t, f, data, "chmod 700")
	})
	t.Run("own user with a run directory others cannot pass", func(t *testing.T) {
		opts := sandbox.Options{}
		requireMechanisms(t, opts, true, true)
		closed := t.TempDir()
		if err := os.Chmod(closed, 0o700); err != nil {
			t.Fatal(err)
		}
		f := newFixture(t, localrun.Options{RunDir: closed, Sandbox: opts})
		checkRefused(t, f, "cannot pass through "+closed)
	})
}

func checkRefused(t *testing.T, f *fixture, want ...string) {
	t.Helper()
	app := orders(images.v1, "v1")
	err := f.sup.Deploy(context.Background(), app)
	if !errors.Is(err, sandbox.ErrUnavailable) {
		t.Fatalf("Deploy: got %v, want the refusal to run unconfined", err)
	}
	for _, w := range append(want, "refusing to run apps unconfined") {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Deploy: got %q, want it to say %q", err, w)
		}
	}
	st, ok := f.sup.Status(app.Key())
	if !ok || st.PID != 0 || st.LastError != err.Error() {
		t.Errorf("Status: got %+v (known %v), want no process and the refusal recorded", st, ok)
	}
}

func TestRunDirOutsideTheDataDirectory(t *testing.T) {
	data := t.TempDir()
	_, err := localrun.New(localrun.Options{Dir: filepath.Join(data, "apps"), RunDir: filepath.Join(data, "apps")})
	if err == nil || !strings.Contains(err.Error(), "outside goldenpath's data") {
		t.Errorf("New with RunDir inside Dir: got %v, want a refusal", err)
	}
}
