package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/app"
	"github.com/goldenpathidp/goldenpath/internal/build"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/score"
	"github.com/goldenpathidp/goldenpath/internal/store"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/spf13/cobra"
)

func appsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apps",
		Short: "List the apps (repositories with a score.yaml): image pinned per environment, URL and status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var apps []app.AppView
			if err := g.client().getJSON(cmd.Context(), "/api/v1/apps", &apps); err != nil {
				return err
			}
			return g.printer().print(apps, func(w *tabwriter.Writer) {
				if len(apps) == 0 {
					fmt.Fprintln(w, "No apps yet: scaffold one (goldenpath template run app-template ...) or push a repository with a score.yaml.")
					return
				}
				row(w, "APP", "REPOSITORY", "ENV", "IMAGE", "STATUS", "URL")
				var problems []string
				for _, a := range apps {
					if a.Refused != "" {
						row(w, a.Name, a.Repo, "-", "-", "refused", "")
						problems = append(problems, a.Repo+": "+a.Refused)
						continue
					}
					if a.Invalid != "" {
						row(w, a.Name, a.Repo, "-", "-", "invalid", "")
						problems = append(problems, a.Repo+": "+a.Invalid)
						continue
					}
					for _, e := range a.Environments {
						row(w, a.Name, a.Repo, e.Name, pinnedImage(e), e.Status, strings.Join(e.URLs, " "))
						for _, p := range e.Problems {
							problems = append(problems, a.Name+" in "+e.Name+": "+p)
						}
					}
				}
				if len(problems) > 0 {
					fmt.Fprintln(w, "\nProblems:")
					for _, p := range problems {
						fmt.Fprintln(w, "  "+p)
					}
				}
			})
		},
	}
	cmd.AddCommand(appShowCmd(g), appLogsCmd(g))
	return cmd
}

func pinnedImage(e app.AppEnvironment) string {
	switch {
	case e.Digest != "":
		return "@" + shortDigest(e.Digest)
	case e.Tag != "":
		return ":" + e.Tag
	}
	return "-"
}

func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}

func appShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show APP",
		Short: "Show an app per environment: pinned image, URLs, the local process or the Kubernetes rollout, the last deployment",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var a app.AppView
			if err := g.client().getJSON(cmd.Context(), "/api/v1/apps/"+url.PathEscape(args[0]), &a); err != nil {
				return err
			}
			return g.printer().print(a, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "app:\t%s\nrepository:\t%s (main at %s)\n", a.Name, a.Repo, shortSHA(a.Commit))
				if a.Invalid != "" {
					fmt.Fprintf(w, "status:\tinvalid\nproblem:\t%s\n", a.Invalid)
				}
				for _, e := range a.Environments {
					fmt.Fprintf(w, "\n[%s]\n", e.Name)
					fmt.Fprintf(w, "  status:\t%s\t%s\n", e.Status, e.Message)
					for _, p := range e.Problems {
						fmt.Fprintf(w, "  problem:\t%s\n", p)
					}
					fmt.Fprintf(w, "  push to:\t%s\n", e.Repository)
					fmt.Fprintf(w, "  pinned:\t%s\n", pinnedImage(e))
					fmt.Fprintf(w, "  deploys:\t%s\n", e.Deployment)
					for _, u := range e.URLs {
						fmt.Fprintf(w, "  url:\t%s\n", u)
					}
					if l := e.Local; l != nil {
						fmt.Fprintf(w, "  process:\tpid %d at %s since %s, %d restarts\n", l.PID, l.Upstream, l.Since.Format(time.RFC3339), l.Restarts)
					}
					if r := e.Rollout; r != nil {
						fmt.Fprintf(w, "  rollout:\t%s (%d/%d updated, %d available)\n", r.Message, r.UpdatedReplicas, r.Replicas, r.AvailableReplicas)
					}
					if d := e.Last; d != nil {
						fmt.Fprintf(w, "  last deploy:\t%s %s %s\n", d.Status, d.Image, d.Message)
					}
				}
			})
		},
	}
}

