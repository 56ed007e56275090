package actions

import (
	"os"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/scaffold/jsonata"
)

// TestMain lets the test binary serve as the JSONata evaluator the jsonata actions start.
func TestMain(m *testing.M) {
	jsonata.Main()
	os.Exit(m.Run())
}
