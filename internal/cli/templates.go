package cli

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

func templateCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "template", Aliases: []string{"templates"}, Short: "List, run and dry-run software templates (Backstage scaffolder templates)"}
	cmd.AddCommand(templateListCmd(g), templateShowCmd(g), templateRunCmd(g), templateDryRunCmd(g))
	return cmd
}

func templateListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the templates of the platform repository",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct {
				Items []struct {
					Name, Title, Type, Description, Source string
				} `json:"items"`
				Problems []string `json:"problems"`
			}
			if err := g.client().getJSON(cmd.Context(), "/api/scaffolder/v2/templates", &out); err != nil {
				return err
			}
			return g.printer().print(out, func(w *tabwriter.Writer) {
				row(w, "NAME", "TYPE", "TITLE")
				for _, t := range out.Items {
					row(w, t.Name, t.Type, t.Title)
				}
				for _, p := range out.Problems {
					row(w, "problem:", p)
				}
			})
		},
	}
}

func templateShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a template's parameters, page by page",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Title, Description string
				Steps              []struct {
					Title  string         `json:"title"`
					Schema map[string]any `json:"schema"`
				} `json:"steps"`
			}
			path := "/api/scaffolder/v2/templates/default/template/" + url.PathEscape(args[0]) + "/parameter-schema"
			if err := g.client().getJSON(cmd.Context(), path, &out); err != nil {
				return err
			}
			return g.printer().print(out, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "%s\n%s\n", out.Title, out.Description)
				for _, page := range out.Steps {
					fmt.Fprintf(w, "\n%s\n", page.Title)
					req := map[string]bool{}
					if list, ok := page.Schema["required"].([]any); ok {
						for _, r := range list {
							req[fmt.Sprint(r)] = true
						}
					}
					props, _ := page.Schema["properties"].(map[string]any)
					for name, p := range props {
						m, _ := p.(map[string]any)
						mark := ""
						if req[name] {
							mark = " (required)"
						}
						detail := fmt.Sprint(m["type"])
						if enum, ok := m["enum"]; ok {
							detail += fmt.Sprintf(" one of %v", enum)
						}
						if def, ok := m["default"]; ok {
							detail += fmt.Sprintf(", default %v", def)
						}
						fmt.Fprintf(w, "  %s%s\t%s\t%v\n", name, mark, detail, m["title"])
					}
				}
			})
		},
	}
}

// readValues reads a YAML or JSON values file (- for stdin) and --set key=value pairs.
func readValues(g *globals, file string, sets []string) (map[string]any, error) {
	values := map[string]any{}
	if file != "" {
		var raw []byte
		var err error
		if file == "-" {
			raw, err = readAll(g)
		} else {
			raw, err = os.ReadFile(file)
		}
		if err != nil {
			return nil, fmt.Errorf("reading --values: %w", err)
		}
		var ordered expr.Object // objects in the values keep their order (catalog:write writes them so)
		if err := yaml.Unmarshal(raw, &ordered); err != nil {
			return nil, problem.Field("--values", "%s is not a YAML mapping: %v", file, err)
		}
		if ordered != nil {
			values = ordered
		}
	}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, usagef("--set %q: want key=value", s)
		}
		var parsed any
		if err := yaml.Unmarshal([]byte(v), &parsed); err != nil || parsed == nil {
			parsed = v
		}
		values[k] = parsed
	}
	return values, nil
}

func readAll(g *globals) ([]byte, error) {
	var b strings.Builder
	sc := bufio.NewScanner(g.env.Stdin)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return []byte(b.String()), sc.Err()
}

func templateRunCmd(g *globals) *cobra.Command {
	var file string
	var sets []string
	var wait bool
	cmd := &cobra.Command{
		Use:   "run NAME [--values values.yaml] [--set key=value]",
		Short: "Run a template as a task and follow its log",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			values, err := readValues(g, file, sets)
			if err != nil {
				return err
			}
			c := g.client()
			var created struct{ ID string }
			if err := c.sendJSON(cmd.Context(), http.MethodPost, "/api/scaffolder/v2/tasks",
				map[string]any{"templateRef": "template:default/" + args[0], "values": values}, &created); err != nil {
				return err
			}
			fmt.Fprintf(g.env.Stdout, "Task %s started\n", created.ID)
			if !wait {
				return nil
			}
			return followTask(cmd, g, c, created.ID)
		},
	}
	cmd.Flags().StringVarP(&file, "values", "f", "", "YAML or JSON file with the parameters (- for stdin)")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "a parameter as key=value (repeatable)")
	cmd.Flags().BoolVar(&wait, "wait", true, "follow the task's log until it ends")
	return cmd
}

// followTask polls a task's events and prints them until it completes.
func followTask(cmd *cobra.Command, g *globals, c *client, id string) error {
	var after int64
	for {
		var events []struct {
			ID   int64          `json:"id"`
			Type string         `json:"type"`
			Body map[string]any `json:"body"`
		}
		if err := c.getJSON(cmd.Context(), fmt.Sprintf("/api/scaffolder/v2/tasks/%s/events?after=%d", id, after), &events); err != nil {
			return err
		}
		for _, e := range events {
			after = e.ID
			if msg, _ := e.Body["message"].(string); msg != "" && e.Body["status"] == nil {
				fmt.Fprintf(g.env.Stdout, "%s\n", msg)
			}
			if e.Type == "completion" {
				return taskOutcome(g, c, cmd, id, e.Body)
			}
		}
		select {
		case <-cmd.Context().Done():
			return cmd.Context().Err()
		case <-time.After(150 * time.Millisecond):
		}
	}
}

