package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The gateway part loads each target in turn with wrk, every one in its own process on loopback:
// the upstream alone, the upstream through goldenpath's gateway (bench/gatewayd) with all CPUs and
// with one, and through nginx (one worker, keepalive to the upstream); first with access logs off,
// then on for both (a file, one write per request: nginx's default unbuffered access_log). Rounds
// are interleaved and each figure printed is the median of a target's rounds, so that neither a
// burst of load from elsewhere on the machine nor one lucky round decides the comparison.
const (
	gwHost     = "bench.test"
	gwWrkArgs  = "-t2 -c32 --latency"
	gwDuration = 10 * time.Second
	gwWarmup   = 2 * time.Second
	gwRounds   = 3
)

// gwTarget is one process under load.
type gwTarget struct {
	label  string
	url    string
	pid    int
	proxy  bool
	log    bool
	rounds []gwResult
}

type gwResult struct {
	rps, cores, cpuPerReq float64
	p50, p99              time.Duration
	bad                   string // non-2xx responses or socket errors wrk reported
}

func gatewayBench(ctx context.Context) error {
	fmt.Printf("dev gateway vs nginx (wrk %s -d%s, medians of %d interleaved rounds; %d CPUs; upstream: Go net/http, 300-byte body)\n", gwWrkArgs, gwDuration, gwRounds, runtime.NumCPU())
	if _, err := exec.LookPath("wrk"); err != nil {
		fmt.Println("  skipped: wrk is not installed (apt-get install -y wrk)")
		return nil
	}
	dir, err := os.MkdirTemp("", "goldenpath-gwbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var procs []*exec.Cmd
	defer func() { gwStopAll(procs) }()
	targets, err := gwStartTargets(ctx, dir, &procs)
	if err != nil {
		return err
	}
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("  load average before: %s\n", strings.Join(strings.Fields(string(load))[:3], " "))
	}
	for range gwRounds {
		for _, t := range targets {
			res, err := gwMeasure(ctx, t)
			if err != nil {
				return err
			}
			t.rounds = append(t.rounds, res)
		}
	}
	gwPrint(targets)
	return nil
}

// gwStartTargets builds and starts the upstream, the gateways and nginx (skipped, with a note, if
// it is not installed). Started processes go to procs, to be stopped by the caller.
func gwStartTargets(ctx context.Context, dir string, procs *[]*exec.Cmd) ([]*gwTarget, error) {
	bins, err := gwBuild(ctx, dir)
	if err != nil {
		return nil, err
	}
	start := func(env []string, bin string, args ...string) (string, int, error) {
		cmd, addr, err := gwStart(ctx, env, bin, args...)
		if cmd != nil {
			*procs = append(*procs, cmd)
		}
		if err != nil {
			return "", 0, fmt.Errorf("starting %s: %w", filepath.Base(bin), err)
		}
		return addr, cmd.Process.Pid, nil
	}
	upAddr, upPID, err := start(nil, bins["upstream"])
	if err != nil {
		return nil, err
	}
	targets := []*gwTarget{{label: "upstream direct", url: upAddr, pid: upPID}}
	nginx, nginxErr := exec.LookPath("nginx")
	if nginxErr != nil {
		fmt.Println("  nginx skipped: not installed (apt-get install -y nginx-light)")
	}
	for _, logOn := range []bool{false, true} {
		procsSettings := []int{runtime.NumCPU(), 1}
		if logOn {
			procsSettings = procsSettings[:1]
		}
		for _, n := range procsSettings {
			args := []string{"-upstream", upAddr, "-host", gwHost}
			if logOn {
				args = append(args, "-access-log", filepath.Join(dir, "gateway-access.log"))
			}
			addr, pid, err := start([]string{"GOMAXPROCS=" + strconv.Itoa(n)}, bins["gatewayd"], args...)
			if err != nil {
				return nil, err
			}
			targets = append(targets, &gwTarget{label: fmt.Sprintf("gateway (Go, GOMAXPROCS=%d)", n), url: addr, pid: pid, proxy: true, log: logOn})
		}
		if nginxErr != nil {
			continue
		}
		cmd, addr, err := gwStartNginx(ctx, nginx, dir, upAddr, logOn)
		if cmd != nil {
			*procs = append(*procs, cmd)
		}
		if err != nil {
			return nil, fmt.Errorf("starting nginx: %w", err)
		}
		targets = append(targets, &gwTarget{label: gwNginxVersion(nginx) + " (1 worker)", url: addr, pid: cmd.Process.Pid, proxy: true, log: logOn})
	}
	return targets, nil
}

