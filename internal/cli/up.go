package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/app"
	"github.com/goldenpathidp/goldenpath/internal/memtrim"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/spf13/cobra"
)

type upFlags struct {
	addr, s3Addr, dnsAddr, gatewayAddr, gatewayTLSAddr, domain, logLevel string
}

func (f *upFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.addr, "addr", "127.0.0.1:7070", "address of the API, git and registry listener")
	cmd.Flags().StringVar(&f.s3Addr, "s3-addr", "127.0.0.1:7071", "address of the S3 listener")
	cmd.Flags().StringVar(&f.dnsAddr, "dns-addr", "127.0.0.1:5353", "address of the embedded DNS server (UDP and TCP), or off")
	cmd.Flags().StringVar(&f.gatewayAddr, "gateway-addr", "127.0.0.1:8080", "HTTP address of the dev gateway, or off")
	cmd.Flags().StringVar(&f.gatewayTLSAddr, "gateway-tls-addr", "127.0.0.1:8443", "HTTPS address of the dev gateway")
	cmd.Flags().StringVar(&f.domain, "domain", "goldenpathidp.io", "domain seeded into platform.yaml on first start")
	cmd.Flags().StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
}

func upCmd(g *globals) *cobra.Command {
	var f upFlags
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run goldenpath with everything embedded (no cloud account, no Kubernetes)",
		Long: `Run goldenpath with everything embedded: REST API, git forge, OCI registry, S3 store, secret store and the
reconciler, with data under --data-dir (default ./.goldenpath). The first start seeds the platform repository
and creates an admin whose token is printed and saved in the data dir. Stop with Ctrl-C; a second up on the
same data dir resumes where the first stopped.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd, g, f, nil) },
	}
	f.register(cmd)
	return cmd
}

func serveCmd(g *globals) *cobra.Command {
	var f upFlags
	var config string
	cmd := &cobra.Command{
		Use:   "serve --config platform.yaml",
		Short: "Run goldenpath as a server, seeding a new platform repository from a platform.yaml you provide",
		Long: `Run goldenpath as a server. --config names a platform.yaml that is validated strictly and, on first
start, seeded into the platform repository; afterwards the repository's main is the truth (change it through
change requests). Production backends (PostgreSQL store, GitHub, AWS) arrive in later versions; today serve runs
the embedded backends like up, without writing the admin token to disk.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if config == "" {
				return usagef("--config is required")
			}
			raw, err := os.ReadFile(config)
			if err != nil {
				return fmt.Errorf("reading --config: %w", err)
			}
			cfg, err := platform.Parse(config, raw)
			if err != nil {
				return err
			}
			return run(cmd, g, f, &seedConfig{raw: raw, cfg: cfg})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&config, "config", "", "platform.yaml to seed the platform repository with (required)")
	return cmd
}

type seedConfig struct {
	raw []byte
	cfg *platform.Config
}

func run(cmd *cobra.Command, g *globals, f upFlags, seed *seedConfig) error {
	start := time.Now()
	log, err := newLogger(g.env.Stderr, f.logLevel)
	if err != nil {
		return err
	}
	cfg := app.Config{DataDir: g.home(), Addr: f.addr, S3Addr: f.s3Addr, DNSAddr: f.dnsAddr, GatewayAddr: f.gatewayAddr,
		GatewayTLSAddr: f.gatewayTLSAddr, Domain: f.domain, Version: Version, Logger: log, Getenv: g.env.Getenv}
	if seed != nil {
		cfg.PlatformYAML = seed.raw
	}
	a, err := app.Start(cmd.Context(), cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	_ = os.WriteFile(filepath.Join(a.DataDir(), "server.url"), []byte(a.URL()+"\n"), 0o600)
	out := g.env.Stdout
	fmt.Fprintf(out, "goldenpath %s is up in %s (data in %s)\n\n", Version, time.Since(start).Round(time.Millisecond), a.DataDir())
	fmt.Fprintf(out, "  API        %s/api/v1   (OpenAPI: %s/api/v1/openapi.json)\n", a.URL(), a.URL())
	fmt.Fprintf(out, "  git        %s/git/%s.git\n", a.URL(), app.PlatformRepo)
	fmt.Fprintf(out, "  registry   %s\n", a.URL()[len("http://"):])
	fmt.Fprintf(out, "  S3         %s   (path-style, region us-east-1)\n", a.S3URL())
	if a.DNS != nil {
		fmt.Fprintf(out, "  DNS        %s   (dig @%s -p %s backstage.dev.%s)\n", a.DNS.Addr(), hostOf(a.DNS.Addr()), portOf(a.DNS.Addr()), f.domain)
	}
	if httpURL, httpsURL := a.GatewayURLs(); httpURL != "" {
		fmt.Fprintf(out, "  gateway    %s and %s   (routes <app>.<env>.<domain>; CA: goldenpath gateway ca; access log: %s)\n", httpURL, httpsURL, filepath.Join(a.DataDir(), "gateway", "access.log"))
	}
	switch {
	case a.AdminToken != "" && seed == nil:
		fmt.Fprintf(out, "  admin      token %s (saved in %s)\n", a.AdminToken, filepath.Join(a.DataDir(), app.AdminTokenFile))
	case a.AdminToken != "":
		_ = os.Remove(filepath.Join(a.DataDir(), app.AdminTokenFile))
		fmt.Fprintf(out, "  admin      token %s (shown once; not saved)\n", a.AdminToken)
	default:
		fmt.Fprintf(out, "  admin      token from the first start (in %s when started with up)\n", filepath.Join(a.DataDir(), app.AdminTokenFile))
	}
	fmt.Fprintln(out, "\nPress Ctrl-C to stop.")
	go releaseStartupMemory(cmd.Context(), log)
	<-cmd.Context().Done()
	fmt.Fprintln(out, "stopping...")
	return a.Close()
}

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

func portOf(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return p
}

// startupSettle is how long after `up` is ready it gives back what only start-up needed: by then the first
// syncs (edge, catalog, reconciler) have run.
const startupSettle = 5 * time.Second

// releaseStartupMemory gives back, once start-up has settled, the heap and executable pages only start-up
// needed (see memtrim): a new goldenpath idles at about half the resident memory.
func releaseStartupMemory(ctx context.Context, log *slog.Logger) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(startupSettle):
	}
	st := memtrim.Release(log)
	log.Debug("released start-up memory", "executable_bytes", st.Executable)
}