func appLogsCmd(g *globals) *cobra.Command {
	var env string
	cmd := &cobra.Command{
		Use:   "logs APP [--env ENV]",
		Short: "Print the recent output of an app run by the local runtime",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out []byte
			q := url.Values{"env": {env}}
			if err := g.client().do(cmd.Context(), http.MethodGet, "/api/v1/apps/"+url.PathEscape(args[0])+"/logs?"+q.Encode(), nil, "", &out); err != nil {
				return err
			}
			_, err := g.env.Stdout.Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&env, "env", "dev", "environment")
	return cmd
}

func deploymentsCmd(g *globals) *cobra.Command {
	var appName string
	cmd := &cobra.Command{
		Use:   "deployments [--app APP]",
		Short: "List recent deployments (since goldenpath started), newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ds []app.Deployment
			if err := g.client().getJSON(cmd.Context(), "/api/v1/deployments?"+url.Values{"app": {appName}}.Encode(), &ds); err != nil {
				return err
			}
			return g.printer().print(ds, func(w *tabwriter.Writer) {
				row(w, "WHEN", "APP", "ENV", "IMAGE", "STATUS", "COMMIT", "MESSAGE")
				for _, d := range ds {
					row(w, d.Pushed.Local().Format("15:04:05"), d.App, d.Environment, d.Image, d.Status, shortSHA(d.Commit), d.Message)
				}
			})
		},
	}
	cmd.Flags().StringVar(&appName, "app", "", "only this app")
	return cmd
}

func auditCmd(g *globals) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "audit [--limit N]",
		Short: "Show the audit log, newest first (admin): who read credentials, approved, merged, changed users and tokens",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct {
				Items []store.AuditEntry `json:"items"`
			}
			if err := g.client().getJSON(cmd.Context(), "/api/v1/audit?"+url.Values{"limit": {strconv.Itoa(limit)}}.Encode(), &out); err != nil {
				return err
			}
			return g.printer().print(out.Items, func(w *tabwriter.Writer) {
				row(w, "TIME", "ACTOR", "ACTION", "TARGET", "DETAIL")
				for _, e := range out.Items {
					row(w, e.Time.Local().Format(time.DateTime), e.Actor, e.Action, e.Target, e.Detail)
				}
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 100, "how many entries (at most 1000)")
	return cmd
}

// buildFlags are `goldenpath build`'s options.
type buildFlags struct {
	env, app, tag, pkg, platform string
	wait                         time.Duration
}

