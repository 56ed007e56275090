package scaffold

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
)

// Redactor holds what a run must hide: its secrets, and every value computed from them (the expression
// engine says which values those are; actions add what they derive, such as rendered files). Everything
// a run logs, outputs or stores goes through it.
type Redactor struct {
	mu     sync.Mutex
	values map[string]struct{}
	repl   *strings.Replacer // nil when values changed since it was built
	added  int               // values added since Drain
}

// NewRedactor returns a Redactor hiding values.
func NewRedactor(values ...string) *Redactor {
	r := &Redactor{values: map[string]struct{}{}}
	r.Add(values...)
	return r
}

// Add adds values to hide (blank ones say nothing and are ignored).
func (r *Redactor) Add(values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range values {
		if strings.TrimSpace(v) == "" {
			continue
		}
		if _, ok := r.values[v]; !ok {
			r.values[v] = struct{}{}
			r.repl = nil
			r.added++
		}
	}
}

// Values lists what the Redactor hides (to keep it, encrypted, with a task that may resume).
func (r *Redactor) Values() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.values))
	for v := range r.values {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// Changed reports whether values were added since the last call.
func (r *Redactor) Changed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.added
	r.added = 0
	return n > 0
}

func (r *Redactor) replacer() *strings.Replacer {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.repl == nil {
		list := make([]string, 0, len(r.values))
		for v := range r.values {
			list = append(list, v)
		}
		// Longest first: strings.NewReplacer tries its old strings in argument order, so a secret
		// containing another is hidden whole.
		sort.Slice(list, func(i, j int) bool {
			return len(list[i]) > len(list[j]) || len(list[i]) == len(list[j]) && list[i] < list[j]
		})
		pairs := make([]string, 0, 2*len(list))
		for _, v := range list {
			pairs = append(pairs, v, "***")
		}
		r.repl = strings.NewReplacer(pairs...)
	}
	return r.repl
}

// Redact replaces every occurrence of a hidden value in s with "***".
func (r *Redactor) Redact(s string) string { return r.replacer().Replace(s) }

// RedactValue returns v (a JSON-like value) fit to show or store: every expr.Secret concealed and every
// hidden value in its strings replaced with "***".
func (r *Redactor) RedactValue(v any) any {
	return r.walk(plainJSON(expr.Conceal(v)), func(s string) any { return r.Redact(s) }, 0)
}

// plainJSON turns any value into maps, slices, strings, numbers and bools (what it marshals to), with
// expr.Secrets as "***".
func plainJSON(v any) any {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("(a value that is not JSON: %v)", err)
	}
	out, _ := expr.DecodeJSON(raw) // objects keep their order
	if _, isMap := v.(map[string]any); isMap {
		if m, ok := expr.AsMap(out); ok {
			return m // a map stays a map (its own keys have no order to keep)
		}
	}
	return out
}

// taint returns v with each string that holds a hidden value marked as an expr.Secret, so that values
// computed from an action's output are secret when the output carried one. (Actions are Go code the
// engine cannot see into; what comes out of them is checked by what it holds.)
func (r *Redactor) taint(v any) any {
	return r.walk(plainJSON(v), func(s string) any {
		if red := r.Redact(s); red != s {
			return expr.NewSecret(s)
		}
		return s
	}, 0)
}

func (r *Redactor) walk(v any, fn func(string) any, depth int) any {
	if depth > 100 {
		return nil
	}
	switch x := v.(type) {
	case string:
		return fn(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = r.walk(e, fn, depth+1)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = r.walk(e, fn, depth+1)
		}
		return out
	case *expr.Map:
		out := expr.NewMap()
		for _, k := range x.Keys() {
			e, _ := x.Get(k)
			out.Set(k, r.walk(e, fn, depth+1))
		}
		return out
	}
	return v
}

// Limits on what one run (a task, across its attempts, or a dry run) may log and produce.
const (
	// MaxLogBytes bounds a run's log; past it, the log says it was truncated and records nothing more.
	MaxLogBytes = 10 << 20
	// MaxMessageBytes bounds one log message (a file listed with debug:log, say); longer ones are cut.
	MaxMessageBytes = 256 << 10
	// MaxStepOutputBytes bounds the outputs of all of a run's steps together.
	MaxStepOutputBytes = 4 << 20
	// MaxOutputBytes bounds a template's rendered output.
	MaxOutputBytes = 1 << 20
)

// Clip cuts s to at most n bytes (on a character boundary), saying so.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (cut: %d bytes in all)", len(s))
}

// logCap redacts a run's log messages and stops recording them past a limit, saying so in the log.
type logCap struct {
	inner     Events
	red       *Redactor
	limit     int64
	mu        sync.Mutex
	used      int64
	truncated bool
}

func (c *logCap) Log(ctx context.Context, stepID, message string) {
	message = Clip(c.red.Redact(message), MaxMessageBytes) // redacted before it is cut: no half secret remains
	c.mu.Lock()
	if c.truncated {
		c.mu.Unlock()
		return
	}
	if c.used+int64(len(message)) > c.limit {
		c.truncated = true
		c.mu.Unlock()
		c.inner.Log(ctx, stepID, fmt.Sprintf("log truncated at %s: the run logged more; further messages are not recorded", size(c.limit)))
		return
	}
	c.used += int64(len(message))
	c.mu.Unlock()
	c.inner.Log(ctx, stepID, message)
}

// StepStatus records a step's status; statuses count towards the limit but are still recorded past it,
// up to statusSlack more (a template with thousands of steps must not grow the log without bound either).
func (c *logCap) StepStatus(ctx context.Context, stepID, status string) {
	n := int64(len(stepID) + len(status) + 64)
	c.mu.Lock()
	c.used += n
	over := c.used > c.limit+statusSlack
	c.mu.Unlock()
	if !over {
		c.inner.StepStatus(ctx, stepID, status)
	}
}

// statusSlack is how far past the log limit step statuses are still recorded.
const statusSlack = 1 << 20

// size formats a byte count the way the limits are written.
func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
