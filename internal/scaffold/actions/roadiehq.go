package actions

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/skeleton"
)

// The community utility actions of RoadieHQ's scaffolder-backend-module-utils, with their inputs and
// outputs. Every path is a path of the task's workspace (skeleton.Workspace): none leads out of it.

// yamlOptions is the schema of the yaml package's stringify options the actions accept.
func yamlOptions() map[string]any {
	return object(map[string]any{
		"indent":                         num("Spaces per level (default 2)"),
		"indentSeq":                      boolean("Indent sequences under their key (default true)"),
		"blockQuote":                     anyOf("Block quote styles (accepted; goldenpath's YAML writer picks them)", "boolean", "string"),
		"collectionStyle":                str("any, block or flow (accepted; goldenpath writes block style)"),
		"defaultKeyType":                 anyOf("Key style (accepted)", "string", "null"),
		"defaultStringType":              str("String style (accepted)"),
		"directives":                     anyOf("Document markers (accepted)", "boolean", "null"),
		"doubleQuotedAsJSON":             boolean("(accepted)"),
		"doubleQuotedMinMultiLineLength": num("(accepted)"),
		"falseStr":                       str("(accepted)"),
		"flowCollectionPadding":          boolean("(accepted)"),
		"lineWidth":                      num("(accepted; goldenpath does not fold long lines)"),
		"minContentWidth":                num("(accepted)"),
		"nullStr":                        str("(accepted)"),
		"simpleKeys":                     boolean("(accepted)"),
		"singleQuote":                    anyOf("(accepted)", "boolean", "null"),
		"trueStr":                        str("(accepted)"),
	})
}

func pathOutput(title string) map[string]any { return object(map[string]any{"path": str(title)}) }

// fullPath is what the originals output for a workspace path: the file's absolute path.
func fullPath(ac *scaffold.ActionContext, rel string) string {
	return filepath.Join(ac.Workspace.Dir(), filepath.FromSlash(rel))
}

// relInput reads a workspace path input (as Backstage's resolveSafeChildPath does, a path outside the
// workspace is an error naming the input).
func relInput(ac *scaffold.ActionContext, name string) (string, error) {
	p := ac.String(name, "")
	rel, err := skeleton.Rel(p)
	if err != nil {
		return "", fmt.Errorf("input.%s: %w", name, err)
	}
	if rel == "." {
		return "", fmt.Errorf("input.%s: %q names the workspace itself, not a file", name, p)
	}
	return rel, nil
}

// readInput reads the workspace file an input names.
func readInput(ac *scaffold.ActionContext, name string) (string, []byte, error) {
	rel, err := relInput(ac, name)
	if err != nil {
		return "", nil, err
	}
	raw, err := readWorkspaceFile(ac, rel)
	if err != nil {
		return "", nil, fmt.Errorf("input.%s: %w", name, err)
	}
	return rel, raw, nil
}

// writeOutput writes a workspace file (replacing a symlink there, never writing through it), keeping what
// it shows of a secret hidden, and sets the path output.
func writeOutput(ac *scaffold.ActionContext, rel string, content []byte, secret bool) error {
	if secret {
		ac.AddSecret(string(content))
	}
	if err := ac.Workspace.WriteFile(rel, content, false); err != nil {
		return fmt.Errorf("input.path: %w", err)
	}
	ac.Output("path", fullPath(ac, rel))
	return nil
}

// RoadieWrite is roadiehq:utils:fs:write.
func RoadieWrite() scaffold.Action {
	return &action{
		id:          "roadiehq:utils:fs:write",
		description: "Creates a file with the content on the given path.",
		input: object(map[string]any{
			"path":               str("Relative path"),
			"content":            str("This will be the content of the file"),
			"preserveFormatting": boolean("Specify whether to preserve formatting for JSON content"),
		}, "path", "content"),
		output: pathOutput("Path to the file that was written"),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			rel, err := relInput(ac, "path")
			if err != nil {
				return err
			}
			content, _ := ac.Input["content"].(string)
			if ac.Bool("preserveFormatting", false) {
				if v, err := expr.DecodeJSON([]byte(content)); err == nil {
					if s, err := jsonStringify(v, nil, "  "); err == nil {
						content = s
					}
				}
			}
			ac.Logf("Writing %s", rel)
			return writeOutput(ac, rel, []byte(content), expr.HasSecret(ac.SecretInput("content")))
		},
	}
}

