package cli

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/request"
	"github.com/goldenpathidp/goldenpath/internal/rest"
	"github.com/goldenpathidp/goldenpath/internal/store"
	"github.com/spf13/cobra"
)

func requestCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "request", Aliases: []string{"requests", "req"}, Short: "Ask for resources and follow their status"}
	cmd.AddCommand(requestCreateCmd(g), requestNewCmd(g), requestListCmd(g), requestShowCmd(g), requestDeleteCmd(g),
		requestCredentialsCmd(g), requestWaitCmd(g))
	return cmd
}

type filed struct {
	Request store.Request `json:"request"`
	Change  store.Change  `json:"change"`
}

func (g *globals) printFiled(f filed, verb string) error {
	return g.printer().print(f, func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "%s %s: change request #%d opened (%s)\n", verb, f.Request.ID, f.Change.Number, f.Change.Branch)
		fmt.Fprintf(w, "Next: an approver runs `goldenpath change approve %d`, then `goldenpath change merge %d`.\n", f.Change.Number, f.Change.Number)
	})
}

func requestCreateCmd(g *globals) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "create -f FILE",
		Short: "File a request from a contract file (use - for stdin)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usagef("-f FILE is required")
			}
			var raw []byte
			var err error
			if file == "-" {
				raw, err = io.ReadAll(io.LimitReader(g.env.Stdin, 1<<20+1))
			} else {
				raw, err = os.ReadFile(file)
			}
			if err != nil {
				return fmt.Errorf("reading %s: %w", file, err)
			}
			name := file
			if file == "-" {
				name = "stdin"
			}
			// Validate locally first; the server checks the rest (environments, size classes, ownership) and
			// names the same file in its errors.
			if _, err := contract.ParseOne(name, raw); err != nil {
				return problem.From(err)
			}
			var f filed
			path := "/api/v1/requests?" + url.Values{"file": {name}}.Encode()
			if err := g.client().do(cmd.Context(), http.MethodPost, path, bytes.NewReader(raw), "application/yaml", &f); err != nil {
				return err
			}
			return g.printFiled(f, "Requested")
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "contract file (YAML or JSON), or - for stdin")
	return cmd
}

