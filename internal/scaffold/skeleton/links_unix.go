//go:build unix

package skeleton

import (
	"io/fs"
	"syscall"
)

// hardLinks is the number of names a file has.
func hardLinks(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}
