package localrun

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func numbered(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

func TestOutputSummaryKeepsTheStartAndTheEnd(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{name: "short output is whole", writes: []string{"listening\n", "boom\n"}, want: "listening\nboom"},
		{name: "no trailing newline", writes: []string{"listening\nboom"}, want: "listening\nboom"},
		{
			name:   "long output keeps the first 5 and the last 15 lines",
			writes: []string{numbered(1, 3), numbered(4, 100)},
			want:   strings.TrimSuffix(numbered(1, 5), "\n") + "\n[...]\n" + strings.TrimSuffix(numbered(86, 100), "\n"),
		},
		{
			name:   "more than the buffer",
			writes: []string{"start\n", strings.Repeat("0123456789\n", maxTail/10), "end\n"},
			want:   "start" + strings.Repeat("\n0123456789", 4) + "\n[...]" + strings.Repeat("\n0123456789", 14) + "\nend",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o outputTail
			for _, w := range tt.writes {
				if n, err := o.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write: got %d, %v; want %d, nil", n, err, len(w))
				}
			}
			if got := o.summary(tailLines); got != tt.want {
				t.Errorf("summary:\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestLogFileKeepsWholeRecentLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "output.log")
	l, err := openLogFile(path, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		fmt.Fprintf(l, "line %02d\n", i)
	}
	got, err := l.Tail()
	if err != nil {
		t.Fatal(err)
	}
	if want := numbered2(38, 49); string(got) != want {
		t.Errorf("Tail: got %q, want %q (the last whole lines within 100 bytes)", got, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() > 200 {
		t.Errorf("file size: got %d (%v), want at most 200 bytes", fi.Size(), err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if n, err := l.Write([]byte("after close\n")); n != 12 || err != nil {
		t.Errorf("Write after Close: got %d, %v; want it ignored without error", n, err)
	}
}

func numbered2(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "line %02d\n", i)
	}
	return b.String()
}
