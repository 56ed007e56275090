package e2e

import (
	"os"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/sandbox"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/jsonata"
)

// TestMain makes this test binary the launcher of the apps goldenpath runs locally, as goldenpath's own
// program is in production (see package sandbox).
func TestMain(m *testing.M) {
	sandbox.Main()
	jsonata.Main() // the JSONata actions' evaluator is this program run again
	os.Exit(m.Run())
}
