// Package sandbox confines the programs goldenpath runs for developers (the local runtime's apps), so that an
// app can reach its own working directory and the system's shared files, and nothing of goldenpath's: not
// the data directory (the vault key, the admin token, the databases, the repositories), not other apps'
// directories, not goldenpath's environment or process.
//
// Two kernel mechanisms do it, each enough on its own, both used when available:
//   - Landlock (Linux 5.13+, no privileges needed): a filesystem allowlist, plus, from ABI 6, a scope that
//     keeps the app from signalling processes outside its sandbox and from abstract Unix sockets they listen
//     on. Landlock also forbids ptrace (and so /proc/<pid>/environ) of processes outside the sandbox.
//   - A user of its own per app, when goldenpath runs as root: the app runs under an unprivileged uid and
//     gid drawn from a reserved range, owns only its working directory, and ordinary permissions do the rest.
//
// Landlock restricts the thread that asks and what it executes, and cannot be lifted, so goldenpath cannot
// apply it to itself. Instead each app is started through a launcher: goldenpath's own program run again
// (/proc/self/exe) with a hidden first argument. The launcher switches user, sets no_new_privs, applies
// Landlock and then executes the app in its place. Every program that starts apps must therefore call
// [Main] first thing in main (tests: in TestMain).
//
// When neither mechanism is available the Sandbox refuses to run apps and says why; it never runs them
// unconfined.
package sandbox

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

// ErrUnavailable means no confinement is available, so apps cannot run. The wrapping error says why.
var ErrUnavailable = errors.New("refusing to run apps unconfined")

// The default range of uids and gids given to apps when goldenpath runs as root: above the ranges
// distributions, systemd (dynamic users, nspawn containers) and SSSD's default ID mapping use, and below
// 2^31 so that every tool handles them.
const (
	DefaultFirstID = 0x7F000000 // 2130706432
	DefaultIDCount = 1 << 20
)

// minLandlockABI is the oldest Landlock that confines on its own: ABI 3 is the first to control
// truncate(2), without which an app could empty goldenpath's files by name. Older ABIs still add a layer
// on top of the user switch.
const minLandlockABI = 3

// Options selects the mechanisms. The zero value uses every mechanism the system offers.
type Options struct {
	// NoLandlock does not use Landlock even when the kernel has it.
	NoLandlock bool
	// NoUserSwitch runs apps as goldenpath's own user even when goldenpath runs as root.
	NoUserSwitch bool
	// FirstID and IDCount are the range the apps' uids and gids are drawn from when goldenpath runs as
	// root; zero means DefaultFirstID and DefaultIDCount.
	FirstID, IDCount int
	// Private are directories of goldenpath's (its data directory). When the user switch is the only
	// mechanism, ordinary permissions are all that keep apps out of them, so each must be accessible to its
	// owner only (mode 0700); otherwise apps are refused.
	Private []string
}

// Sandbox starts apps confined. It is safe for concurrent use.
type Sandbox struct {
	landlock   int  // the Landlock ABI used; 0 when Landlock is not used
	switchUser bool // each app runs as a user of its own
	firstID    int
	idCount    int
	err        error // why apps cannot run; nil when they can

	mu   sync.Mutex
	used map[int]bool // ids handed to live jails
}

// installed records that this program called Main at start, so that /proc/self/exe is a launcher. It is
// process-wide by nature: it describes the program, not a Sandbox.
var installed atomic.Bool

// New finds out which mechanisms are available. It fails only for invalid options; whether apps may run
// is Err.
func New(opts Options) (*Sandbox, error) {
	if opts.FirstID < 0 || opts.IDCount < 0 {
		return nil, fmt.Errorf("FirstID %d and IDCount %d must not be negative (0 means the default)", opts.FirstID, opts.IDCount)
	}
	s := &Sandbox{firstID: opts.FirstID, idCount: opts.IDCount, used: map[int]bool{}}
	if s.firstID == 0 {
		s.firstID = DefaultFirstID
	}
	if s.idCount == 0 {
		s.idCount = DefaultIDCount
	}
	if s.firstID < 1000 || int64(s.firstID)+int64(s.idCount) > 1<<31 {
		return nil, fmt.Errorf("the app id range %d+%d must lie between 1000 and 2^31", s.firstID, s.idCount)
	}
	if !installed.Load() {
		s.err = fmt.Errorf("%w: this program does not call sandbox.Main when it starts, so it cannot start the launcher that confines them", ErrUnavailable)
		return s, nil
	}
	var why []string
	abi, llErr := landlockABI()
	switch {
	case opts.NoLandlock:
		why = append(why, "Landlock is turned off")
	case llErr != nil:
		why = append(why, "Landlock is not available: "+llErr.Error())
	default:
		s.landlock = abi
	}
	switch {
	case opts.NoUserSwitch:
		why = append(why, "running apps as users of their own is turned off")
	default:
		if err := userSwitch(); err != nil {
			why = append(why, err.Error())
		} else {
			s.switchUser = true
		}
	}
	if s.landlock > 0 && s.landlock < minLandlockABI && !s.switchUser {
		why = append(why, fmt.Sprintf("Landlock ABI %d is too old to confine on its own (ABI %d controls truncate)", s.landlock, minLandlockABI))
		s.landlock = 0
	}
	switch {
	case s.landlock == 0 && !s.switchUser:
		s.err = fmt.Errorf("%w: %s", ErrUnavailable, strings.Join(why, "; "))
	case s.landlock == 0:
		s.err = checkPrivate(opts.Private)
	}
	return s, nil
}

// checkPrivate refuses directories others can enter, for when permissions are the only protection.
func checkPrivate(dirs []string) error {
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%w: checking %s: %v", ErrUnavailable, d, err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return fmt.Errorf("%w: without Landlock only file permissions keep apps out of %s, and its mode is %v: make it accessible to its owner only (chmod 700 %s)",
				ErrUnavailable, d, fi.Mode().Perm(), d)
		}
	}
	return nil
}

// Err is nil when apps can run confined, else an ErrUnavailable that says why not.
func (s *Sandbox) Err() error { return s.err }

// String names the mechanisms in use, for the log.
func (s *Sandbox) String() string {
	var parts []string
	if s.landlock > 0 {
		parts = append(parts, fmt.Sprintf("Landlock ABI %d", s.landlock))
	}
	switch {
	case s.switchUser:
		parts = append(parts, fmt.Sprintf("a user of its own per app (ids from %d)", s.firstID))
	case s.landlock > 0:
		parts = append(parts, fmt.Sprintf("as goldenpath's user (uid %d)", os.Geteuid()))
		if s.landlock < 6 {
			parts = append(parts, "signals to goldenpath's user's processes are not blocked (Landlock ABI 6 would)")
		}
	default:
		return "none"
	}
	if s.noUnixSockets() {
		parts = append(parts, "no Unix sockets (seccomp)")
	}
	return strings.Join(parts, ", ")
}

// noUnixSockets says whether apps must be kept from creating Unix sockets, because nothing else keeps
// them from sockets of others: abstract ones before Landlock ABI 6 scopes them (they have no permissions),
// and, for an app running as goldenpath's user, ones by path before Landlock ABI 9 controls them (an ssh
// agent's, Docker's).
func (s *Sandbox) noUnixSockets() bool {
	return s.landlock < 6 || !s.switchUser && s.landlock < 9
}

// Landlock is the Landlock ABI apps are confined with, 0 when Landlock is not used.
func (s *Sandbox) Landlock() int { return s.landlock }

// SwitchesUser says whether each app runs as a user of its own.
func (s *Sandbox) SwitchesUser() bool { return s.switchUser }