// RoadieAppend is roadiehq:utils:fs:append.
func RoadieAppend() scaffold.Action {
	return &action{
		id:          "roadiehq:utils:fs:append",
		description: "Append content to the end of the given file, it will create the file if it does not exist.",
		input: object(map[string]any{
			"path":    str("Path to existing file to append."),
			"content": str("This will be appended to the file"),
		}, "path", "content"),
		output: pathOutput("Path to the file that was appended to"),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			rel, err := relInput(ac, "path")
			if err != nil {
				return err
			}
			var old []byte
			if _, err := ac.Workspace.Lstat(rel); err == nil {
				if old, err = readWorkspaceFile(ac, rel); err != nil {
					return fmt.Errorf("input.path: %w", err)
				}
			}
			content, _ := ac.Input["content"].(string)
			ac.Logf("Appending %d bytes to %s", len(content), rel)
			return writeOutput(ac, rel, append(old, content...), expr.HasSecret(ac.SecretInput("content")))
		},
	}
}

// RoadieParse is roadiehq:utils:fs:parse.
func RoadieParse() scaffold.Action {
	return &action{
		id:          "roadiehq:utils:fs:parse",
		description: "Reads a file from the workspace and optionally parses it.",
		input: object(map[string]any{
			"path":   str("Path to the file to read."),
			"parser": map[string]any{"type": "string", "enum": []any{"yaml", "json", "multiyaml"}, "title": "Optionally parse the content to an object."},
		}, "path"),
		output: object(map[string]any{"content": anyOf("Content of the file", "string", "object", "array")}),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			rel, raw, err := readInput(ac, "path")
			if err != nil {
				return err
			}
			var content any = string(raw)
			switch ac.String("parser", "") {
			case "json":
				content, err = expr.DecodeJSON(raw)
			case "yaml":
				content, err = parseYAMLOne(raw)
			case "multiyaml":
				var docs []any
				docs, err = parseYAMLDocs(raw)
				content = nonNil(docs)
			}
			if err != nil {
				return fmt.Errorf("parsing %s as %s: %w", rel, ac.String("parser", ""), err)
			}
			ac.Output("content", content)
			return nil
		},
	}
}

// RoadieReplace is roadiehq:utils:fs:replace.
func RoadieReplace() scaffold.Action {
	return &action{
		id:          "roadiehq:utils:fs:replace",
		description: "Replaces content of a file with given values.",
		input: object(map[string]any{"files": map[string]any{"type": "array", "items": object(map[string]any{
			"file":            str("The source location of the file to be used to run replace against (supports wildcards)"),
			"find":            str("A string to be replaced"),
			"matchRegex":      boolean("Use regex to match the find string"),
			"replaceWith":     str("Text to be used to replace the found lines with"),
			"includeDotFiles": boolean("A configuration option to include dotfiles when globbing files. Defaults to false"),
		})}}, "files"),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			list, _ := ac.Input["files"].([]any)
			for i, item := range list {
				m, _ := expr.AsMap(item)
				file, _ := m["file"].(string)
				find, _ := m["find"].(string)
				repl, _ := m["replaceWith"].(string)
				if file == "" {
					return fmt.Errorf("input.files[%d].file: path to file needs to be defined", i)
				}
				if find == "" || repl == "" {
					return fmt.Errorf("input.files[%d]: each file must have a find and replaceWith property", i)
				}
				regex, _ := m["matchRegex"].(bool)
				dot, _ := m["includeDotFiles"].(bool)
				if err := replaceIn(ac, file, find, repl, regex, dot); err != nil {
					return fmt.Errorf("input.files[%d]: %w", i, err)
				}
			}
			return nil
		},
	}
}