func requestNewCmd(g *globals) *cobra.Command {
	var r contract.Request
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "new KIND --name NAME --env ENV [--size SIZE] ...",
		Short: "File a request built from flags (KIND: ecr, rds, s3, secret, eks)",
		Example: `  goldenpath request new rds --name orders --size small --env dev
  goldenpath request new s3 --name invoices --size small --env dev --versioning
  goldenpath request new secret --name stripe-key --env dev --description "Stripe API key"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			info, err := contract.LookupKind(args[0])
			if err != nil {
				return problem.Field("KIND", "%v", err)
			}
			r.APIVersion, r.Kind = contract.APIVersion, info.Kind
			c := g.client()
			if r.Metadata.Owner == "" || r.Metadata.Team == "" {
				var me struct {
					Name  string   `json:"name"`
					Teams []string `json:"teams"`
				}
				if err := c.getJSON(cmd.Context(), "/api/v1/whoami", &me); err != nil {
					return err
				}
				r.Metadata.Owner = firstNonEmpty(r.Metadata.Owner, me.Name)
				if r.Metadata.Team == "" && len(me.Teams) > 0 {
					r.Metadata.Team = me.Teams[0]
				}
			}
			if info.Kind == contract.RDS && r.Spec.Engine == "" {
				r.Spec.Engine = "postgres"
			}
			if !info.Sized {
				r.Spec.Size = ""
			}
			doc := r.Marshal()
			if _, err := contract.ParseOne("flags", doc); err != nil {
				return problem.From(err)
			}
			if dryRun {
				if g.output == "json" {
					return g.printer().print(&r, nil)
				}
				_, err := g.env.Stdout.Write(doc) // the contract as a file would hold it, for -o yaml and table
				return err
			}
			var f filed
			if err := c.do(cmd.Context(), http.MethodPost, "/api/v1/requests", bytes.NewReader(doc), "application/yaml", &f); err != nil {
				return err
			}
			return g.printFiled(f, "Requested")
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&r.Metadata.Name, "name", "", "request name (a DNS label)")
	fl.StringVar(&r.Metadata.Environment, "env", "dev", "environment")
	fl.StringVar(&r.Metadata.Owner, "owner", "", "owning user (default: you)")
	fl.StringVar(&r.Metadata.Team, "team", "", "owning team (default: your first team)")
	fl.StringVar(&r.Spec.Size, "size", "small", "size class (ecr, rds, s3, eks)")
	fl.StringVar(&r.Spec.Engine, "engine", "", "rds: engine (postgres)")
	fl.StringVar(&r.Spec.DatabaseName, "database-name", "", "rds: database name (default: the request name)")
	fl.BoolVar(&r.Spec.Versioning, "versioning", false, "s3: keep object versions")
	fl.BoolVar(&r.Spec.TagImmutability, "tag-immutability", false, "ecr: tags cannot move")
	fl.BoolVar(&r.Spec.ScanOnPush, "scan-on-push", false, "ecr: scan images on push")
	fl.StringVar(&r.Spec.Description, "description", "", "secret: what it is for")
	fl.StringVar(&r.Spec.TTL, "ttl", "", "eks: lifetime, e.g. 8h")
	fl.BoolVar(&dryRun, "dry-run", false, "print the contract instead of filing it")
	return cmd
}

func requestListCmd(g *globals) *cobra.Command {
	var kind, env, owner, team, phase string
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List requests",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			for k, v := range map[string]string{"kind": kind, "environment": env, "owner": owner, "team": team, "phase": phase} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if all {
				q.Set("all", "true")
			}
			var out struct {
				Items []store.Request `json:"items"`
			}
			if err := g.client().getJSON(cmd.Context(), "/api/v1/requests?"+q.Encode(), &out); err != nil {
				return err
			}
			return g.printer().print(listOf(out.Items), func(w *tabwriter.Writer) {
				row(w, "ID", "KIND", "OWNER", "TEAM", "PHASE", "REASON", "CHANGE")
				for _, r := range out.Items {
					row(w, r.ID, r.Kind, r.Owner, r.Team, r.Phase, readyReason(r), changeRef(r.Change))
				}
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&kind, "kind", "", "filter by kind")
	f.StringVar(&env, "env", "", "filter by environment")
	f.StringVar(&owner, "owner", "", "filter by owner")
	f.StringVar(&team, "team", "", "filter by team")
	f.StringVar(&phase, "phase", "", "filter by phase")
	f.BoolVar(&all, "all", false, "include deleted and rejected requests")
	return cmd
}

func changeRef(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("#%d", n)
}

func readyReason(r store.Request) string {
	for _, c := range r.Conditions {
		if c.Type == "Ready" {
			return c.Reason
		}
	}
	return ""
}

func requestShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a request: status, conditions, outputs and timeline (ID like rds.dev.orders)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var v rest.RequestView
			if err := g.client().getJSON(cmd.Context(), "/api/v1/requests/"+url.PathEscape(args[0]), &v); err != nil {
				return err
			}
			return g.printer().print(v, func(w *tabwriter.Writer) {
				row(w, "ID:", v.ID)
				row(w, "Kind:", v.Kind)
				row(w, "Owner:", v.Owner+" (team "+v.Team+")")
				row(w, "Phase:", v.Phase)
				for _, c := range v.Conditions {
					row(w, "Condition:", fmt.Sprintf("%s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message))
				}
				for k, val := range v.Outputs {
					row(w, "Output:", k+" = "+val)
				}
				for _, c := range v.Changes {
					row(w, "Change:", fmt.Sprintf("#%d %s (%s)", c.Number, c.Title, c.State))
				}
				row(w, "Timeline:")
				for _, e := range v.Events {
					row(w, "  "+e.Time.Local().Format(time.TimeOnly), e.Type, e.Reason, e.Message)
				}
			})
		},
	}
}

func requestDeleteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Propose deleting a request (opens a change request that removes its contract)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var f filed
			if err := g.client().do(cmd.Context(), http.MethodDelete, "/api/v1/requests/"+url.PathEscape(args[0]), nil, "", &f); err != nil {
				return err
			}
			return g.printFiled(f, "Deletion of")
		},
	}
}

func requestCredentialsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "credentials ID [-o env]",
		Short: "Show how to connect to a request's resource, secrets included (owners only); -o env prints export lines",
		Example: `  eval "$(goldenpath request credentials s3.dev.invoices -o env)"   # AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, ...
  eval "$(goldenpath request credentials rds.dev.orders -o env)"    # PGHOST, PGUSER, PGPASSWORD, ...`,
		Annotations: map[string]string{outputsAnnotation: "env"},
		Args:        cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				ID      string            `json:"id"`
				Phase   string            `json:"phase"`
				Outputs map[string]string `json:"outputs"`
				Secrets map[string]string `json:"secrets"`
			}
			if err := g.client().getJSON(cmd.Context(), "/api/v1/requests/"+url.PathEscape(args[0])+"/credentials", &out); err != nil {
				return err
			}
			if g.output == "env" {
				kind, _, _, _ := contract.ParseID(out.ID)
				_, err := io.WriteString(g.env.Stdout, exportLines(kind, out.Outputs, out.Secrets))
				return err
			}
			return g.printer().print(out, func(w *tabwriter.Writer) {
				row(w, "ID:", out.ID+" ("+out.Phase+")")
				for k, v := range out.Outputs {
					row(w, k+":", v)
				}
				for k, v := range out.Secrets {
					row(w, k+":", v)
				}
			})
		},
	}
}

