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
// exec → /healthz answering, then reads the idle RSS.
func coldStart(ctx context.Context, bin string, starts int) error {
	var first, again []time.Duration
	var rss []int
	for i := 0; i < starts; i++ {
		dir, err := os.MkdirTemp("", "goldenpath-cold-")
		if err != nil {
			return err
		}
		d1, kb, err := startOnce(ctx, bin, dir, true)
		if err != nil {
			return err
		}
		d2, _, err := startOnce(ctx, bin, dir, false)
		os.RemoveAll(dir)
		if err != nil {
			return err
		}
		first, again, rss = append(first, d1), append(again, d2), append(rss, kb)
	}
	fmt.Printf("goldenpath up (binary; exec → /healthz OK; %d runs)\n", starts)
	fmt.Printf("  cold start, new data dir:      p50 %s  max %s\n", pct(first, 50), pct(first, 100))
	fmt.Printf("  cold start, existing data dir: p50 %s  max %s\n", pct(again, 50), pct(again, 100))
	med := append([]int(nil), rss...)
	for i := range med {
		for j := i + 1; j < len(med); j++ {
			if med[j] < med[i] {
				med[i], med[j] = med[j], med[i]
			}
		}
	}
	fmt.Printf("  idle RSS after 3 s (every embedded server running): median %.1f MB, max %.1f MB\n", float64(med[len(med)/2])/1024, float64(med[len(med)-1])/1024)
	return nil
}

func startOnce(ctx context.Context, bin, dir string, measureRSS bool) (time.Duration, int, error) {
	cmd := exec.CommandContext(ctx, bin, "up", "--data-dir", dir, "--addr", "127.0.0.1:0", "--s3-addr", "127.0.0.1:0", "--log-level", "error")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
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
		return 0, 0, fmt.Errorf("up printed no API URL")
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
			return 0, 0, fmt.Errorf("no /healthz after 10s")
		}
		time.Sleep(time.Millisecond)
	}
	took := time.Since(t0)
	if !measureRSS {
		return took, 0, nil
	}
	time.Sleep(3 * time.Second)
	kb, err := rssKB(cmd.Process.Pid)
	return took, kb, err
}

func rssKB(pid int) (int, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}
