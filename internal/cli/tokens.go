package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/rest"
	"github.com/goldenpathidp/goldenpath/internal/store"
	"github.com/spf13/cobra"
)

// tokenCmd is `user token`: `user token NAME` issues a token (as it always did); list and revoke are its
// subcommands (`user token issue NAME` issues for a user called list, issue or revoke).
func tokenCmd(g *globals) *cobra.Command {
	var ttl time.Duration
	var desc string
	issue := func(cmd *cobra.Command, args []string) error {
		body := map[string]string{"description": desc}
		if ttl > 0 {
			body["ttl"] = ttl.String()
		}
		var out struct {
			Token string `json:"token"`
		}
		if err := g.client().sendJSON(cmd.Context(), http.MethodPost, "/api/v1/users/"+url.PathEscape(args[0])+"/tokens", body, &out); err != nil {
			return err
		}
		return g.printer().print(out, func(w *tabwriter.Writer) { fmt.Fprintln(w, out.Token) })
	}
	flags := func(c *cobra.Command) {
		c.Flags().DurationVar(&ttl, "ttl", 0, "expire after this long (default: never, or when the token you use expires; never later than that)")
		c.Flags().StringVar(&desc, "description", "", "what the token is for")
	}
	token := &cobra.Command{
		Use:   "token NAME",
		Short: "Issue (admin, or yourself; printed once), list and revoke API tokens",
		Long: "`user token NAME` issues a token for NAME (admins for anyone, everyone for themselves); it is printed once.\n" +
			"A token never outlives the one you are using: without --ttl it expires when yours does.\n" +
			"`user token list [USER]` and `user token revoke ID` list and revoke tokens.",
		Args: cobra.ExactArgs(1),
		RunE: issue,
	}
	flags(token)
	issueCmd := &cobra.Command{
		Use:   "issue NAME",
		Short: "Issue an API token (admin, or yourself); it is printed once",
		Args:  cobra.ExactArgs(1),
		RunE:  issue,
	}
	flags(issueCmd)
	list := &cobra.Command{
		Use:   "list [USER]",
		Short: "List your API tokens, or a user's (admin): id, description, created, expires, last used",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			user, err := userOrMe(cmd.Context(), g, args)
			if err != nil {
				return err
			}
			var out struct {
				Items []rest.TokenView `json:"items"`
			}
			if err := g.client().getJSON(cmd.Context(), "/api/v1/users/"+url.PathEscape(user)+"/tokens", &out); err != nil {
				return err
			}
			return g.printer().print(listOf(out.Items), func(w *tabwriter.Writer) {
				row(w, "ID", "DESCRIPTION", "CREATED", "EXPIRES", "LAST USED")
				for _, t := range out.Items {
					id := t.ID
					if t.Current {
						id += " (this one)"
					}
					expires := "never"
					if t.ExpiresAt != nil {
						expires = stamp(*t.ExpiresAt)
					}
					used := "never"
					if !t.LastUsedAt.IsZero() {
						used = stamp(t.LastUsedAt)
					}
					row(w, id, orDash(t.Description), stamp(t.CreatedAt), expires, used)
				}
			})
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API token (your own, or anyone's as admin); it stops working at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Revoked rest.TokenView `json:"revoked"`
			}
			if err := g.client().sendJSON(cmd.Context(), http.MethodDelete, "/api/v1/tokens/"+url.PathEscape(args[0]), nil, &out); err != nil {
				return err
			}
			return g.printer().print(out, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "Revoked token %s of %s\n", out.Revoked.ID, out.Revoked.User)
			})
		},
	}
	token.AddCommand(issueCmd, list, revoke)
	return token
}

// userOrMe is args[0], or the caller's own name.
func userOrMe(ctx context.Context, g *globals, args []string) (string, error) {
	if len(args) == 1 {
		return args[0], nil
	}
	var me struct {
		Name string `json:"name"`
	}
	if err := g.client().getJSON(ctx, "/api/v1/whoami", &me); err != nil {
		return "", err
	}
	return me.Name, nil
}

func userSetCmd(g *globals) *cobra.Command {
	var roles, teams []string
	cmd := &cobra.Command{
		Use:   "set NAME [--role ROLE]... [--team TEAM]...",
		Short: "Replace a user's roles and/or teams (admin); effective at once for their tokens and portal sessions",
		Long: "Replace a user's roles (--role, repeatable or comma-separated) and/or teams (--team; --team '' removes every team).\n" +
			"What is not given stays. The last admin cannot lose the role, and goldenpath-bot cannot be changed.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{}
			if cmd.Flags().Changed("role") {
				body["roles"] = nonNilStrings(roles)
			}
			if cmd.Flags().Changed("team") {
				body["teams"] = nonNilStrings(teams)
			}
			if len(body) == 0 {
				return usagef("give --role, --team or both")
			}
			var u store.User
			if err := g.client().sendJSON(cmd.Context(), http.MethodPatch, "/api/v1/users/"+url.PathEscape(args[0]), body, &u); err != nil {
				return err
			}
			return g.printer().print(u, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "User %s: roles %s; teams %s\n", u.Name, orDash(strings.Join(u.Roles, ",")), orDash(strings.Join(u.Teams, ",")))
			})
		},
	}
	cmd.Flags().StringSliceVar(&roles, "role", nil, "role: developer, approver or admin (repeatable)")
	cmd.Flags().StringSliceVar(&teams, "team", nil, "team (repeatable; '' for none)")
	return cmd
}

func userDeleteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a user (admin): all their tokens are revoked and their portal sessions end",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Deleted       string `json:"deleted"`
				TokensRevoked int    `json:"tokensRevoked"`
			}
			if err := g.client().sendJSON(cmd.Context(), http.MethodDelete, "/api/v1/users/"+url.PathEscape(args[0]), nil, &out); err != nil {
				return err
			}
			return g.printer().print(out, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "Deleted user %s (%d token(s) revoked)\n", out.Deleted, out.TokensRevoked)
			})
		},
	}
}

func nonNilStrings(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
