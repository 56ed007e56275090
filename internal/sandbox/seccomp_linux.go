package sandbox

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Abstract Unix sockets have no permissions: before Landlock ABI 6 scopes them, any app could connect to
// one another process listens on. And before ABI 9, Landlock does not control connecting to Unix sockets by
// path, so an app running as goldenpath's user could reach every socket that user can: an ssh or gpg agent,
// a desktop session's bus, Docker's socket for a member of its group. Where nothing else stops that, a
// seccomp filter denies creating Unix sockets at all (socketpair, which reaches no one, stays allowed).

// auditArch is the seccomp architecture of the native system calls; calls of another one (a 32-bit entry
// point) are refused, since the filter below only knows the native numbers.
var auditArch = map[string]uint32{"amd64": unix.AUDIT_ARCH_X86_64, "arm64": unix.AUDIT_ARCH_AARCH64}

// denyUnixSockets installs the filter on the calling thread (inherited by what it executes); no_new_privs
// must be set.
func denyUnixSockets() error {
	arch, ok := auditArch[runtime.GOARCH]
	if !ok {
		return fmt.Errorf("cannot keep the app from Unix sockets on %s without Landlock ABI 9 or a user switch", runtime.GOARCH)
	}
	const (
		load     = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq      = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jge      = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		ret      = unix.BPF_RET | unix.BPF_K
		x32Bit   = 0x40000000 // x32 system calls on amd64 carry it
		offNr    = 0          // struct seccomp_data
		offArch  = 4
		offArg0  = 16 // the low 32 bits of args[0] on a little-endian machine
		retAllow = unix.SECCOMP_RET_ALLOW
		retNosys = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
		retDeny  = unix.SECCOMP_RET_ERRNO | uint32(unix.EACCES)
	)
	filter := []unix.SockFilter{
		/* 0 */ {Code: load, K: offArch},
		/* 1 */ {Code: jeq, K: arch, Jt: 0, Jf: 5}, // another architecture → 7
		/* 2 */ {Code: load, K: offNr},
		/* 3 */ {Code: jge, K: x32Bit, Jt: 3, Jf: 0}, // x32 → 7
		/* 4 */ {Code: jeq, K: uint32(unix.SYS_SOCKET), Jt: 0, Jf: 3}, // not socket(2) → 8
		/* 5 */ {Code: load, K: offArg0},
		/* 6 */ {Code: jeq, K: unix.AF_UNIX, Jt: 2, Jf: 1}, // AF_UNIX → 9, else → 8
		/* 7 */ {Code: ret, K: retNosys},
		/* 8 */ {Code: ret, K: retAllow},
		/* 9 */ {Code: ret, K: retDeny},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0); err != nil {
		return fmt.Errorf("installing the seccomp filter against Unix sockets: %w", err)
	}
	runtime.KeepAlive(filter)
	return nil
}
