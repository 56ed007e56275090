// Package memtrim gives back the memory a long-running goldenpath needed only to start: the heap pages
// start-up freed, and the pages of its own executable that start-up touched.
//
// Start-up runs the init code of every package linked in, spread over the whole text and read-only data of
// a large binary; a kernel that caches the executable in large folios (Linux 6.x on ext4, xfs, tmpfs) maps
// each folio whole on the first touch, so all of it stays in the resident set although an idle server uses
// a fraction. Those pages are clean copies of the file: dropping our mappings of them loses nothing, and
// what runs afterwards maps again only what it touches.
package memtrim

import (
	"log/slog"
	"runtime/debug"
)

// Stats is what a release gave back, in bytes.
type Stats struct {
	// Executable is the resident size of the executable's read-only mappings that were released.
	Executable int64
}

// Release returns the freed heap to the operating system and releases the executable's read-only mappings
// (on Linux; elsewhere only the heap). Call it once start-up is over.
func Release(log *slog.Logger) Stats {
	debug.FreeOSMemory()
	st, err := releaseExecutable()
	if err != nil {
		log.Debug("releasing the executable's start-up pages", "err", err)
	}
	return st
}
