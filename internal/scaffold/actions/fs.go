package actions

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
)

// FsDelete is fs:delete.
func FsDelete() scaffold.Action {
	return &action{
		id:          "fs:delete",
		description: "Deletes files and directories (globs allowed) from the workspace.",
		input:       object(map[string]any{"files": strs("Paths or globs relative to the workspace")}, "files"),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			for _, pattern := range ac.Strings("files") {
				if _, err := within(ac.Workspace, pattern); err != nil {
					return fmt.Errorf("input.files: %w", err)
				}
				matches, err := filepath.Glob(filepath.Join(ac.Workspace, filepath.FromSlash(pattern)))
				if err != nil {
					return fmt.Errorf("input.files: %q: %w", pattern, err)
				}
				for _, m := range matches {
					rel, _ := filepath.Rel(ac.Workspace, m)
					if _, err := within(ac.Workspace, filepath.ToSlash(rel)); err != nil {
						return fmt.Errorf("input.files: %w", err)
					}
					if err := os.RemoveAll(m); err != nil {
						return err
					}
					ac.Logf("Deleted %s", filepath.ToSlash(rel))
				}
			}
			return nil
		},
	}
}

// FsRename is fs:rename.
func FsRename() scaffold.Action {
	return &action{
		id:          "fs:rename",
		description: "Renames files and directories within the workspace.",
		input: object(map[string]any{"files": map[string]any{"type": "array", "items": object(map[string]any{
			"from": str("Path to rename"), "to": str("New path"), "overwrite": boolean("Overwrite an existing target"),
		}, "from", "to")}}, "files"),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			list, _ := ac.Input["files"].([]any)
			for i, item := range list {
				m, _ := item.(map[string]any)
				from, _ := m["from"].(string)
				to, _ := m["to"].(string)
				overwrite, _ := m["overwrite"].(bool)
				src, err := within(ac.Workspace, from)
				if err != nil {
					return fmt.Errorf("input.files[%d].from: %w", i, err)
				}
				dst, err := within(ac.Workspace, to)
				if err != nil {
					return fmt.Errorf("input.files[%d].to: %w", i, err)
				}
				if _, err := os.Lstat(src); err != nil {
					return fmt.Errorf("input.files[%d].from: %s does not exist in the workspace", i, from)
				}
				if _, err := os.Lstat(dst); err == nil && !overwrite {
					return fmt.Errorf("input.files[%d].to: %s already exists (set overwrite: true to replace it)", i, to)
				}
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					return err
				}
				if overwrite {
					_ = os.RemoveAll(dst)
				}
				if err := os.Rename(src, dst); err != nil {
					return err
				}
				ac.Logf("Renamed %s to %s", from, to)
			}
			return nil
		},
	}
}

// FsReaddir is fs:readdir.
func FsReaddir() scaffold.Action {
	entry := object(map[string]any{"name": str("Base name"), "path": str("Path relative to the workspace"), "fullPath": str("Absolute path")})
	return &action{
		id:          "fs:readdir",
		description: "Lists files and folders of workspace directories.",
		input:       object(map[string]any{"paths": strs("Directories relative to the workspace"), "recursive": boolean("Descend into subdirectories")}, "paths"),
		output: object(map[string]any{
			"files":   map[string]any{"type": "array", "items": entry},
			"folders": map[string]any{"type": "array", "items": entry},
		}),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			var files, folders []any
			for _, p := range ac.Strings("paths") {
				root, err := within(ac.Workspace, p)
				if err != nil {
					return fmt.Errorf("input.paths: %w", err)
				}
				recursive := ac.Bool("recursive", false)
				err = filepath.WalkDir(root, func(full string, d fs.DirEntry, err error) error {
					if err != nil {
						return err
					}
					if full == root {
						return nil
					}
					rel, _ := filepath.Rel(ac.Workspace, full)
					e := map[string]any{"name": d.Name(), "path": filepath.ToSlash(rel), "fullPath": full}
					if d.IsDir() {
						folders = append(folders, e)
						if !recursive {
							return fs.SkipDir
						}
						return nil
					}
					files = append(files, e)
					return nil
				})
				if err != nil {
					return fmt.Errorf("reading %s: %w", p, err)
				}
			}
			ac.Output("files", nonNil(files))
			ac.Output("folders", nonNil(folders))
			return nil
		},
	}
}

func nonNil(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

// DebugLog is debug:log.
func DebugLog() scaffold.Action {
	return &action{
		id:          "debug:log",
		description: "Writes a message to the task log, and optionally lists the workspace.",
		input: object(map[string]any{
			"message":       str("Message to log"),
			"listWorkspace": anyOf("true, with-filenames or with-contents", "boolean", "string"),
		}),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			if msg := ac.String("message", ""); msg != "" {
				ac.Logf("%s", msg)
			}
			mode := ac.Input["listWorkspace"]
			if mode == nil || mode == false {
				return nil
			}
			var names []string
			_ = filepath.WalkDir(ac.Workspace, func(full string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(ac.Workspace, full)
					names = append(names, filepath.ToSlash(rel))
				}
				return nil
			})
			sort.Strings(names)
			for _, n := range names {
				if mode == "with-contents" {
					b, _ := os.ReadFile(filepath.Join(ac.Workspace, n))
					ac.Logf("%s:\n%s", n, b)
				} else {
					ac.Logf("%s", n)
				}
			}
			return nil
		},
	}
}

// DebugWait is debug:wait, capped so a template cannot hold a worker for long.
func DebugWait(limit time.Duration) scaffold.Action {
	return &action{
		id:          "debug:wait",
		description: fmt.Sprintf("Waits a while (at most %s).", limit),
		input:       object(map[string]any{"minutes": num("Minutes"), "seconds": num("Seconds"), "milliseconds": num("Milliseconds")}),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			var d time.Duration
			for key, unit := range map[string]time.Duration{"minutes": time.Minute, "seconds": time.Second, "milliseconds": time.Millisecond} {
				if v, ok := ac.Input[key].(float64); ok {
					d += time.Duration(v * float64(unit))
				} else if v, ok := ac.Input[key].(int); ok {
					d += time.Duration(v) * unit
				}
			}
			if d > limit {
				return fmt.Errorf("input: waiting %s is more than the limit of %s", d, limit)
			}
			if ac.DryRun {
				ac.Logf("Would wait %s", d)
				return nil
			}
			ac.Logf("Waiting %s", d)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
				return nil
			}
		},
	}
}

var errNotFile = errors.New("not a file")

// readWorkspaceFile reads a file of the workspace.
func readWorkspaceFile(ac *scaffold.ActionContext, rel string) ([]byte, error) {
	p, err := within(ac.Workspace, strings.TrimPrefix(rel, "/"))
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", rel, errNotFile)
	}
	return os.ReadFile(p)
}