func taskOutcome(g *globals, c *client, cmd *cobra.Command, id string, body map[string]any) error {
	var t struct {
		Status string `json:"status"`
	}
	if err := c.getJSON(cmd.Context(), "/api/scaffolder/v2/tasks/"+id, &t); err != nil {
		return err
	}
	if t.Status != "completed" {
		return problem.New(problem.Precondition, "task %s %s (retry it from the failed step with POST /api/scaffolder/v2/tasks/%s/retry)", id, t.Status, id)
	}
	if out, ok := body["output"].(map[string]any); ok {
		if links, ok := out["links"].([]any); ok {
			for _, l := range links {
				m, _ := l.(map[string]any)
				target := m["url"]
				if target == nil || target == "" {
					target = m["entityRef"]
				}
				fmt.Fprintf(g.env.Stdout, "  %v: %v\n", m["title"], target)
			}
		}
		if texts, ok := out["text"].([]any); ok {
			for _, tx := range texts {
				m, _ := tx.(map[string]any)
				fmt.Fprintf(g.env.Stdout, "\n%v\n%v\n", m["title"], m["content"])
			}
		}
	}
	return nil
}

func templateDryRunCmd(g *globals) *cobra.Command {
	var file, outDir, dir string
	var sets []string
	cmd := &cobra.Command{
		Use:   "dry-run NAME|--dir DIR [--values values.yaml] --out DIR",
		Short: "Render a template without side effects and write the files it would produce to --out",
		Long: `Render a template through the same code path as a real run, with actions that change nothing outside
the workspace. NAME is a template of the platform repository; --dir runs a template from a local directory
(its template.yaml and files) instead, so templates can be tested before they are merged.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (dir != "") {
				return usagef("give a template NAME or --dir, not both")
			}
			values, err := readValues(g, file, sets)
			if err != nil {
				return err
			}
			body := map[string]any{"values": values}
			if dir != "" {
				tmpl, files, err := localTemplate(dir)
				if err != nil {
					return err
				}
				body["template"], body["directoryContents"] = tmpl, files
			} else {
				body["templateRef"] = "template:default/" + args[0]
			}
			var res struct {
				Log []struct {
					Body map[string]any `json:"body"`
				} `json:"log"`
				DirectoryContents []struct {
					Path, Base64Content string
					Executable          bool
				} `json:"directoryContents"`
				Output map[string]any `json:"output"`
				Error  string         `json:"error"`
			}
			if err := g.client().sendJSON(cmd.Context(), http.MethodPost, "/api/scaffolder/v2/dry-run", body, &res); err != nil {
				return err
			}
			for _, l := range res.Log {
				if msg, _ := l.Body["message"].(string); msg != "" && l.Body["status"] == nil {
					fmt.Fprintln(g.env.Stderr, msg)
				}
			}
			if outDir != "" {
				for _, f := range res.DirectoryContents {
					if err := writeOut(outDir, f.Path, f.Base64Content, f.Executable); err != nil {
						return err
					}
				}
				fmt.Fprintf(g.env.Stdout, "Wrote %d files to %s\n", len(res.DirectoryContents), outDir)
			} else {
				for _, f := range res.DirectoryContents {
					fmt.Fprintln(g.env.Stdout, f.Path)
				}
			}
			if res.Error != "" {
				return problem.New(problem.Precondition, "the dry run failed: %s", res.Error)
			}
			raw, _ := json.MarshalIndent(res.Output, "", "  ")
			fmt.Fprintf(g.env.Stdout, "output: %s\n", raw)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "values", "f", "", "YAML or JSON file with the parameters (- for stdin)")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "a parameter as key=value (repeatable)")
	cmd.Flags().StringVar(&outDir, "out", "", "write the rendered files to this directory")
	cmd.Flags().StringVar(&dir, "dir", "", "run the template in this local directory instead of one of the platform repository")
	return cmd
}

// localTemplate reads DIR/template.yaml and every file under DIR.
func localTemplate(dir string) (map[string]any, []map[string]any, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "template.yaml"))
	if err != nil {
		return nil, nil, fmt.Errorf("--dir: %w", err)
	}
	var tmpl expr.Object // the steps' inputs keep their order
	if err := yaml.Unmarshal(raw, &tmpl); err != nil {
		return nil, nil, problem.Field("template.yaml", "%v", err)
	}
	var files []map[string]any
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&os.ModeSymlink != 0 {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, _ := d.Info()
		files = append(files, map[string]any{"path": filepath.ToSlash(rel), "base64Content": base64.StdEncoding.EncodeToString(b),
			"executable": info != nil && info.Mode()&0o111 != 0})
		return nil
	})
	return tmpl, files, err
}

func writeOut(root, rel, b64 string, executable bool) error {
	clean := filepath.Clean(filepath.FromSlash(rel))
	if filepath.IsAbs(clean) || strings.HasPrefix(clean, "..") {
		return fmt.Errorf("refusing to write %q outside %s", rel, root)
	}
	content, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return err
	}
	p := filepath.Join(root, clean)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if executable {
		mode = 0o755
	}
	return os.WriteFile(p, content, mode)
}
