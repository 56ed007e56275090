package sandbox

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
)

// Jail is one app's place: a directory of goldenpath's holding the app's binaries (BinDir) and the app's
// own working directory (WorkDir, with TmpDir inside), and, when the Sandbox switches users, the uid and
// gid the app runs as. Only WorkDir is writable by the app.
type Jail struct {
	s       *Sandbox
	Dir     string
	BinDir  string
	WorkDir string
	TmpDir  string
	uid     int // -1: goldenpath's own
	gid     int
}

// launchArg is the hidden first argument that makes goldenpath's program the launcher.
const launchArg = "__goldenpath_sandbox_launch__"

// NewJail makes dir (which must not be inside goldenpath's data directory) an app's jail, replacing
// whatever was there. Its parent must exist. Release frees the jail's ids when the app is gone.
func (s *Sandbox) NewJail(dir string) (*Jail, error) {
	if s.err != nil {
		return nil, s.err
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	j := &Jail{s: s, Dir: dir, BinDir: filepath.Join(dir, "bin"), WorkDir: filepath.Join(dir, "work"), uid: -1, gid: -1}
	j.TmpDir = filepath.Join(j.WorkDir, "tmp")
	if s.switchUser {
		if err := searchable(filepath.Dir(dir)); err != nil {
			return nil, err
		}
		if j.uid, err = s.allocate(); err != nil {
			return nil, err
		}
		j.gid = j.uid
	}
	if err := j.create(); err != nil {
		j.Release()
		return nil, fmt.Errorf("preparing the app's directory %s: %w", dir, err)
	}
	return j, nil
}

// create lays the jail out. With a user switch, Dir is goldenpath's and only the app's group may pass
// through it (0710), BinDir is goldenpath's (the app runs its binaries, cannot change them) and WorkDir
// with TmpDir belong to the app, private to it.
func (j *Jail) create() error {
	if err := os.RemoveAll(j.Dir); err != nil {
		return err
	}
	if err := os.Mkdir(j.Dir, 0o700); err != nil {
		return err
	}
	if err := os.Mkdir(j.BinDir, 0o755); err != nil {
		return err
	}
	for _, d := range []string{j.WorkDir, j.TmpDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
		if j.uid >= 0 {
			if err := os.Lchown(d, j.uid, j.gid); err != nil {
				return err
			}
		}
	}
	if j.uid >= 0 {
		if err := os.Lchown(j.Dir, os.Geteuid(), j.gid); err != nil {
			return err
		}
		return os.Chmod(j.Dir, 0o710)
	}
	return nil
}

// searchable checks that a user of no group could reach dir: an app running as its own user must pass
// through every directory above its jail.
func searchable(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%w: apps run as users of their own and cannot pass through %s (mode %v) to reach their directory under %s; choose a directory whose parents others may search (chmod o+x)",
				ErrUnavailable, d, fi.Mode().Perm(), dir)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// allocate picks an unused id for a new app: random in the range, so that two goldenpath processes on one
// machine are unlikely to pick the same, and never one that names a user or a group, or that a process
// runs as.
func (s *Sandbox) allocate() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	running := uidsInUse()
	for range 64 {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(s.idCount)))
		if err != nil {
			return 0, err
		}
		id := s.firstID + int(n.Int64())
		if s.used[id] || running[id] || known(id) {
			continue
		}
		s.used[id] = true
		return id, nil
	}
	return 0, fmt.Errorf("%w: found no free uid in %d..%d", ErrUnavailable, s.firstID, s.firstID+s.idCount-1)
}

// known says whether id names a user or a group on this system.
func known(id int) bool {
	_, uerr := user.LookupId(strconv.Itoa(id))
	_, gerr := user.LookupGroupId(strconv.Itoa(id))
	var unknownUser user.UnknownUserIdError
	var unknownGroup user.UnknownGroupIdError
	return !errors.As(uerr, &unknownUser) || !errors.As(gerr, &unknownGroup)
}

// Release gives the jail's ids back. The caller removes Dir once the app's processes are gone.
func (j *Jail) Release() {
	if j.uid < 0 {
		return
	}
	j.s.mu.Lock()
	defer j.s.mu.Unlock()
	delete(j.s.used, j.uid)
}

// noUnixSockets says whether the app must be kept from creating Unix sockets.
func (j *Jail) noUnixSockets() bool { return j.s.noUnixSockets() }

// UID is the user the app runs as, -1 for goldenpath's own.
func (j *Jail) UID() int { return j.uid }

// String describes the confinement, for the app's log.
func (j *Jail) String() string {
	s := "confined by "
	if j.s.landlock > 0 {
		s += fmt.Sprintf("Landlock ABI %d", j.s.landlock)
		if j.uid >= 0 {
			s += " and "
		}
	}
	if j.uid >= 0 {
		s += fmt.Sprintf("uid %d", j.uid)
	}
	if j.noUnixSockets() {
		s += ", no Unix sockets"
	}
	return s
}

// spec is what goldenpath tells the launcher.
type spec struct {
	Binary   string `json:"binary"`
	WorkDir  string `json:"workDir"`
	UID      int    `json:"uid"` // -1: stay
	GID      int    `json:"gid"`
	Landlock int    `json:"landlock"` // ABI; 0: none
	// NoUnixSockets denies creating Unix sockets, for when nothing else keeps the app from others' sockets.
	NoUnixSockets bool `json:"noUnixSockets"`
}

// Command is the command that runs binary (which must be under BinDir) confined in the jail, with env as
// its whole environment and WorkDir as its working directory. The caller sets its output and process
// attributes and starts it.
func (j *Jail) Command(binary string, env []string) (*exec.Cmd, error) {
	if rel, err := filepath.Rel(j.BinDir, binary); err != nil || !filepath.IsLocal(rel) {
		return nil, fmt.Errorf("binary %s: it must be under the jail's %s", binary, j.BinDir)
	}
	arg, err := json.Marshal(spec{Binary: binary, WorkDir: j.WorkDir, UID: j.uid, GID: j.gid, Landlock: j.s.landlock,
		NoUnixSockets: j.noUnixSockets()})
	if err != nil {
		return nil, err
	}
	// /proc/self/exe is this program even if its file was replaced or deleted since it started.
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{"goldenpath-sandbox", launchArg, string(arg)}
	cmd.Dir = j.WorkDir
	cmd.Env = env
	return cmd, nil
}
