package sandbox

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestMain(m *testing.M) {
	Main() // this test binary launches the scripts below
	os.Exit(m.Run())
}

func TestOptions(t *testing.T) {
	for _, opts := range []Options{{FirstID: -1}, {IDCount: -1}, {FirstID: 10}, {FirstID: 1 << 30, IDCount: 1<<30 + 1}} {
		if _, err := New(opts); err == nil {
			t.Errorf("New(%+v): got no error, want the id range refused", opts)
		}
	}
}

func TestRefusals(t *testing.T) {
	t.Run("no mechanism", func(t *testing.T) {
		s, err := New(Options{NoLandlock: true, NoUserSwitch: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Err(); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "Landlock is turned off") ||
			!strings.Contains(err.Error(), "users of their own is turned off") {
			t.Errorf("Err: got %v, want the refusal naming both mechanisms", err)
		}
		if _, err := s.NewJail(filepath.Join(t.TempDir(), "app")); !errors.Is(err, ErrUnavailable) {
			t.Errorf("NewJail: got %v, want the refusal", err)
		}
	})
	t.Run("a program that does not call Main", func(t *testing.T) {
		installed.Store(false)
		defer installed.Store(true)
		s, err := New(Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Err(); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "sandbox.Main") {
			t.Errorf("Err: got %v, want a refusal saying the program does not call sandbox.Main", err)
		}
	})
}

// searchableDir is a directory, removed after the test, whose parents any user may pass through, as apps
// running as their own users must (t.TempDir's parent is private).
func searchableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sandbox-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	return dir
}

// usable returns a Sandbox with opts, skipping the test when the machine cannot offer it.
func usable(t *testing.T, opts Options) *Sandbox {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if s.Err() != nil {
		t.Skipf("not on this machine: %v", s.Err())
	}
	return s
}

func TestJailsOfTheirOwnUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	s := usable(t, Options{NoLandlock: true})
	root := searchableDir(t)
	a, err := s.NewJail(filepath.Join(root, "a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.NewJail(filepath.Join(root, "b"))
	if err != nil {
		t.Fatal(err)
	}
	if a.UID() < DefaultFirstID || a.UID() >= DefaultFirstID+DefaultIDCount || a.UID() == b.UID() {
		t.Errorf("uids: got %d and %d, want two different ones in the range from %d", a.UID(), b.UID(), DefaultFirstID)
	}
	checks := []struct {
		path     string
		mode     os.FileMode
		uid, gid int
	}{
		{a.Dir, 0o710, 0, a.UID()},
		{a.BinDir, 0o755, 0, 0},
		{a.WorkDir, 0o700, a.UID(), a.UID()},
		{a.TmpDir, 0o700, a.UID(), a.UID()},
	}
	for _, c := range checks {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != c.mode || int(st.Uid) != c.uid || int(st.Gid) != c.gid {
			t.Errorf("%s: got %v %d:%d, want %v %d:%d", c.path, fi.Mode().Perm(), st.Uid, st.Gid, c.mode, c.uid, c.gid)
		}
	}
	a.Release()
	if s.used[a.UID()] || !s.used[b.UID()] {
		t.Errorf("after releasing a: ids in use %v, want only b's %d", s.used, b.UID())
	}

	// An id that names a user is never handed out: with nobody's (65534) as the whole range, none is free.
	if !known(65534) {
		t.Skip("this system has no user 65534")
	}
	only, err := New(Options{NoLandlock: true, FirstID: 65534, IDCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := only.NewJail(filepath.Join(root, "c")); err == nil || !strings.Contains(err.Error(), "no free uid") {
		t.Errorf("NewJail with only a user's id in the range: got %v, want no free uid", err)
	}
}

func TestCommand(t *testing.T) {
	s := usable(t, Options{})
	j, err := s.NewJail(filepath.Join(searchableDir(t), "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Release()
	if _, err := j.Command("/bin/sh", nil); err == nil {
		t.Error("Command(/bin/sh): got no error, want binaries outside the jail's BinDir refused")
	}
	private := filepath.Join(t.TempDir(), "private")
	if err := os.WriteFile(private, []byte("goldenpath's"), 0o600); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(j.BinDir, "script")
	body := "#!/bin/sh\necho mine > \"$HOME/file\" && cat \"$HOME/file\"\ncat " + private + " || echo refused\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd, err := j.Command(script, []string{"HOME=" + j.WorkDir, "PATH=/usr/bin:/bin"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("running the script confined (%s): %v\n%s", j, err, out.String())
	}
	if got := out.String(); !strings.HasPrefix(got, "mine\n") || !strings.HasSuffix(got, "refused\n") || strings.Contains(got, "goldenpath's") {
		t.Errorf("output: got %q, want its own file read and goldenpath's refused", got)
	}
}
