package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/goldenpathidp/goldenpath/internal/change"
	"github.com/goldenpathidp/goldenpath/internal/store"
	"github.com/spf13/cobra"
)

func changeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "change", Aliases: []string{"changes", "cr"}, Short: "Review and merge change requests on the platform repository"}
	cmd.AddCommand(changeListCmd(g), changeShowCmd(g), changeOpenCmd(g), changeApproveCmd(g),
		changeCloseCmd(g, "reject", "Reject a change request (approver role)"),
		changeCloseCmd(g, "close", "Withdraw a change request (author or admin)"),
		changeMergeCmd(g), changeCommentCmd(g))
	return cmd
}

func changePath(arg string, suffix string) string {
	return "/api/v1/changes/" + url.PathEscape(strings.TrimPrefix(arg, "#")) + suffix
}

func changeListCmd(g *globals) *cobra.Command {
	var state, author string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List change requests (default: open ones)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			if state != "all" {
				q.Set("state", state)
			}
			if author != "" {
				q.Set("author", author)
			}
			var out struct {
				Items []store.Change `json:"items"`
			}
			if err := g.client().getJSON(cmd.Context(), "/api/v1/changes?"+q.Encode(), &out); err != nil {
				return err
			}
			return g.printer().print(listOf(out.Items), func(w *tabwriter.Writer) {
				row(w, "NUMBER", "STATE", "AUTHOR", "TITLE", "BRANCH")
				for _, c := range out.Items {
					row(w, fmt.Sprintf("#%d", c.Number), c.State, c.Author, c.Title, c.Branch)
				}
			})
		},
	}
	cmd.Flags().StringVar(&state, "state", "open", "open, merged, rejected, closed or all")
	cmd.Flags().StringVar(&author, "author", "", "filter by author")
	return cmd
}

func changeShowCmd(g *globals) *cobra.Command {
	var diff bool
	cmd := &cobra.Command{
		Use:   "show NUMBER",
		Short: "Show a change request: files, checks, plan, approvals and whether it can merge",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := changePath(args[0], "")
			if diff {
				path += "?diff=true"
			}
			var v change.View
			if err := g.client().getJSON(cmd.Context(), path, &v); err != nil {
				return err
			}
			return g.printer().print(v, func(w *tabwriter.Writer) { printChange(w, &v) })
		},
	}
	cmd.Flags().BoolVar(&diff, "diff", false, "include the file patches")
	return cmd
}

func printChange(w *tabwriter.Writer, v *change.View) {
	ev := v.Evaluation
	fmt.Fprintf(w, "#%d %s\n", v.Number, v.Title)
	fmt.Fprintf(w, "State:\t%s (by %s, branch %s at %s)\n", v.State, v.Author, v.Branch, shortSHA(v.HeadSHA))
	fmt.Fprintln(w, "Files:")
	for _, f := range ev.Files {
		fmt.Fprintf(w, "  %s\t%s\n", f.Status, f.Path)
	}
	fmt.Fprintln(w, "Checks:")
	for _, c := range ev.Checks {
		mark := "pass"
		if !c.Passed {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s\t%s: %s\n", mark, c.Name, c.Summary)
		for _, e := range c.Errors {
			fmt.Fprintf(w, "    \t%s\n", e.Error())
		}
	}
	fmt.Fprintln(w, "Plan:")
	if len(ev.Plan) == 0 {
		fmt.Fprintln(w, "  (no resources change)")
	}
	for _, p := range ev.Plan {
		fmt.Fprintf(w, "  %s\t%s (owner %s, team %s)\n", p.Action, p.RequestID, p.Owner, p.Team)
		for _, c := range p.Changes {
			fmt.Fprintf(w, "    \t~ %s\n", c)
		}
		for _, r := range p.Resources {
			fmt.Fprintf(w, "    \t%s %s\n", r.Type, r.Name)
			for _, s := range r.Settings {
				fmt.Fprintf(w, "    \t    %s: %s\n", s.Name, s.Value)
			}
		}
	}
	fmt.Fprintf(w, "Approvals:\t%d of %d (%s)\n", len(ev.Approvers), ev.Required, strings.Join(ev.Approvers, ", "))
	if ev.Mergeable {
		fmt.Fprintln(w, "Mergeable:\tyes")
	} else {
		fmt.Fprintln(w, "Mergeable:\tno")
		for _, b := range ev.Blockers {
			fmt.Fprintf(w, "  -\t%s\n", b)
		}
	}
	for _, c := range v.Comments {
		fmt.Fprintf(w, "Comment by %s:\t%s\n", c.Author, c.Body)
	}
	for _, d := range v.Diff {
		fmt.Fprintf(w, "\n%s\n", d.Patch)
	}
}

func changeOpenCmd(g *globals) *cobra.Command {
	var title, body string
	cmd := &cobra.Command{
		Use:   "open BRANCH",
		Short: "Open a change request for a branch you pushed to the platform repository",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var c store.Change
			if err := g.client().sendJSON(cmd.Context(), http.MethodPost, "/api/v1/changes", map[string]string{"branch": args[0], "title": title, "body": body}, &c); err != nil {
				return err
			}
			return g.printer().print(c, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "Opened change request #%d for %s\n", c.Number, c.Branch)
			})
		},
	}
	cmd.Flags().StringVar(&title, "title", "", "title (default: Merge BRANCH)")
	cmd.Flags().StringVar(&body, "body", "", "description")
	return cmd
}

