package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var apiLine = regexp.MustCompile(`API\s+(http://\S+)/api/v1`)

// coldStart runs the binary's `up` on a fresh data dir (first start) and again on the same dir, timing
// exec → /healthz answering; then it starts it once more and reads its resident memory 3 s and idle after
// /healthz answered.
func coldStart(ctx context.Context, bin string, starts int, idle time.Duration) error {
	var first, again []time.Duration
	for i := 0; i < starts; i++ {
		dir, err := os.MkdirTemp("", "goldenpath-cold-")
		if err != nil {
			return err
		}
		d1, err := startOnce(ctx, bin, dir, nil)
		if err != nil {
			return err
		}
		d2, err := startOnce(ctx, bin, dir, nil)
		os.RemoveAll(dir)
		if err != nil {
			return err
		}
		first, again = append(first, d1), append(again, d2)
	}
	fmt.Printf("goldenpath up (binary; exec → /healthz OK; %d runs)\n", starts)
	fmt.Printf("  cold start, new data dir:      p50 %s  max %s\n", pct(first, 50), pct(first, 100))
	fmt.Printf("  cold start, existing data dir: p50 %s  max %s\n", pct(again, 50), pct(again, 100))
	return idleMemory(ctx, bin, idle)
}

// idleTarget is the most a new goldenpath may keep resident a minute after start (VmRSS).
const idleTarget = 56 << 20

// idleMemory starts `up` on a fresh data dir and reads its resident set (VmRSS, and how much of it is
// anonymous memory and how much mapped files) 3 s and idle after /healthz answered.
func idleMemory(ctx context.Context, bin string, idle time.Duration) error {
	dir, err := os.MkdirTemp("", "goldenpath-idle-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var early, late residency
	_, err = startOnce(ctx, bin, dir, func(pid int) error {
		var err error
		for _, at := range []struct {
			after time.Duration
			into  *residency
		}{{3 * time.Second, &early}, {idle - 3*time.Second, &late}} {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(at.after):
			}
			if *at.into, err = readResidency(pid); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	verdict := "meets"
	if late.rss > idleTarget {
		verdict = "MISSES"
	}
	fmt.Printf("  idle RSS (every embedded server running), %4s after start: %s\n", "3s", early)
	fmt.Printf("  idle RSS (every embedded server running), %4s after start: %s  (target ≤ %d MB a minute after start: %s)\n",
		idle, late, idleTarget>>20, verdict)
	return nil
}

// residency is a process's resident memory in bytes: all of it, anonymous, and mapped files.
type residency struct{ rss, anon, file int64 }

func (r residency) String() string {
	return fmt.Sprintf("%.1f MB (anonymous %.1f MB, files %.1f MB)", float64(r.rss)/(1<<20), float64(r.anon)/(1<<20), float64(r.file)/(1<<20))
}

func readResidency(pid int) (residency, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return residency{}, err
	}
	var r residency
	found := 0
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		into := map[string]*int64{"VmRSS:": &r.rss, "RssAnon:": &r.anon, "RssFile:": &r.file}[f[0]]
		if into == nil {
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return r, fmt.Errorf("%s in /proc/%d/status: %w", f[0], pid, err)
		}
		*into, found = kb<<10, found+1
	}
	if found != 3 {
		return r, fmt.Errorf("/proc/%d/status lacks VmRSS, RssAnon or RssFile", pid)
	}
	return r, nil
}

// startOnce starts `up` on dir and returns how long it took until /healthz answered; then, when measure is
// given, calls it with the process id before stopping the process.
func startOnce(ctx context.Context, bin, dir string, measure func(pid int) error) (time.Duration, error) {
	// Every listener on a free port, so that a goldenpath already running on the defaults does not matter.
	cmd := exec.CommandContext(ctx, bin, "up", "--data-dir", dir, "--addr", "127.0.0.1:0", "--s3-addr", "127.0.0.1:0", "--dns-addr", "127.0.0.1:0",
		"--gateway-addr", "127.0.0.1:0", "--gateway-tls-addr", "127.0.0.1:0", "--log-level", "error")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	base := ""
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if m := apiLine.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	if base == "" {
		return 0, fmt.Errorf("up printed no API URL")
	}
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Since(t0) > 10*time.Second {
			return 0, fmt.Errorf("no /healthz after 10s")
		}
		time.Sleep(time.Millisecond)
	}
	took := time.Since(t0)
	if measure == nil {
		return took, nil
	}
	return took, measure(cmd.Process.Pid)
}