func requestWaitCmd(g *globals) *cobra.Command {
	var phase string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "wait ID",
		Short: "Wait until a request reaches a phase (default Ready); fails early if it fails for good",
		Long: `wait polls a request until it reaches the phase (default Ready). It fails early when the request
failed for good; a Failed request that the reconciler is still retrying (its Retrying condition) is waited on.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			deadline := time.Now().Add(timeout)
			var noted string
			for {
				var r store.Request
				err := g.client().getJSON(cmd.Context(), "/api/v1/requests/"+url.PathEscape(args[0]), &r)
				if err != nil {
					return err
				}
				if strings.EqualFold(r.Phase, phase) {
					return g.printer().print(r, func(w *tabwriter.Writer) { fmt.Fprintf(w, "%s is %s\n", r.ID, r.Phase) })
				}
				if r.Phase == store.PhaseFailed && !strings.EqualFold(phase, store.PhaseFailed) {
					retry, retrying := findCondition(r, request.ConditionRetrying)
					if !retrying || retry.Status != "True" {
						return problem.New(problem.Precondition, "%s failed: %s", r.ID, conditionMessage(r))
					}
					if note := conditionMessage(r); note != noted {
						fmt.Fprintf(g.env.Stderr, "%s is Failed but the reconciler keeps trying (%s): %s\n", r.ID, retry.Message, note)
						noted = note
					}
				}
				if time.Now().After(deadline) {
					return problem.New(problem.Unavailable, "%s is still %s after %s: %s", r.ID, r.Phase, timeout, conditionMessage(r))
				}
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(200 * time.Millisecond):
				}
			}
		},
	}
	cmd.Flags().StringVar(&phase, "for", store.PhaseReady, "phase to wait for")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "give up after this long")
	return cmd
}

func conditionMessage(r store.Request) string {
	if c, ok := findCondition(r, "Ready"); ok {
		return c.Reason + ": " + c.Message
	}
	return "no condition yet"
}

func findCondition(r store.Request, typ string) (store.Condition, bool) {
	for _, c := range r.Conditions {
		if c.Type == typ {
			return c, true
		}
	}
	return store.Condition{}, false
}
