//go:build !(linux || darwin || freebsd)

package jsonata

// limitData is a no-op where the system has no data limit; the soft memory limit and the deadline remain.
func limitData(uint64) {}
