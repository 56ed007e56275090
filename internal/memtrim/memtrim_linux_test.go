package memtrim

import (
	"os"
	"strings"
	"testing"
)

const smapsSample = `00400000-0108b000 r--p 00000000 fe:00 1234                               /opt/gp/goldenpath
Size:              12844 kB
Rss:                3308 kB
Anonymous:             0 kB
0108b000-02ff9000 r-xp 00c8b000 fe:00 1234                               /opt/gp/goldenpath
Rss:               32184 kB
Anonymous:             0 kB
04fca000-04fcb000 r--p 04bca000 fe:00 1234                               /opt/gp/goldenpath
Rss:                   4 kB
Anonymous:             4 kB
04fcb000-050e5000 rw-p 04bcb000 fe:00 1234                               /opt/gp/goldenpath
Rss:                1128 kB
Anonymous:           200 kB
2271f3400000-2271f4800000 rw-p 00000000 00:00 0 
Rss:               16600 kB
Anonymous:         16600 kB
7f5dd89be000-7f5dd8b14000 r-xp 00028000 fe:00 99                         /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                 968 kB
Anonymous:             0 kB
7f5dd8c00000-7f5dd8c01000 r--p 00000000 fe:00 1235                       /opt/gp/a file with spaces
Rss:                   4 kB
Anonymous:             0 kB
`

func TestParseSmapsAndReleasable(t *testing.T) {
	maps, err := parseSmaps(strings.NewReader(smapsSample))
	if err != nil {
		t.Fatal(err)
	}
	if len(maps) != 7 {
		t.Fatalf("got %d mappings, want 7: %+v", len(maps), maps)
	}
	if m := maps[1]; m.start != 0x108b000 || m.end != 0x2ff9000 || m.perms != "r-xp" || m.rss != 32184<<10 || m.path != "/opt/gp/goldenpath" {
		t.Errorf("text mapping parsed as %+v", m)
	}
	if got := maps[6].path; got != "/opt/gp/a file with spaces" {
		t.Errorf("a path with spaces parsed as %q", got)
	}
	want := []bool{
		true,  // read-only data of the executable
		true,  // its text
		false, // relocated (RELRO): holds private copies
		false, // writable data
		false, // the heap
		false, // another file
		false, // another file
	}
	for i, m := range maps {
		if got := m.releasable("/opt/gp/goldenpath"); got != want[i] {
			t.Errorf("mapping %d (%s %s): releasable %v, want %v", i, m.perms, m.path, got, want[i])
		}
	}
}

// TestReleaseExecutable releases the test binary's own read-only mappings: it keeps running (the pages come
// back from the file as it touches them), and right afterwards fewer of them are resident.
func TestReleaseExecutable(t *testing.T) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Skip("no /proc/self/exe:", err)
	}
	resident := func() int64 {
		maps, err := readSmaps("/proc/self/smaps")
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, m := range maps {
			if m.path == exe && m.perms[1] == '-' {
				n += m.rss
			}
		}
		return n
	}
	before := resident()
	st, err := releaseExecutable()
	if err != nil {
		t.Fatal(err)
	}
	after := resident()
	if st.Executable <= 0 || after >= before {
		t.Errorf("released %d bytes; the executable's read-only mappings went from %d to %d resident bytes, want fewer", st.Executable, before, after)
	}
}
