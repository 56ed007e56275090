package actions

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/skeleton"
)

// FsDelete is fs:delete.
func FsDelete() scaffold.Action {
	return &action{
		id:          "fs:delete",
		description: "Deletes files and directories (globs allowed) from the workspace.",
		input:       object(map[string]any{"files": strs("Paths or globs relative to the workspace")}, "files"),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			for _, pattern := range ac.Strings("files") {
				matches, err := ac.Workspace.Glob(pattern)
				if err != nil {
					return fmt.Errorf("input.files: %q: %w", pattern, err)
				}
				for _, m := range matches {
					if err := ac.Workspace.RemoveAll(m); err != nil {
						return fmt.Errorf("input.files: %w", err)
					}
					ac.Logf("Deleted %s", m)
				}
			}
			return nil
		},
	}
}

// FsRename is fs:rename. A symlink is moved as it is; it is never followed, there or later.
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
				m, _ := expr.AsMap(item)
				from, _ := m["from"].(string)
				to, _ := m["to"].(string)
				overwrite, _ := m["overwrite"].(bool)
				if err := ac.Workspace.Rename(from, to, overwrite); err != nil {
					return fmt.Errorf("input.files[%d]: %w", i, err)
				}
				ac.Logf("Renamed %s to %s", from, to)
			}
			return nil
		},
	}
}

// FsReaddir is fs:readdir. Symlinks are listed as files, never followed.
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
			recursive := ac.Bool("recursive", false)
			for _, p := range ac.Strings("paths") {
				base, err := skeleton.Rel(p)
				if err != nil {
					return fmt.Errorf("input.paths: %w", err)
				}
				err = ac.Workspace.Walk(base, func(rel string, d fs.DirEntry) error {
					e := map[string]any{"name": d.Name(), "path": rel, "fullPath": filepath.Join(ac.Workspace.Dir(), filepath.FromSlash(rel))}
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

// DebugLog is debug:log. Listing the workspace with contents shows each regular file, at most
// scaffold.MaxMessageBytes of it; a symlink is shown as a link and never followed.
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
			return ac.Workspace.Walk(".", func(rel string, d fs.DirEntry) error {
				switch {
				case ctx.Err() != nil:
					return ctx.Err()
				case d.IsDir():
					return nil
				case d.Type()&fs.ModeSymlink != 0:
					target, _ := ac.Workspace.Readlink(rel)
					ac.Logf("%s -> %s (a symlink, not followed)", rel, target)
				case mode != "with-contents":
					ac.Logf("%s", rel)
				default:
					logContents(ac, rel)
				}
				return nil
			})
		},
	}
}

func logContents(ac *scaffold.ActionContext, rel string) {
	b, truncated, err := ac.Workspace.ReadFile(rel, scaffold.MaxMessageBytes)
	switch {
	case err != nil:
		ac.Logf("%s: (not shown: %v)", rel, err)
	case truncated:
		ac.Logf("%s (the first %d bytes):\n%s", rel, len(b), b)
	default:
		ac.Logf("%s:\n%s", rel, b)
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

// readWorkspaceFile reads a file of the workspace (a leading / names the workspace's root).
func readWorkspaceFile(ac *scaffold.ActionContext, rel string) ([]byte, error) {
	b, truncated, err := ac.Workspace.ReadFile(strings.TrimPrefix(rel, "/"), maxReadBytes)
	if err == nil && truncated {
		err = fmt.Errorf("%s is larger than %d bytes", rel, maxReadBytes)
	}
	return b, err
}

// maxReadBytes bounds a workspace file an action reads (a catalog-info.yaml).
const maxReadBytes = 4 << 20