func changeApproveCmd(g *globals) *cobra.Command {
	var comment string
	var merge bool
	cmd := &cobra.Command{
		Use:   "approve NUMBER",
		Short: "Approve a change request (approver role; not your own)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r store.Review
			c := g.client()
			if err := c.sendJSON(cmd.Context(), http.MethodPost, changePath(args[0], "/approve"), map[string]string{"comment": comment}, &r); err != nil {
				return err
			}
			if !merge {
				return g.printer().print(r, func(w *tabwriter.Writer) {
					fmt.Fprintf(w, "Approved change request #%d at %s\n", r.Change, shortSHA(r.HeadSHA))
				})
			}
			return g.merge(cmd, args[0])
		},
	}
	cmd.Flags().StringVarP(&comment, "message", "m", "", "comment")
	cmd.Flags().BoolVar(&merge, "merge", false, "merge right after approving")
	return cmd
}

func (g *globals) merge(cmd *cobra.Command, arg string) error {
	var c store.Change
	if err := g.client().sendJSON(cmd.Context(), http.MethodPost, changePath(arg, "/merge"), nil, &c); err != nil {
		return err
	}
	return g.printer().print(c, func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "Merged change request #%d into main as %s\n", c.Number, shortSHA(c.MergedSHA))
	})
}

func changeMergeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "merge NUMBER",
		Short: "Merge an approved change request into main",
		Args:  cobra.ExactArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return g.merge(cmd, args[0]) },
	}
}

func changeCloseCmd(g *globals, verb, short string) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   verb + " NUMBER",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var c store.Change
			if err := g.client().sendJSON(cmd.Context(), http.MethodPost, changePath(args[0], "/"+verb), map[string]string{"reason": reason}, &c); err != nil {
				return err
			}
			return g.printer().print(c, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "Change request #%d is %s\n", c.Number, c.State)
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why")
	return cmd
}

func changeCommentCmd(g *globals) *cobra.Command {
	var body string
	cmd := &cobra.Command{
		Use:   "comment NUMBER -m TEXT",
		Short: "Comment on a change request",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var c store.Comment
			if err := g.client().sendJSON(cmd.Context(), http.MethodPost, changePath(args[0], "/comments"), map[string]string{"body": body}, &c); err != nil {
				return err
			}
			return g.printer().print(c, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "Commented on change request #%d\n", c.Change)
			})
		},
	}
	cmd.Flags().StringVarP(&body, "message", "m", "", "the comment")
	return cmd
}
