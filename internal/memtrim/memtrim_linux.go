package memtrim

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// mapping is one line of /proc/self/smaps with the fields that decide whether it may be released.
type mapping struct {
	start, end uintptr
	perms      string // e.g. "r-xp"
	path       string
	rss        int64 // bytes
	anonymous  int64 // bytes of private copies (relocated or written pages): never released
}

// releasable says whether m is a read-only private mapping of the executable holding no private copies:
// its pages are the file's, and dropping them loses nothing.
func (m mapping) releasable(exe string) bool {
	return m.path == exe && len(m.perms) == 4 && m.perms[1] == '-' && m.perms[3] == 'p' && m.anonymous == 0 && m.rss > 0
}

func releaseExecutable() (Stats, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return Stats{}, err
	}
	maps, err := readSmaps("/proc/self/smaps")
	if err != nil {
		return Stats{}, err
	}
	var st Stats
	for _, m := range maps {
		if !m.releasable(exe) {
			continue
		}
		// MADV_DONTNEED on a private file mapping without private copies only unmaps the page-cache pages;
		// the next access maps them again from the cache.
		// The range is this process's own mapping as smaps lists it, not Go memory, so it is passed as
		// numbers rather than as a slice.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_DONTNEED); errno != 0 {
			return st, fmt.Errorf("madvise %x-%x %s: %w", m.start, m.end, m.perms, errno)
		}
		st.Executable += m.rss
	}
	// Pages nobody maps any more leave the page cache too, large folios included: what runs from now on
	// reads its pages back in small folios (read-around), so the resident set follows the code an idle
	// server runs instead of the folios start-up happened to touch. Pages other processes map stay.
	f, err := os.Open(exe)
	if err != nil {
		return st, err // e.g. the binary was replaced since it started: its mappings were released anyway
	}
	defer f.Close()
	// A binary built moments ago may still be dirty in the page cache, and dirty pages are not dropped:
	// write it out first (once; afterwards there is nothing to write).
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return st, fmt.Errorf("fdatasync %s: %w", exe, err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return st, fmt.Errorf("fadvise %s: %w", exe, err)
	}
	return st, nil
}

func readSmaps(path string) ([]mapping, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseSmaps(f)
}

// parseSmaps reads the mappings of an smaps file: a header line per mapping, then "Key: value kB" lines.
func parseSmaps(r io.Reader) ([]mapping, error) {
	var out []mapping
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(fields[0], "-"); ok && len(fields) >= 5 {
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 == nil && err2 == nil {
				m := mapping{start: uintptr(start), end: uintptr(end), perms: fields[1]}
				if len(fields) >= 6 {
					m.path = strings.Join(fields[5:], " ")
				}
				out = append(out, m)
				continue
			}
		}
		if len(out) == 0 || len(fields) < 2 {
			continue
		}
		kb, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			continue
		}
		switch fields[0] {
		case "Rss:":
			out[len(out)-1].rss = kb << 10
		case "Anonymous:":
			out[len(out)-1].anonymous = kb << 10
		}
	}
	return out, sc.Err()
}
