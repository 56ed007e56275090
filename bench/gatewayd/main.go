// Command gatewayd runs goldenpath's dev gateway alone, with one route, so that the benchmark can
// load it in its own process as it loads nginx.
//
//	go run ./bench/gatewayd -upstream http://127.0.0.1:9000 [-host bench.test] [-addr 127.0.0.1:0] [-access-log FILE] [-cpuprofile FILE]
//
// It prints "listening http://ADDR" once it accepts connections, and stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/goldenpathidp/goldenpath/internal/gateway"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "HTTP listen address")
	upstream := flag.String("upstream", "", "upstream URL (required)")
	host := flag.String("host", "bench.test", "host routed to the upstream")
	dataDir := flag.String("data-dir", "", "directory for the local CA (default: a temporary one)")
	accessLog := flag.String("access-log", "", "access log file (default: none)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file on exit")
	flag.Parse()
	if *cpuProfile != "" {
		stopProfile, err := startProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gatewayd:", err)
			os.Exit(1)
		}
		defer stopProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *upstream, *host, *dataDir, *accessLog); err != nil {
		fmt.Fprintln(os.Stderr, "gatewayd:", err)
		os.Exit(1)
	}
}

func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func run(ctx context.Context, addr, upstream, host, dataDir, accessLog string) error {
	u, err := url.Parse(upstream)
	if err != nil || upstream == "" {
		return fmt.Errorf("-upstream %q: want a URL such as http://127.0.0.1:9000", upstream)
	}
	if dataDir == "" {
		if dataDir, err = os.MkdirTemp("", "gatewayd-"); err != nil {
			return err
		}
		defer os.RemoveAll(dataDir)
	}
	var logw io.Writer
	if accessLog != "" {
		f, err := os.OpenFile(accessLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		logw = f
	}
	g, err := gateway.New(gateway.Options{DataDir: dataDir, AccessLog: logw})
	if err != nil {
		return err
	}
	if err := g.SetRoutes([]gateway.Route{{Name: "bench", Host: host, Upstream: u}}); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening http://%s\n", ln.Addr())
	return g.Serve(ctx, ln, nil)
}
