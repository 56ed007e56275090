// Command goldenpath is the Golden Path Internal Developer Platform.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/goldenpathidp/goldenpath/internal/cli"
	"github.com/goldenpathidp/goldenpath/internal/sandbox"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/jsonata"
)

func main() {
	// Started as the launcher of a local app, this confines itself and becomes the app; never returns then.
	sandbox.Main()
	// Started as the JSONata evaluator of a scaffolder action, this evaluates one expression and exits.
	jsonata.Main()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}
