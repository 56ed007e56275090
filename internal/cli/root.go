// Package cli is goldenpath's command line: `up` and `serve` run the platform; the other commands are
// clients of its REST API.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/goldenpathidp/goldenpath/internal/app"
	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/strictyaml"
	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/goldenpathidp/goldenpath/internal/cli.Version=...".
var Version = "dev"

// Env is what the CLI reads from its surroundings; tests substitute it.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

type globals struct {
	env     Env
	dataDir string
	server  string
	token   string
	output  string
}

func (g *globals) client() *client {
	server := firstNonEmpty(g.server, g.env.Getenv("GOLDENPATH_SERVER"), readFile(filepath.Join(g.home(), "server.url")), "http://127.0.0.1:7070")
	token := firstNonEmpty(g.token, g.env.Getenv("GOLDENPATH_TOKEN"), readFile(filepath.Join(g.home(), app.AdminTokenFile)))
	return &client{server: server, token: token, http: newHTTPClient()}
}

func (g *globals) home() string {
	return firstNonEmpty(g.dataDir, g.env.Getenv("GOLDENPATH_HOME"), ".goldenpath")
}

func (g *globals) printer() printer { return printer{format: g.output, out: g.env.Stdout} }

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func readFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Run executes the command line args and returns the process exit code.
func Run(ctx context.Context, args []string, env Env) int {
	g := &globals{env: env}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	if _, ok := strictyaml.AsErrors(err); ok {
		err = problem.From(err)
	}
	var p *problem.Error
	if errors.As(err, &p) {
		if len(p.Errors) > 1 {
			fmt.Fprintf(env.Stderr, "error: %d problems:\n", len(p.Errors))
			for _, fe := range p.Errors {
				loc := fe.File
				if fe.Line > 0 {
					loc += fmt.Sprintf(":%d", fe.Line)
				}
				fmt.Fprintf(env.Stderr, "  - %s: %s: %s\n", loc, fe.Field, fe.Rule)
			}
		} else {
			fmt.Fprintf(env.Stderr, "error: %s\n", p.Message)
		}
		for _, r := range p.Reasons {
			if len(p.Reasons) > 1 || !strings.Contains(p.Message, r) {
				fmt.Fprintf(env.Stderr, "  - %s\n", r)
			}
		}
		return p.Code.ExitCode()
	}
	fmt.Fprintf(env.Stderr, "error: %v\n", err)
	var ue *usageError
	if errors.As(err, &ue) || strings.Contains(err.Error(), "unknown command") || strings.Contains(err.Error(), "flag") || strings.Contains(err.Error(), "accepts") {
		return 2
	}
	return 1
}

// usageError is a mistake in how the command was called (exit code 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "goldenpath",
		Short:         "The Golden Path Internal Developer Platform",
		Long:          "goldenpath scaffolds services, provisions resources through reviewed git changes and runs the platform's glue as one program.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.printer().validate(cmd)
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.dataDir, "data-dir", "", "data directory (default $GOLDENPATH_HOME or ./.goldenpath)")
	pf.StringVar(&g.server, "server", "", "goldenpath URL for client commands (default $GOLDENPATH_SERVER, the data dir's server.url, or http://127.0.0.1:7070)")
	pf.StringVar(&g.token, "token", "", "API token (default $GOLDENPATH_TOKEN, or the data dir's admin.token)")
	pf.StringVarP(&g.output, "output", "o", "table", "output format of reads: table, json or yaml")
	root.AddCommand(upCmd(g), serveCmd(g), versionCmd(g), schemaCmd(g), whoamiCmd(g), requestCmd(g), changeCmd(g), secretCmd(g), userCmd(g), templateCmd(g), dnsCmd(g), routesCmd(g), gatewayCmd(g), appsCmd(g), deploymentsCmd(g), buildCmd(g), auditCmd(g))
	refuseUnknownSubcommands(root)
	return root
}

// refuseUnknownSubcommands makes every command group below the root (request, change, user, ...) fail on
// an argument that is none of its subcommands, with a suggestion. Cobra does this for the root only: a
// group without a Run of its own prints its help and exits 0, so `goldenpath request lst` looked like success.
func refuseUnknownSubcommands(root *cobra.Command) {
	for _, c := range root.Commands() {
		refuseUnknownSubcommands(c)
		if !c.HasSubCommands() {
			continue
		}
		if c.SuggestionsMinimumDistance <= 0 {
			c.SuggestionsMinimumDistance = 2
		}
		if c.Runnable() { // like apps: its own arguments are checked first; an unfit one may be a misspelt subcommand
			check := c.Args
			c.Args = func(cmd *cobra.Command, args []string) error {
				if check == nil {
					return nil
				}
				if err := check(cmd, args); err != nil {
					if len(args) > 0 && len(cmd.SuggestionsFor(args[0])) > 0 {
						return unknownSubcommand(cmd, args[0])
					}
					return err
				}
				return nil
			}
			continue
		}
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return unknownSubcommand(cmd, args[0])
		}
	}
}

func unknownSubcommand(cmd *cobra.Command, arg string) error {
	msg := fmt.Sprintf("unknown command %q for %q", arg, cmd.CommandPath())
	if s := cmd.SuggestionsFor(arg); len(s) > 0 {
		return usagef("%s; did you mean %q?", msg, s[0])
	}
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return usagef("%s; its commands are %s (see %s --help)", msg, strings.Join(names, ", "), cmd.CommandPath())
}

func versionCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "version", Short: "Print the version", Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
		return g.printer().print(map[string]string{"version": Version}, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "goldenpath", Version)
		})
	}}
}

func schemaCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "schema KIND",
		Short: "Print the JSON Schema of a contract kind (ECRRequest, RDSRequest, S3Request, SecretRequest, EKSRequest) or of platform.yaml (platform)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.EqualFold(args[0], "platform") {
				_, err := g.env.Stdout.Write(platform.Schema())
				return err
			}
			info, err := contract.LookupKind(args[0])
			if err != nil {
				return problem.Field("KIND", "%v (or platform)", err)
			}
			raw, err := contract.SchemaJSON(info.Kind)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(g.env.Stdout, string(raw))
			return err
		},
	}
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("invalid --log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
