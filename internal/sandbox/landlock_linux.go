package sandbox

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Landlock is called through its system calls (golang.org/x/sys/unix has the numbers and constants):
// github.com/landlock-lsm/go-landlock restricts every thread of the calling process, which is what a
// program confining itself wants, but the launcher needs only the thread that executes the app, and the
// library's pre-ABI-8 path depends on libcap's psx, which needs special linking under cgo.

// landlockABI is the kernel's Landlock ABI version, or why there is none.
func landlockABI() (int, error) {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	switch {
	case errno == unix.ENOSYS:
		return 0, errors.New("this kernel was built without it (CONFIG_SECURITY_LANDLOCK)")
	case errno == unix.EOPNOTSUPP:
		return 0, errors.New("the kernel has it but it is not enabled: add landlock to the lsm= boot parameter")
	case errno != 0:
		return 0, fmt.Errorf("asking the kernel for its version: %w", errno)
	}
	return int(v), nil
}

// Filesystem access rights, by the ABI that introduced them.
const (
	fsExecute    = unix.LANDLOCK_ACCESS_FS_EXECUTE
	fsWriteFile  = unix.LANDLOCK_ACCESS_FS_WRITE_FILE
	fsReadFile   = unix.LANDLOCK_ACCESS_FS_READ_FILE
	fsReadDir    = unix.LANDLOCK_ACCESS_FS_READ_DIR
	fsABI1       = 1<<13 - 1 // execute … make_sym
	fsRefer      = unix.LANDLOCK_ACCESS_FS_REFER
	fsTruncate   = unix.LANDLOCK_ACCESS_FS_TRUNCATE
	fsIoctlDev   = unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	fsResolveUnx = unix.LANDLOCK_ACCESS_FS_RESOLVE_UNIX

	// fsFileRights are the rights that apply to a file (as opposed to a directory); a rule on a file may
	// grant only these.
	fsFileRights = fsExecute | fsWriteFile | fsReadFile | fsTruncate | fsIoctlDev
	fsRead       = fsExecute | fsReadFile | fsReadDir
)

// handledFS is every filesystem right the ABI can control: whatever is handled and not granted is denied.
func handledFS(abi int) uint64 {
	h := uint64(fsABI1)
	if abi >= 2 {
		h |= fsRefer
	}
	if abi >= 3 {
		h |= fsTruncate
	}
	if abi >= 5 {
		h |= fsIoctlDev
	}
	if abi >= 9 {
		h |= fsResolveUnx
	}
	return h
}

// rulesetAttr is struct landlock_ruleset_attr up to the scoped field (ABI 6); the kernel is told its size.
type rulesetAttr struct {
	handledFS  uint64
	handledNet uint64
	scoped     uint64
}

// A rule grants access beneath a path.
type rule struct {
	path   string
	access uint64
}

// systemRules are what any program may need to read: its libraries and interpreter, a shell and tools,
// name resolution, certificates, time zones, the users database, and the harmless devices. Not /etc as a
// whole (it holds /etc/shadow and keys of other services), /proc (other processes), /sys, /tmp, /run,
// /var or /home.
var systemRules = []rule{
	{"/usr", fsRead}, {"/bin", fsRead}, {"/sbin", fsRead},
	{"/lib", fsRead}, {"/lib64", fsRead}, {"/lib32", fsRead}, {"/libx32", fsRead},
	{"/etc/ld.so.cache", fsRead}, {"/etc/ld.so.preload", fsRead},
	{"/etc/hosts", fsRead}, {"/etc/resolv.conf", fsRead}, {"/etc/nsswitch.conf", fsRead},
	{"/etc/host.conf", fsRead}, {"/etc/gai.conf", fsRead}, {"/etc/services", fsRead}, {"/etc/protocols", fsRead},
	// Certificates where Go's crypto/x509 and OpenSSL look, without /etc/ssl/private.
	{"/etc/ssl/certs", fsRead}, {"/etc/ssl/cert.pem", fsRead}, {"/etc/ssl/ca-bundle.pem", fsRead},
	{"/etc/ssl/openssl.cnf", fsRead}, {"/etc/pki/tls/certs", fsRead}, {"/etc/pki/tls/cacert.pem", fsRead},
	{"/etc/pki/tls/cert.pem", fsRead}, {"/etc/pki/ca-trust/extracted", fsRead},
	{"/etc/localtime", fsRead}, {"/etc/timezone", fsRead},
	{"/etc/passwd", fsRead}, {"/etc/group", fsRead}, {"/etc/mime.types", fsRead},
	{"/dev/null", fsReadFile | fsWriteFile | fsTruncate}, {"/dev/full", fsReadFile | fsWriteFile | fsTruncate},
	{"/dev/zero", fsReadFile}, {"/dev/random", fsReadFile}, {"/dev/urandom", fsReadFile},
}

// landlockRuleset builds the app's ruleset: the system rules, its binary (run and read: a script is read
// by its interpreter) and its working directory (everything). It returns the ruleset's descriptor.
func landlockRuleset(sp spec) (int, error) {
	attr := rulesetAttr{handledFS: handledFS(sp.Landlock)}
	size := unsafe.Sizeof(attr.handledFS)
	if sp.Landlock >= 6 {
		attr.scoped = unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | unix.LANDLOCK_SCOPE_SIGNAL
		size = unsafe.Sizeof(attr)
	}
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if errno != 0 {
		return -1, fmt.Errorf("creating the Landlock ruleset (ABI %d): %w", sp.Landlock, errno)
	}
	rules := append(systemRules[:len(systemRules):len(systemRules)],
		rule{sp.Binary, fsExecute | fsReadFile},
		rule{sp.WorkDir, attr.handledFS})
	for _, r := range rules {
		if err := addRule(int(fd), r, attr.handledFS, r.path == sp.Binary || r.path == sp.WorkDir); err != nil {
			unix.Close(int(fd))
			return -1, err
		}
	}
	return int(fd), nil
}

// addRule grants r's access (limited to what is handled, and to file rights on a file). A missing system
// path is skipped; a missing binary or working directory is an error.
func addRule(ruleset int, r rule, handled uint64, required bool) error {
	fd, err := unix.Open(r.path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		if !required && errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("opening %s for a Landlock rule: %w", r.path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("opening %s for a Landlock rule: %w", r.path, err)
	}
	access := r.access & handled
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		access &= fsFileRights
	}
	attr := unix.LandlockPathBeneathAttr{Allowed_access: access, Parent_fd: int32(fd)}
	if _, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(ruleset), unix.LANDLOCK_RULE_PATH_BENEATH,
		uintptr(unsafe.Pointer(&attr)), 0, 0, 0); errno != 0 {
		return fmt.Errorf("adding the Landlock rule for %s: %w", r.path, errno)
	}
	return nil
}

// landlockRestrict confines the calling thread (and what it executes) to the ruleset.
func landlockRestrict(ruleset int) error {
	defer unix.Close(ruleset)
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(ruleset), 0, 0); errno != 0 {
		return fmt.Errorf("applying the Landlock ruleset: %w", errno)
	}
	return nil
}
