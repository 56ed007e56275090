package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/goldenpathidp/goldenpath/internal/store"
	"github.com/spf13/cobra"
)

func whoamiCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who the token belongs to",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var me struct {
				Name  string   `json:"name"`
				Roles []string `json:"roles"`
				Teams []string `json:"teams"`
			}
			if err := g.client().getJSON(cmd.Context(), "/api/v1/whoami", &me); err != nil {
				return err
			}
			return g.printer().print(me, func(w *tabwriter.Writer) {
				row(w, me.Name, "roles: "+strings.Join(me.Roles, ","), "teams: "+strings.Join(me.Teams, ","))
			})
		},
	}
}

func userCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Aliases: []string{"users"}, Short: "Manage users and API tokens"}
	var roles, teams []string
	add := &cobra.Command{
		Use:   "add NAME --role ROLE [--team TEAM]",
		Short: "Create a user (admin); roles: developer, approver, admin",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var u store.User
			if err := g.client().sendJSON(cmd.Context(), http.MethodPost, "/api/v1/users",
				map[string]any{"name": args[0], "roles": roles, "teams": teams}, &u); err != nil {
				return err
			}
			return g.printer().print(u, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "Created user %s (roles %s; teams %s)\n", u.Name, strings.Join(u.Roles, ","), strings.Join(u.Teams, ","))
			})
		},
	}
	add.Flags().StringSliceVar(&roles, "role", []string{store.RoleDeveloper}, "role (repeatable)")
	add.Flags().StringSliceVar(&teams, "team", nil, "team (repeatable)")
	token := tokenCmd(g)
	list := &cobra.Command{
		Use:   "list",
		Short: "List users (admin)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct {
				Items []store.User `json:"items"`
			}
			if err := g.client().getJSON(cmd.Context(), "/api/v1/users", &out); err != nil {
				return err
			}
			return g.printer().print(listOf(out.Items), func(w *tabwriter.Writer) {
				row(w, "NAME", "ROLES", "TEAMS")
				for _, u := range out.Items {
					row(w, u.Name, strings.Join(u.Roles, ","), strings.Join(u.Teams, ","))
				}
			})
		},
	}
	cmd.AddCommand(add, token, list, userSetCmd(g), userDeleteCmd(g))
	return cmd
}

func secretCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "secret", Aliases: []string{"secrets"}, Short: "Set and read the values of SecretRequests (never through git)"}
	var value, file string
	set := &cobra.Command{
		Use:   "set ID [--value V | --from-file F]",
		Short: "Set a secret's value (owners only); without flags the value is read from stdin",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := value
			switch {
			case value != "" && file != "":
				return usagef("give --value or --from-file, not both")
			case file != "":
				b, err := os.ReadFile(file)
				if err != nil {
					return fmt.Errorf("reading --from-file: %w", err)
				}
				v = string(b)
			case value == "":
				b, err := io.ReadAll(io.LimitReader(g.env.Stdin, 1<<20))
				if err != nil {
					return err
				}
				v = strings.TrimRight(string(b), "\r\n")
			}
			var out struct {
				ID      string `json:"id"`
				Version int64  `json:"version"`
			}
			if err := g.client().sendJSON(cmd.Context(), http.MethodPut, "/api/v1/secrets/"+url.PathEscape(args[0]), map[string]string{"value": v}, &out); err != nil {
				return err
			}
			out.ID = args[0]
			return g.printer().print(out, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "Set %s (version %d)\n", args[0], out.Version)
			})
		},
	}
	set.Flags().StringVar(&value, "value", "", "the value (visible in shell history; prefer stdin)")
	set.Flags().StringVar(&file, "from-file", "", "read the value from a file")
	get := &cobra.Command{
		Use:   "get ID",
		Short: "Print a secret's value (owners and admins only)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Value   string `json:"value"`
				Version int64  `json:"version"`
			}
			if err := g.client().getJSON(cmd.Context(), "/api/v1/secrets/"+url.PathEscape(args[0]), &out); err != nil {
				return err
			}
			return g.printer().print(out, func(w *tabwriter.Writer) { fmt.Fprintln(w, out.Value) })
		},
	}
	cmd.AddCommand(set, get)
	return cmd
}