func gwPrint(targets []*gwTarget) {
	fmt.Printf("  %-32s %9s %9s %9s %10s %12s\n", "", "req/s", "p50", "p99", "proxy CPU", "CPU/request")
	section := ""
	for _, t := range targets {
		if t.proxy {
			want := "  access log off, both:"
			if t.log {
				want = "  access log on, both (a file, one write per request):"
			}
			if want != section {
				section = want
				fmt.Println(section)
			}
		}
		m := t.median()
		cores, perReq := "-", "-"
		if t.proxy {
			cores = fmt.Sprintf("%.2f cores", m.cores)
			perReq = fmt.Sprintf("%.1f µs", m.cpuPerReq)
		}
		fmt.Printf("  %-32s %9.0f %9s %9s %10s %12s%s\n", t.label, m.rps, gwMs(m.p50), gwMs(m.p99), cores, perReq, m.bad)
	}
}

// median is each figure's median over the target's rounds; bad reports every round's errors.
func (t *gwTarget) median() gwResult {
	pick := func(f func(gwResult) float64) float64 {
		v := make([]float64, len(t.rounds))
		for i, r := range t.rounds {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	m := gwResult{
		rps:       pick(func(r gwResult) float64 { return r.rps }),
		cores:     pick(func(r gwResult) float64 { return r.cores }),
		cpuPerReq: pick(func(r gwResult) float64 { return r.cpuPerReq }),
		p50:       time.Duration(pick(func(r gwResult) float64 { return float64(r.p50) })),
		p99:       time.Duration(pick(func(r gwResult) float64 { return float64(r.p99) })),
	}
	for _, r := range t.rounds {
		m.bad += r.bad
	}
	return m
}

// gwBuild compiles the two helper programs once, so that the processes measured are the programs
// themselves and not `go run` wrappers.
func gwBuild(ctx context.Context, dir string) (map[string]string, error) {
	bins := map[string]string{}
	for _, name := range []string{"upstream", "gatewayd"} {
		bin := filepath.Join(dir, name)
		out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./bench/"+name).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("building bench/%s (run from the repository root): %v\n%s", name, err, out)
		}
		bins[name] = bin
	}
	return bins, nil
}

var gwListening = regexp.MustCompile(`^listening (http://\S+)`)

// gwStart runs a helper and waits for its "listening URL" line.
func gwStart(ctx context.Context, env []string, bin string, args ...string) (*exec.Cmd, string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	go io.Copy(io.Discard, out)
	m := gwListening.FindStringSubmatch(line)
	if m == nil {
		return cmd, "", fmt.Errorf("%s printed %q (%v), want a listening line", filepath.Base(bin), line, err)
	}
	return cmd, m[1], nil
}

// gwStartNginx writes an nginx.conf for a reverse proxy to upAddr on a free port and starts nginx
// in the foreground, then waits until it answers.
func gwStartNginx(ctx context.Context, nginx, dir, upAddr string, accessLog bool) (*exec.Cmd, string, error) {
	port, err := gwFreePort()
	if err != nil {
		return nil, "", err
	}
	name := "nginx-" + strconv.Itoa(port)
	prefix := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Join(prefix, "tmp"), 0o755); err != nil {
		return nil, "", err
	}
	logDirective := "access_log off;"
	if accessLog {
		logDirective = "access_log " + filepath.Join(prefix, "access.log") + ";"
	}
	conf := fmt.Sprintf(gwNginxConf, prefix, logDirective, strings.TrimPrefix(upAddr, "http://"), port)
	confPath := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, "", err
	}
	cmd := exec.CommandContext(ctx, nginx, "-p", prefix, "-c", confPath, "-e", filepath.Join(prefix, "error.log"))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	return cmd, url, gwWaitUp(ctx, url)
}

