// Package jsonata evaluates JSONata expressions for the roadiehq:utils:jsonata actions, in a child process.
//
// The JSONata library (github.com/blues/jsonata-go) bounds neither recursion, time nor memory: a template's
// ($f := function($x){ $f($x) }; $f(1)) would overflow the stack of whatever goroutine evaluates it, which
// Go cannot recover from, and [1..10000000].[1..10000000] would take the memory. So an expression is
// evaluated by goldenpath's own program run again (os.Executable) with a hidden first argument, with a
// small stack and data limit, no environment, and a deadline; what goes wrong there ends the child, never
// the server. Every program that evaluates JSONata must therefore call [Main] first thing in main (tests:
// in TestMain).
package jsonata

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	jsonatalib "github.com/blues/jsonata-go"
)

// childArg is the hidden first argument that makes the program evaluate one expression and exit.
const childArg = "__goldenpath-jsonata-eval__"

// Limits of one evaluation.
const (
	Timeout         = 10 * time.Second
	MaxExpression   = 64 << 10 // bytes of expression text
	MaxResultBytes  = 16 << 20 // bytes of JSON the child may answer
	childStackBytes = 64 << 20
	childDataBytes  = 1 << 30 // the child's heap (RLIMIT_DATA where the system has it)
)

var hooked atomic.Bool

// timeout is Timeout (tests shorten it).
var timeout = Timeout

// Main must be called first thing in main: started as the evaluator, the program evaluates the expression
// on its standard input, writes the answer and exits; otherwise Main returns at once.
func Main() {
	hooked.Store(true)
	if len(os.Args) < 2 || os.Args[1] != childArg {
		return
	}
	os.Exit(child(os.Stdin, os.Stdout))
}

type request struct {
	Expression string `json:"expression"`
	Data       any    `json:"data"`
}

type answer struct {
	Result  any    `json:"result,omitempty"`
	Defined bool   `json:"defined"`
	Error   string `json:"error,omitempty"`
}

func child(in io.Reader, out io.Writer) int {
	debug.SetMaxStack(childStackBytes)
	debug.SetMemoryLimit(childDataBytes / 2)
	limitData(childDataBytes)
	var req request
	dec := json.NewDecoder(in)
	if err := dec.Decode(&req); err != nil {
		return reply(out, answer{Error: "reading the expression: " + err.Error()})
	}
	e, err := jsonatalib.Compile(req.Expression)
	if err != nil {
		return reply(out, answer{Error: err.Error()})
	}
	res, err := e.Eval(req.Data)
	if errors.Is(err, jsonatalib.ErrUndefined) {
		return reply(out, answer{})
	}
	if err != nil {
		return reply(out, answer{Error: err.Error()})
	}
	return reply(out, answer{Result: res, Defined: true})
}

func reply(out io.Writer, a answer) int {
	if err := json.NewEncoder(out).Encode(a); err != nil {
		fmt.Fprintf(out, `{"error":%q}`+"\n", "writing the result: "+err.Error())
	}
	return 0
}

// ErrUnavailable means the program cannot start the evaluator: it does not call Main.
var ErrUnavailable = errors.New("JSONata is unavailable: this program does not call jsonata.Main when it starts")

// Eval evaluates expression against data (a JSON value) and returns the result as a JSON value: objects as
// map[string]any, numbers as float64. defined is false when the expression yields nothing (JSONata's
// undefined). Errors are the expression's, or name the limit it ran into.
func Eval(ctx context.Context, expression string, data any) (result any, defined bool, err error) {
	if !hooked.Load() {
		return nil, false, ErrUnavailable
	}
	if len(expression) > MaxExpression {
		return nil, false, fmt.Errorf("the expression is %d bytes, more than the limit of %d", len(expression), MaxExpression)
	}
	in, err := json.Marshal(request{Expression: expression, Data: data})
	if err != nil {
		return nil, false, fmt.Errorf("the data cannot be given to JSONata: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, false, fmt.Errorf("starting the JSONata evaluator: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, childArg)
	cmd.Env = []string{"GOMAXPROCS=1", "GOTRACEBACK=none"} // nothing of goldenpath's environment
	cmd.Stdin = bytes.NewReader(in)
	stdout, stderr := &capped{max: MaxResultBytes}, &capped{max: 4 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = time.Second
	runErr := cmd.Run()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, false, fmt.Errorf("the expression ran longer than %s", timeout)
	case ctx.Err() != nil:
		return nil, false, fmt.Errorf("the expression did not finish: %w", ctx.Err())
	case stdout.over:
		return nil, false, fmt.Errorf("the result is larger than %d bytes", MaxResultBytes)
	}
	var a answer
	if err := json.Unmarshal(stdout.Bytes(), &a); err != nil {
		return nil, false, crashed(runErr, stderr.String())
	}
	if a.Error != "" {
		return nil, false, errors.New(a.Error)
	}
	return a.Result, a.Defined, nil
}

// crashed explains why the evaluator ended without an answer.
func crashed(runErr error, stderr string) error {
	switch {
	case strings.Contains(stderr, "stack exceeds"), strings.Contains(stderr, "stack overflow"):
		return errors.New("the expression recursed too deeply (is a function calling itself without end?)")
	case strings.Contains(stderr, "out of memory"), strings.Contains(stderr, "cannot allocate memory"):
		return fmt.Errorf("the expression needed more than %d MiB of memory", childDataBytes>>20)
	}
	return fmt.Errorf("the JSONata evaluator failed: %v", runErr)
}

// capped is a buffer that keeps at most max bytes and remembers whether more came.
type capped struct {
	bytes.Buffer
	max  int
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); len(p) > room {
		c.over = true
		if room > 0 {
			c.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return c.Buffer.Write(p)
}