func replaceIn(ac *scaffold.ActionContext, pattern, find, repl string, regex, dot bool) error {
	glob, err := skeleton.Rel(pattern)
	if err != nil {
		return fmt.Errorf("file: %w", err)
	}
	match, err := roadieGlob(glob, dot)
	if err != nil {
		return fmt.Errorf("file: %w", err)
	}
	var re *regexp.Regexp
	if regex {
		if re, err = regexp.Compile(find); err != nil {
			return fmt.Errorf("find: %w", err)
		}
	}
	var files []string
	err = ac.Workspace.Walk(".", func(rel string, d fs.DirEntry) error {
		if d.Type().IsRegular() && match(rel) {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, rel := range files {
		raw, err := readWorkspaceFile(ac, rel)
		if err != nil {
			return err
		}
		var out string
		if re != nil {
			out = re.ReplaceAllString(string(raw), jsReplacement(repl))
		} else {
			out = strings.ReplaceAll(string(raw), find, repl)
		}
		if err := ac.Workspace.WriteFile(rel, []byte(out), false); err != nil {
			return err
		}
		ac.Logf("Replaced in %s", rel)
	}
	return nil
}

// jsReplacement turns a JavaScript replacement ($1, $&, $$) into Go's (${1}, ${0}, $$).
func jsReplacement(s string) string {
	return regexp.MustCompile(`\$(\d+|&)`).ReplaceAllStringFunc(s, func(m string) string {
		if m == "$&" {
			return "${0}"
		}
		return "${" + m[1:] + "}"
	})
}

// roadieGlob compiles a fast-glob pattern (*, **, ?, {a,b}) into a matcher of workspace paths. Without dot,
// a path with a dot file or directory on the way matches only where the pattern names it with a dot.
func roadieGlob(glob string, dot bool) (func(string) bool, error) {
	var b strings.Builder
	b.WriteString("^")
	segs := strings.Split(glob, "/")
	for i, seg := range segs {
		last := i == len(segs)-1
		if seg == "**" {
			if last {
				b.WriteString(".*")
			} else {
				b.WriteString("(?:[^/]*/)*")
			}
			continue
		}
		for j := 0; j < len(seg); j++ {
			switch c := seg[j]; c {
			case '*':
				b.WriteString("[^/]*")
			case '?':
				b.WriteString("[^/]")
			case '{':
				b.WriteString("(?:")
			case '}':
				b.WriteString(")")
			case ',':
				b.WriteString("|")
			default:
				b.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		if !last {
			b.WriteString("/")
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("glob %q: %w", glob, err)
	}
	explicit := map[int]bool{}
	for i, seg := range segs {
		explicit[i] = strings.HasPrefix(seg, ".")
	}
	return func(p string) bool {
		if !re.MatchString(p) {
			return false
		}
		if dot {
			return true
		}
		for i, seg := range strings.Split(p, "/") {
			if strings.HasPrefix(seg, ".") && !explicit[i] {
				return false
			}
		}
		return true
	}, nil
}

func mergeInput(extra map[string]any) map[string]any {
	props := map[string]any{
		"path":        str("Path to existing file to append."),
		"content":     anyOf("This will be merged into to the file. Can be either an object or a string.", "string", "object"),
		"mergeArrays": boolean("When true, arrays will be concatenated. When false or undefined, arrays will be replaced entirely."),
	}
	for k, v := range extra {
		props[k] = v
	}
	return object(props, "path", "content")
}

// mergeContent is the content input: an object, or a string parsed with parse.
func mergeContent(ac *scaffold.ActionContext, parse func([]byte) (any, error)) (any, error) {
	if s, ok := ac.Input["content"].(string); ok {
		v, err := parse([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("input.content: %w", err)
		}
		return v, nil
	}
	return ac.Input["content"], nil
}

// RoadieMerge is roadiehq:utils:merge.
func RoadieMerge() scaffold.Action {
	return &action{
		id:          "roadiehq:utils:merge",
		description: "Merges data into an existing structured file (.json, .yaml or .yml).",
		input: mergeInput(map[string]any{
			"preserveYamlComments": boolean("Will preserve standalone and inline comments in YAML files"),
			"useDocumentIncludingField": object(map[string]any{
				"key":   str("The key of the field to use to find the document to merge into."),
				"value": str("The value of the field to use to find the document to merge into."),
			}, "key", "value"),
			"options": yamlOptions(),
		}),
		output: pathOutput("Path to the file that was written"),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			rel, err := relInput(ac, "path")
			if err != nil {
				return err
			}
			if _, err := ac.Workspace.Lstat(rel); err != nil {
				return fmt.Errorf("input.path: the file %s does not exist", rel)
			}
			raw, err := readWorkspaceFile(ac, rel)
			if err != nil {
				return fmt.Errorf("input.path: %w", err)
			}
			mergeArrays := ac.Bool("mergeArrays", false)
			var out string
			switch path.Ext(rel) {
			case ".json":
				out, err = mergeJSONText(ac, raw, mergeArrays, "  ")
			case ".yaml", ".yml":
				out, err = mergeYAMLText(ac, raw, mergeArrays)
			default:
				ac.Logf("%s is neither JSON nor YAML (.json, .yaml, .yml): nothing merged", rel)
				return nil
			}
			if err != nil {
				return fmt.Errorf("merging into %s: %w", rel, err)
			}
			ac.Logf("Merged into %s", rel)
			return writeOutput(ac, rel, []byte(out), expr.HasSecret(ac.SecretInput("content")))
		},
	}
}

func mergeJSONText(ac *scaffold.ActionContext, raw []byte, mergeArrays bool, indent any) (string, error) {
	existing, err := parseYAMLOne(raw) // JSON is YAML; the original reads the file with YAML.parse
	if err != nil {
		return "", err
	}
	content, err := mergeContent(ac, expr.DecodeJSON)
	if err != nil {
		return "", err
	}
	return jsonStringify(mergeValues(existing, content, mergeArrays), nil, indent)
}

func mergeYAMLText(ac *scaffold.ActionContext, raw []byte, mergeArrays bool) (string, error) {
	docs, err := parseYAMLDocs(raw)
	if err != nil {
		return "", err
	}
	if len(docs) == 0 {
		return "", fmt.Errorf("no documents found in the input content; please provide a valid YAML file")
	}
	content, err := mergeContent(ac, parseYAMLOne)
	if err != nil {
		return "", err
	}
	var key, value string
	if len(docs) > 1 {
		sel, ok := expr.AsMap(ac.Input["useDocumentIncludingField"])
		if !ok {
			return "", fmt.Errorf("multiple documents found in the input content; give input.useDocumentIncludingField (key and value) to find the document to merge into")
		}
		key, _ = sel["key"].(string)
		value, _ = sel["value"].(string)
	}
	parts := make([]string, len(docs))
	for i, doc := range docs {
		if len(docs) == 1 || fieldIs(doc, key, value) {
			doc = mergeValues(doc, content, mergeArrays)
		}
		if parts[i], err = yamlStringify(doc, ac.Input["options"]); err != nil {
			return "", err
		}
	}
	return strings.Join(parts, "---\n"), nil
}

// fieldIs tells whether doc's field at the dotted key is value (numbers compared as text).
func fieldIs(doc any, key, value string) bool {
	cur := doc
	for _, k := range strings.Split(key, ".") {
		m, ok := expr.AsMap(ordered(cur))
		if !ok {
			return false
		}
		if cur, ok = m[k]; !ok {
			return false
		}
	}
	switch v := cur.(type) {
	case string:
		return v == value
	case float64, int:
		return jsNumber(toFloat(v)) == value
	}
	return false
}

func toFloat(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case int:
		return float64(n)
	}
	return 0
}

// RoadieJSONMerge is roadiehq:utils:json:merge.
func RoadieJSONMerge() scaffold.Action {
	return &action{
		id:          "roadiehq:utils:json:merge",
		description: "Merge new data into an existing JSON file (created when missing).",
		input: mergeInput(map[string]any{
			"matchFileIndent": boolean("Make the output file indentation match that of the specified input file."),
		}),
		output: pathOutput("Path to the file that was written"),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			rel, err := relInput(ac, "path")
			if err != nil {
				return err
			}
			raw := []byte("{}")
			if _, err := ac.Workspace.Lstat(rel); err == nil {
				if raw, err = readWorkspaceFile(ac, rel); err != nil {
					return fmt.Errorf("input.path: %w", err)
				}
			} else {
				ac.Logf("The file %s does not exist, creating it.", rel)
			}
			indent := 2
			if ac.Bool("matchFileIndent", false) {
				if n := detectIndent(raw); n > 0 {
					indent = n
				}
			}
			out, err := mergeJSONText(ac, raw, ac.Bool("mergeArrays", false), indent)
			if err != nil {
				return fmt.Errorf("merging into %s: %w", rel, err)
			}
			return writeOutput(ac, rel, []byte(out), expr.HasSecret(ac.SecretInput("content")))
		},
	}
}

// detectIndent finds the most common indentation step of a text's lines (as detect-indent does for spaces).
func detectIndent(raw []byte) int {
	counts := map[int]int{}
	prev := 0
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		n := len(line) - len(strings.TrimLeft(line, " "))
		if d := n - prev; d > 0 {
			counts[d]++
		}
		prev = n
	}
	best, bestN := 0, 0
	for d, c := range counts {
		if c > bestN || c == bestN && d < best {
			best, bestN = d, c
		}
	}
	return best
}

// RoadieSerializeJSON is roadiehq:utils:serialize:json.
func RoadieSerializeJSON() scaffold.Action {
	return &action{
		id:          "roadiehq:utils:serialize:json",
		description: "Allows performing serialization on an object.",
		input: object(map[string]any{
			"data":     map[string]any{"type": "object", "title": "Input data to perform serialization on."},
			"replacer": strs("Replacer array"),
			"space":    str("Space character"),
		}, "data"),
		output: object(map[string]any{"serialized": str("Output result from serialization")}),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			s, err := jsonStringify(ac.Input["data"], ac.Strings("replacer"), ac.Input["space"])
			if err != nil {
				return fmt.Errorf("input.data: %w", err)
			}
			ac.Output("serialized", s)
			return nil
		},
	}
}

// RoadieSerializeYAML is roadiehq:utils:serialize:yaml.
func RoadieSerializeYAML() scaffold.Action {
	return &action{
		id:          "roadiehq:utils:serialize:yaml",
		description: "Allows performing serialization on an object.",
		input: object(map[string]any{
			"data":     map[string]any{"type": "object", "title": "Input data to perform serialization on."},
			"replacer": strs("Replacer array (accepted, unused: the original passes it nowhere)"),
			"options":  yamlOptions(),
		}, "data"),
		output: object(map[string]any{"serialized": str("Output result from serialization")}),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			s, err := yamlStringify(ac.Input["data"], ac.Input["options"])
			if err != nil {
				return fmt.Errorf("input.data: %w", err)
			}
			ac.Output("serialized", s)
			return nil
		},
	}
}

// RoadieZip is roadiehq:utils:zip. Symlinks are left out, never followed.
func RoadieZip() scaffold.Action {
	return &action{
		id:          "roadiehq:utils:zip",
		description: "Zips the content of the path.",
		input: object(map[string]any{
			"path":       str("Relative path you would like to zip"),
			"outputPath": str("The name of the result of the zip command"),
		}, "path", "outputPath"),
		output: object(map[string]any{"outputPath": str("The name of the result of the zip command")}),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			rel, err := skeleton.Rel(ac.String("path", ""))
			if err != nil {
				return fmt.Errorf("input.path: %w", err)
			}
			out, err := relInput(ac, "outputPath")
			if err != nil {
				return err
			}
			fi, err := ac.Workspace.Lstat(rel)
			if err != nil {
				return fmt.Errorf("input.path: file %s does not exist; can't zip it", ac.String("path", ""))
			}
			var files []skeleton.File
			switch {
			case fi.IsDir():
				if files, err = ac.Workspace.ReadTree(rel); err != nil {
					return err
				}
			case fi.Mode().IsRegular():
				raw, err := readWorkspaceFile(ac, rel)
				if err != nil {
					return fmt.Errorf("input.path: %w", err)
				}
				files = []skeleton.File{{Path: path.Base(rel), Content: raw, Executable: fi.Mode()&0o111 != 0}}
			default:
				return fmt.Errorf("input.path: %s is a symlink; goldenpath does not follow links", rel)
			}
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			for _, f := range files {
				if f.Symlink != "" || f.Path == out || (rel != "." && rel+"/"+f.Path == out) {
					continue
				}
				h := &zip.FileHeader{Name: f.Path, Method: zip.Deflate}
				h.SetMode(0o644)
				if f.Executable {
					h.SetMode(0o755)
				}
				w, err := zw.CreateHeader(h)
				if err != nil {
					return err
				}
				if _, err := w.Write(f.Content); err != nil {
					return err
				}
			}
			if err := zw.Close(); err != nil {
				return err
			}
			if err := ac.Workspace.WriteFile(out, buf.Bytes(), false); err != nil {
				return fmt.Errorf("input.outputPath: %w", err)
			}
			ac.Logf("Zipped %d files of %s into %s", len(files), displayPath(rel), out)
			ac.Output("outputPath", ac.String("outputPath", ""))
			return nil
		},
	}
}

// RoadieSleep is roadiehq:utils:sleep, capped at limit and ended by the task's cancellation.
func RoadieSleep(limit time.Duration) scaffold.Action {
	return &action{
		id:          "roadiehq:utils:sleep",
		description: fmt.Sprintf("Halts the scaffolding for the given amount of seconds (at most %s).", limit),
		input:       object(map[string]any{"amount": num("How much seconds should this step take.")}, "amount"),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			secs := toFloat(ac.Input["amount"])
			d := time.Duration(secs * float64(time.Second))
			if secs < 0 || d > limit {
				return fmt.Errorf("input.amount: sleep amount can not be greater than maxSleep. amount: %v, maxSleep: %v", secs, limit.Seconds())
			}
			if ac.DryRun {
				ac.Logf("Dry run: would wait %v seconds", secs)
				return nil
			}
			ac.Logf("Waiting %v seconds", secs)
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		},
	}
}
