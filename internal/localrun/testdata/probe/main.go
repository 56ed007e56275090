// Command probe is an app that tries what a hostile app would: it reads, writes and signals what the
// PROBE_* variables name (one path or pid a line; CONNECT names Unix sockets) and reports how each attempt ended at GET /, as JSON.
// goldenpath's local runtime tests deploy it to check that the sandbox stops every attempt.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

type report struct {
	UID      int               `json:"uid"`
	GID      int               `json:"gid"`
	Home     string            `json:"home"`
	Attempts map[string]string `json:"attempts"` // "read /x" → "ok" or the error
}

func main() {
	r := report{UID: os.Getuid(), GID: os.Getgid(), Home: os.Getenv("HOME"), Attempts: map[string]string{}}
	try := func(what string, err error) {
		if err == nil {
			r.Attempts[what] = "ok"
		} else {
			r.Attempts[what] = err.Error()
		}
	}
	for _, p := range lines("PROBE_READ") {
		try("read "+p, read(p))
	}
	for _, p := range lines("PROBE_WRITE") {
		try("write "+p, write(p))
	}
	for _, p := range lines("PROBE_CREATE") {
		try("create "+p, create(p))
	}
	for _, p := range lines("PROBE_CONNECT") {
		c, err := net.Dial("unix", p)
		if err == nil {
			c.Close()
		}
		try("connect "+p, err)
	}
	for _, s := range lines("PROBE_SIGNAL") {
		pid, err := strconv.Atoi(s)
		if err == nil {
			err = syscall.Kill(pid, 0)
		}
		try("signal "+s, err)
	}
	// What the app may do: its own directory and temporary files.
	try("create $HOME", create(filepath.Join(r.Home, "probe-own")))
	try("create $TMPDIR", create(filepath.Join(os.TempDir(), "probe-own")))
	try("read $HOME", read(r.Home))
	// What needs privileges: a device node, even in its own directory.
	try("mknod $HOME", syscall.Mknod(filepath.Join(r.Home, "probe-null"), syscall.S_IFCHR|0o600, 1<<8|3))

	http.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	http.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(r)
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func lines(key string) []string {
	var out []string
	for l := range strings.SplitSeq(os.Getenv(key), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// read reads a byte of a file, or an entry of a directory.
func read(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.IsDir() {
		_, err = f.ReadDir(1)
	} else {
		_, err = f.Read(make([]byte, 1))
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// write appends nothing to an existing file: opening it for writing is the attempt.
func write(p string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

func create(p string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}
