// Command bench measures goldenpath: merge → Ready latency per local kind (p50, p95), the time to reconcile
// 1,000 requests merged at once, and `goldenpath up`'s cold start and idle RSS. It prints the figures; the
// targets live in the issue tracker and docs/benchmarks.md, not in timed tests.
//
//	go run ./bench [-n 30] [-bulk 1000] [-pushes 20] [-starts 5] [-idle 1m] [-postgres URL]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/sandbox"
)

func main() {
	// The delivery benchmark runs apps locally: this program is their launcher.
	sandbox.Main()
	n := flag.Int("n", 30, "samples per kind for merge → Ready")
	bulk := flag.Int("bulk", 1000, "requests merged at once")
	pg := flag.String("postgres", os.Getenv("GOLDENPATH_TEST_POSTGRES_URL"), "PostgreSQL admin URL for RDSRequests (empty: skip RDS)")
	starts := flag.Int("starts", 5, "cold starts of the binary to time")
	idle := flag.Duration("idle", time.Minute, "coldstart: read the idle RSS this long after start (at least 4s)")
	pushes := flag.Int("pushes", 20, "delivery: pushes measured per path (push → commit, → Deployment, → local app)")
	million := flag.Bool("catalog-million", false, "also load and query a catalog of 1,000,000 entities (minutes)")
	only := flag.String("only", "", "run only these parts (comma-separated): latency, bulk, scaffold, catalog, delivery, dns, coldstart, gateway")
	flag.Parse()
	ctx := context.Background()
	fmt.Printf("goldenpath benchmarks — %s/%s, %d CPUs, %s\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), time.Now().UTC().Format(time.RFC3339))
	if err := run(ctx, *only, *n, *bulk, *pg, *starts, *pushes, *idle, *million); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, only string, n, bulk int, pg string, starts, pushes int, idle time.Duration, million bool) error {
	want := func(part string) bool { return only == "" || slices.Contains(strings.Split(only, ","), part) }
	if want("catalog") {
		if err := catalogBench(ctx, million); err != nil {
			return fmt.Errorf("catalog: %w", err)
		}
	}
	if want("latency") {
		if err := latency(ctx, n, pg); err != nil {
			return fmt.Errorf("merge → Ready: %w", err)
		}
	}
	if want("bulk") {
		if err := bulkReconcile(ctx, bulk); err != nil {
			return fmt.Errorf("bulk reconcile: %w", err)
		}
	}
	if want("scaffold") {
		if err := scaffolding(ctx, n); err != nil {
			return fmt.Errorf("scaffolder: %w", err)
		}
	}
	if want("gateway") {
		if err := gatewayBench(ctx); err != nil {
			return fmt.Errorf("gateway: %w", err)
		}
	}
	if want("delivery") {
		if err := deliveryBench(ctx, max(pushes, 1)); err != nil {
			return fmt.Errorf("delivery: %w", err)
		}
	}
	if want("dns") {
		if err := dnsServing(ctx); err != nil {
			return fmt.Errorf("dns: %w", err)
		}
	}
	if !want("coldstart") {
		return nil
	}
	bin := filepath.Join(os.TempDir(), fmt.Sprintf("goldenpath-bench-%d", os.Getpid()))
	defer os.Remove(bin)
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/goldenpath").CombinedOutput(); err != nil {
		return fmt.Errorf("building the binary (run from the repository root): %v\n%s", err, out)
	}
	return coldStart(ctx, bin, starts, max(idle, 4*time.Second))
}
