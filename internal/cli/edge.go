package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"

	"github.com/goldenpathidp/goldenpath/internal/dns"
	"github.com/goldenpathidp/goldenpath/internal/edge"
	"github.com/spf13/cobra"
)

func dnsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "dns", Short: "Plan and apply the platform's DNS records (embedded server, Route53 or Terraform)"}
	var env string
	run := func(method, verb string) func(cmd *cobra.Command, _ []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			if env != "" {
				q.Set("env", env)
			}
			var out struct {
				Text    string         `json:"text"`
				Changes bool           `json:"changes"`
				Plan    map[string]any `json:"plan"`
			}
			if err := g.client().do(cmd.Context(), method, "/api/v1/dns/"+verb+"?"+q.Encode(), nil, "", &out); err != nil {
				return err
			}
			return g.printer().print(out.Plan, func(w *tabwriter.Writer) {
				if !out.Changes {
					fmt.Fprintln(w, "No changes: the zone already matches.")
				}
				fmt.Fprint(w, out.Text)
			})
		}
	}
	plan := &cobra.Command{Use: "plan [--env ENV]", Short: "Print the record changes that apply would make", Args: cobra.NoArgs, RunE: run(http.MethodGet, "plan")}
	apply := &cobra.Command{Use: "apply [--env ENV]", Short: "Apply the record changes (admin)", Args: cobra.NoArgs, RunE: run(http.MethodPost, "apply")}
	for _, c := range []*cobra.Command{plan, apply} {
		c.Flags().StringVar(&env, "env", "", "only this environment's records")
	}
	cmd.AddCommand(plan, apply)
	return cmd
}

func routesCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "routes",
		Short: "Show the route table (tooling and apps), the problems found, and where the dev gateway and DNS listen",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var v struct {
				Domain      string            `json:"domain"`
				Routes      []edge.Route      `json:"routes"`
				Records     []dns.Record      `json:"records"`
				Problems    []string          `json:"problems"`
				DNSProvider string            `json:"dnsProvider"`
				DNSServer   string            `json:"dnsServer,omitempty"`
				Gateway     map[string]string `json:"gateway,omitempty"`
			}
			if err := g.client().getJSON(cmd.Context(), "/api/v1/edge", &v); err != nil {
				return err
			}
			return g.printer().print(v, func(w *tabwriter.Writer) {
				row(w, "HOST", "PATH", "ENV", "NAME", "KIND", "AUTH")
				for _, r := range v.Routes {
					kind := "tool"
					if r.App {
						kind = "app"
					}
					row(w, r.Host, r.Path, r.Environment, r.Name, kind, r.Auth)
				}
				if v.Gateway != nil {
					fmt.Fprintf(w, "\ndev gateway: %s and %s (trust its CA: goldenpath gateway ca > ca.pem)\n", v.Gateway["http"], v.Gateway["https"])
				}
				if v.DNSServer != "" {
					fmt.Fprintf(w, "DNS server:  %s (dig @%s -p %s <name>)\n", v.DNSServer, hostOf(v.DNSServer), portOf(v.DNSServer))
				}
				for _, p := range v.Problems {
					fmt.Fprintf(w, "problem: %s\n", p)
				}
			})
		},
	}
}

func gatewayCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "gateway", Short: "The dev gateway of goldenpath up"}
	cmd.AddCommand(&cobra.Command{
		Use:   "ca",
		Short: "Print the dev gateway's root certificate (PEM), to trust its HTTPS in curl or a browser",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var pem []byte
			if err := g.client().do(cmd.Context(), http.MethodGet, "/api/v1/gateway/ca.pem", nil, "", &pem); err != nil {
				return err
			}
			return g.printer().print(map[string]string{"caPem": string(pem)}, func(w *tabwriter.Writer) { _, _ = w.Write(pem) })
		},
	})
	return cmd
}
