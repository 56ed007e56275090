// Package dbfile keeps SQLite database files private to the user running goldenpath. SQLite creates a
// database with mode 0644 (less the umask) and gives its -wal and -shm files the database's mode, so a
// database created as 0600 before SQLite opens it stays private in all its files.
package dbfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Mode is the mode of every database file.
const Mode fs.FileMode = 0o600

// companions are the files SQLite keeps next to a database, named by suffix.
var companions = []string{"", "-wal", "-shm", "-journal"}

// Prepare creates the database at path (empty, mode 0600) when it does not exist, and makes an existing one
// and its -wal, -shm and -journal files mode 0600. Call it before opening path with SQLite.
func Prepare(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, Mode)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	for _, suffix := range companions {
		name := path + suffix
		info, err := os.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("checking %s: %w", name, err)
		}
		if info.Mode().Perm() == Mode {
			continue
		}
		if err := os.Chmod(name, Mode); err != nil {
			return fmt.Errorf("making %s private (mode %o): %w", name, Mode, err)
		}
	}
	return nil
}
