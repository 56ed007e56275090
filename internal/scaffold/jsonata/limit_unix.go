//go:build linux || darwin || freebsd

package jsonata

import "syscall"

// limitData caps the evaluator's heap: past it, allocation fails and the child ends, not the server.
func limitData(n uint64) {
	_ = syscall.Setrlimit(syscall.RLIMIT_DATA, &syscall.Rlimit{Cur: n, Max: n})
}