func buildCmd(g *globals) *cobra.Command {
	var f buildFlags
	cmd := &cobra.Command{
		Use:   "build [DIR]",
		Short: "Build a Go app into an image (no Docker needed), push it to goldenpath's registry and wait for it to deploy",
		Long: `build compiles the Go module in DIR (default .) into a small image, ko-style, and pushes it to
<registry>/<env>/<app>:<tag>, where goldenpath's image watcher picks it up, pins it in git and deploys it.
The app's name is score.yaml's metadata.name unless --app says otherwise.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return runBuild(cmd.Context(), g, dir, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.env, "env", "dev", "environment whose repository the image is pushed to")
	fl.StringVar(&f.app, "app", "", "app name (default: metadata.name in DIR/score.yaml)")
	fl.StringVar(&f.tag, "tag", "", "image tag (default: build-<UTC time>, e.g. build-20261126-013000)")
	fl.StringVar(&f.pkg, "package", ".", "main package to build, relative to DIR (e.g. ./cmd/api)")
	fl.StringVar(&f.platform, "platform", "", "os/arch to build for (default: this machine's with delivery.mode local, else linux/amd64)")
	fl.DurationVar(&f.wait, "wait", 2*time.Minute, "how long to wait for the deployment of the pushed image (0: do not wait)")
	return cmd
}

func runBuild(ctx context.Context, g *globals, dir string, f buildFlags) error {
	if f.app == "" {
		raw, err := os.ReadFile(filepath.Join(dir, "score.yaml"))
		if err != nil {
			return usagef("--app not given and no score.yaml to read the app's name from: %v", err)
		}
		w, err := score.Parse(filepath.Join(dir, "score.yaml"), raw)
		if err != nil {
			return err
		}
		f.app = w.Metadata.Name
	}
	if f.tag == "" {
		f.tag = "build-" + time.Now().UTC().Format("20060102-150405")
	}
	c := g.client()
	if err := checkAppHolder(ctx, c, dir, f.app); err != nil {
		return err
	}
	if err := checkDeployable(ctx, c, f.app, f.env); err != nil {
		return err
	}
	var who struct {
		Name string `json:"name"`
	}
	if err := c.getJSON(ctx, "/api/v1/whoami", &who); err != nil {
		return err
	}
	var pl struct {
		Config struct {
			Delivery struct {
				Mode string `json:"mode"`
			} `json:"delivery"`
		} `json:"config"`
		Endpoints map[string]string `json:"endpoints"`
	}
	if err := c.getJSON(ctx, "/api/v1/platform", &pl); err != nil {
		return err
	}
	if f.platform == "" {
		f.platform = build.DefaultPlatform
		if pl.Config.Delivery.Mode == "local" {
			f.platform = build.HostPlatform()
		}
	}
	ref := pl.Endpoints["registry"] + "/" + f.env + "/" + f.app + ":" + f.tag
	fmt.Fprintf(g.env.Stderr, "building %s for %s\n", ref, f.platform)
	start := time.Now()
	res, err := build.Build(ctx, build.Options{Dir: dir, ImportPath: f.pkg, Ref: ref, Platform: f.platform, Version: f.tag,
		Auth:   &authn.Basic{Username: who.Name, Password: c.token},
		Logger: slog.New(slog.NewTextHandler(g.env.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		var ce *build.CompileError
		if errors.As(err, &ce) {
			return &problem.Error{Code: problem.Invalid, Message: err.Error()}
		}
		return err
	}
	fmt.Fprintf(g.env.Stdout, "pushed %s (%s, %d bytes) in %s\n", res.Ref, f.tag, res.Size, time.Since(start).Round(time.Millisecond))
	if f.wait <= 0 {
		return nil
	}
	return waitDeployed(ctx, c, g, f, res.Digest)
}

// waitDeployed polls the deployments until the pushed image reaches the app's environment.
func waitDeployed(ctx context.Context, c *client, g *globals, f buildFlags, digest string) error {
	ctx, cancel := context.WithTimeout(ctx, f.wait)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		var ds []app.Deployment
		if err := c.getJSON(ctx, "/api/v1/deployments?"+url.Values{"app": {f.app}}.Encode(), &ds); err != nil && ctx.Err() == nil {
			return err
		}
		for _, d := range ds {
			if d.Environment != f.env || !(strings.HasSuffix(d.Image, ":"+f.tag) || strings.HasSuffix(d.Image, "@"+digest)) {
				continue
			}
			switch d.Status {
			case "deployed", "unchanged":
				fmt.Fprintf(g.env.Stdout, "deployed to %s in %s (commit %s)\n", f.app, f.env, shortSHA(d.Commit))
				return nil
			case "committed":
				fmt.Fprintf(g.env.Stdout, "committed for %s in %s (commit %s); Argo CD syncs it\n", f.app, f.env, shortSHA(d.Commit))
				return nil
			case "proposed":
				fmt.Fprintf(g.env.Stdout, "proposed for %s in %s: %s\n", f.app, f.env, d.Message)
				return nil
			case "failed", "refused":
				return &problem.Error{Code: problem.Unavailable, Message: fmt.Sprintf("deploying %s to %s in %s %s: %s", d.Image, f.app, f.env, d.Status, d.Message)}
			}
		}
		select {
		case <-ctx.Done():
			return &problem.Error{Code: problem.Unavailable, Message: fmt.Sprintf("the image was pushed but no deployment of it to %s in %s was seen within %s: is %s an app there (goldenpath apps)?", f.app, f.env, f.wait, f.app)}
		case <-tick.C:
		}
	}
}

// checkAppHolder fails a build of app name from dir when the name is not this checkout's repository's: the
// server refused the repository the name (another repository holds it), or another repository is the
// app. Nothing is compiled or pushed then. A checkout that is not a clone from this goldenpath is not
// checked here; the server still deploys only the holder's images.
func checkAppHolder(ctx context.Context, c *client, dir, name string) error {
	repo := checkoutRepo(ctx, dir, c.server)
	if repo == "" {
		return nil
	}
	var apps []app.AppView
	if err := c.getJSON(ctx, "/api/v1/apps", &apps); err != nil {
		return err
	}
	for _, a := range apps {
		if a.Name == name && a.Refused != "" && a.Repo == repo {
			return &problem.Error{Code: problem.Conflict, Message: fmt.Sprintf("%s is refused as app %s: %s", repo, name, a.Refused)}
		}
	}
	for _, a := range apps {
		if a.Name == name && a.Refused == "" && a.Repo != repo {
			return &problem.Error{Code: problem.Conflict, Message: fmt.Sprintf(
				"app %s is repository %s's, not %s's (this checkout): rename metadata.name in score.yaml, or build from %s", name, a.Repo, repo, a.Repo)}
		}
	}
	return nil
}

// checkDeployable fails a build, before anything is compiled, when an image pushed for app in env would not
// be deployed: its score.yaml on main is invalid, it is not deployed to env, or it cannot be rendered there
// now (a resource not Ready, a file missing), each named as goldenpath apps show names it. An app the
// server does not know (yet) is not checked.
func checkDeployable(ctx context.Context, c *client, name, env string) error {
	var a app.AppView
	err := c.getJSON(ctx, "/api/v1/apps/"+url.PathEscape(name), &a)
	var pe *problem.Error
	if errors.As(err, &pe) && pe.Code == problem.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if a.Invalid != "" {
		return &problem.Error{Code: problem.Precondition, Message: fmt.Sprintf("app %s (%s): %s", name, a.Repo, a.Invalid)}
	}
	var names []string
	for _, e := range a.Environments {
		names = append(names, e.Name)
		if e.Name == env && e.Blocked != "" {
			return &problem.Error{Code: problem.Precondition, Message: fmt.Sprintf("an image of %s would not be deployed to %s: %s", name, env, e.Blocked)}
		}
	}
	if !slices.Contains(names, env) {
		return &problem.Error{Code: problem.Precondition, Message: fmt.Sprintf(
			"app %s is not deployed to %s (its environments: %s): list it in score.yaml's goldenpath.io/environments annotation", name, env, strings.Join(names, ", "))}
	}
	return nil
}

// checkoutRepo is the forge repository ("owner/name") dir is a clone of, when its origin is this
// goldenpath's git endpoint (<server>/git/<repo>.git); "" otherwise.
func checkoutRepo(ctx context.Context, dir, server string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "remote", "get-url", "origin").Output()
	if err != nil {
		return ""
	}
	origin, err := url.Parse(strings.TrimSpace(string(out)))
	if err != nil {
		return ""
	}
	srv, err := url.Parse(server)
	if err != nil || origin.Host != srv.Host {
		return ""
	}
	repo, ok := strings.CutPrefix(origin.Path, strings.TrimRight(srv.Path, "/")+"/git/")
	if !ok {
		return ""
	}
	return strings.TrimSuffix(strings.TrimSuffix(repo, "/"), ".git")
}
