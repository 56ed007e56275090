package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Main makes this program able to confine apps: when it was started as the launcher it confines itself
// and executes the app in its place, never returning; otherwise it returns at once. Call it first thing
// in main (and in TestMain of tests that start apps), before anything else runs.
func Main() {
	installed.Store(true)
	if len(os.Args) != 3 || os.Args[1] != launchArg {
		return
	}
	err := launch(os.Args[2])
	// The app's output is goldenpath's pipe: this shows in the failed deployment's last output.
	fmt.Fprintf(os.Stderr, "goldenpath: cannot start the app confined: %v\n", err)
	os.Exit(127)
}

// launch confines this process as sp says and executes the app. It returns only on failure.
func launch(arg string) error {
	var sp spec
	if err := json.Unmarshal([]byte(arg), &sp); err != nil {
		return fmt.Errorf("reading the launch spec: %w", err)
	}
	parent := os.Getppid()
	// no_new_privs, capabilities and Landlock are per thread, and execve keeps the calling thread's:
	// everything below happens on this one thread.
	runtime.LockOSThread()
	ruleset := -1
	if sp.Landlock > 0 {
		// Built before the user switch: goldenpath's user can open every path the rules name.
		fd, err := landlockRuleset(sp)
		if err != nil {
			return err
		}
		ruleset = fd
	}
	if sp.UID >= 0 {
		if err := switchUser(sp.UID, sp.GID); err != nil {
			return err
		}
	} else if os.Geteuid() == 0 {
		if err := dropCapabilities(); err != nil {
			return err
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("setting no_new_privs: %w", err)
	}
	if ruleset >= 0 {
		if err := landlockRestrict(ruleset); err != nil {
			return err
		}
	}
	if sp.NoUnixSockets {
		if err := denyUnixSockets(); err != nil {
			return err
		}
	}
	// A change of user clears the parent-death signal goldenpath asked for: ask again, then make sure
	// goldenpath did not die in between.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("setting the parent-death signal: %w", err)
	}
	if os.Getppid() != parent {
		return errors.New("goldenpath exited while the app was starting")
	}
	return execRetryingBusy(sp.Binary)
}

// switchUser makes this process the app's user with no supplementary groups. Go applies these to every
// thread; the kernel drops all capabilities with the switch away from root.
func switchUser(uid, gid int) error {
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("clearing supplementary groups: %w", err)
	}
	if err := syscall.Setresgid(gid, gid, gid); err != nil {
		return fmt.Errorf("switching to gid %d: %w", gid, err)
	}
	if err := syscall.Setresuid(uid, uid, uid); err != nil {
		return fmt.Errorf("switching to uid %d: %w", uid, err)
	}
	return nil
}

// dropCapabilities leaves root without privileges: an app that stays uid 0 (Landlock alone, by choice)
// must not keep root's capabilities, nor regain them at execve, which grants root whatever the bounding
// set allows. So the bounding set is emptied first, then the thread's own sets.
func dropCapabilities() error {
	for c := 0; ; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			if errors.Is(err, unix.EINVAL) && c > 0 {
				break // past the last capability this kernel knows
			}
			return fmt.Errorf("dropping capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("clearing ambient capabilities: %w", err)
	}
	var data [2]unix.CapUserData
	if err := unix.Capset(&unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}, &data[0]); err != nil {
		return fmt.Errorf("dropping capabilities: %w", err)
	}
	return nil
}

// execRetryingBusy executes binary in place of this process, retrying while the kernel says "text file
// busy": a process forked elsewhere in goldenpath (a git command) while the binary was still open for
// writing holds a copy of that descriptor until it execs (https://go.dev/issue/22315). The window is
// milliseconds.
func execRetryingBusy(binary string) error {
	var err error
	for attempt := range 20 {
		if err = syscall.Exec(binary, []string{binary}, os.Environ()); !errors.Is(err, syscall.ETXTBSY) {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	return fmt.Errorf("executing %s: %w", binary, err)
}

// userSwitch says why this process may not run apps as other users, nil if it may.
func userSwitch() error {
	if uid := os.Geteuid(); uid != 0 {
		return fmt.Errorf("goldenpath runs as uid %d, not root, so it cannot run apps as users of their own", uid)
	}
	return nil
}

// uidsInUse are the real uids of running processes.
func uidsInUse() map[int]bool {
	out := map[int]bool{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		for line := range strings.SplitSeq(string(raw), "\n") {
			if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
				if f := strings.Fields(rest); len(f) > 0 {
					if uid, err := strconv.Atoi(f[0]); err == nil {
						out[uid] = true
					}
				}
				break
			}
		}
	}
	return out
}