const gwNginxConf = `daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
events { worker_connections 4096; }
http {
    %[2]s
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    upstream backend {
        server %[3]s;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:%[4]d;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Forwarded-Proto $scheme;
        }
    }
}
`

// gwFreePort asks the kernel for a free loopback port for nginx, which cannot report the port it
// was given.
func gwFreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func gwWaitUp(ctx context.Context, url string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Host = gwHost
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not answer 200: %w", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func gwNginxVersion(nginx string) string {
	out, _ := exec.Command(nginx, "-v").CombinedOutput()
	if _, v, ok := strings.Cut(strings.TrimSpace(string(out)), "nginx/"); ok {
		return "nginx " + strings.Fields(v)[0]
	}
	return "nginx"
}

// gwMeasure warms the target up, then loads it; CPU is the target process's (and its children's).
func gwMeasure(ctx context.Context, t *gwTarget) (gwResult, error) {
	if err := gwWaitUp(ctx, t.url); err != nil {
		return gwResult{}, err
	}
	if _, err := gwWrk(ctx, t.url, gwWarmup); err != nil {
		return gwResult{}, err
	}
	cpu0 := gwCPU(t.pid)
	t0 := time.Now()
	res, err := gwWrk(ctx, t.url, gwDuration)
	if err != nil {
		return gwResult{}, err
	}
	cpu := (gwCPU(t.pid) - cpu0).Seconds()
	res.cores = cpu / time.Since(t0).Seconds()
	if res.rps > 0 {
		res.cpuPerReq = cpu / (res.rps * time.Since(t0).Seconds()) * 1e6
	}
	return res, nil
}

func gwMs(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

var (
	gwRPS     = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	gwPct     = regexp.MustCompile(`(?m)^\s+(50|99)%\s+(\S+)`)
	gwNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	gwSockErr = regexp.MustCompile(`Socket errors: .*`)
)

func gwWrk(ctx context.Context, url string, d time.Duration) (gwResult, error) {
	args := append(strings.Fields(gwWrkArgs), "-d", strconv.Itoa(int(d.Seconds()))+"s", "-H", "Host: "+gwHost, url+"/")
	out, err := exec.CommandContext(ctx, "wrk", args...).CombinedOutput()
	if err != nil {
		return gwResult{}, fmt.Errorf("wrk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var res gwResult
	m := gwRPS.FindSubmatch(out)
	if m == nil {
		return gwResult{}, fmt.Errorf("wrk printed no Requests/sec:\n%s", out)
	}
	res.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	for _, p := range gwPct.FindAllSubmatch(out, -1) {
		v, err := time.ParseDuration(string(p[2]))
		if err != nil {
			return gwResult{}, fmt.Errorf("wrk latency %q: %w", p[2], err)
		}
		if string(p[1]) == "50" {
			res.p50 = v
		} else {
			res.p99 = v
		}
	}
	if m := gwNon2xx.FindSubmatch(out); m != nil {
		res.bad += "  non-2xx: " + string(m[1])
	}
	if m := gwSockErr.Find(out); m != nil {
		res.bad += "  " + string(m)
	}
	return res, nil
}

// gwCPU is the user+system CPU time of pid and its direct children (nginx's worker), from /proc.
func gwCPU(pid int) time.Duration {
	total := gwProcCPU(pid)
	kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	for _, f := range strings.Fields(string(kids)) {
		if child, err := strconv.Atoi(f); err == nil {
			total += gwProcCPU(child)
		}
	}
	return total
}

func gwProcCPU(pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesized command name; utime and stime are the 14th and 15th overall.
	i := strings.LastIndexByte(string(stat), ')')
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// gwStopAll stops the helpers and nginx this part started, by their own process ids.
func gwStopAll(procs []*exec.Cmd) {
	for _, cmd := range procs {
		cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, cmd := range procs {
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
}
