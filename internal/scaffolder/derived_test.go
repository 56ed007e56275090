package scaffolder

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/secrets"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// memVault is a Vault in memory that enforces the real vault's bound on a value.
type memVault struct {
	mu sync.Mutex
	m  map[string]secrets.Value
}

func (v *memVault) Put(_ context.Context, name string, value secrets.Value, _ string) error {
	if len(value) > secrets.MaxValueBytes {
		return fmt.Errorf("secret %s is %d bytes", name, len(value))
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.m[name] = value
	return nil
}

func (v *memVault) Get(_ context.Context, name string) (secrets.Value, store.Secret, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	val, ok := v.m[name]
	if !ok {
		return nil, store.Secret{}, store.ErrNotFound
	}
	return val, store.Secret{}, nil
}

func (v *memVault) Delete(_ context.Context, name string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.m, name)
	return nil
}

// TestDerivedSecretsKept: what a task computed from its secrets survives to the next attempt, however large
// (within the bound) and whatever its characters, and is deleted with the task.
func TestDerivedSecretsKept(t *testing.T) {
	ctx := context.Background()
	vault := &memVault{m: map[string]secrets.Value{}}
	m := New(Options{Vault: vault})
	long := strings.Repeat("<é&>", 50_000) // 350 KB, six times longer in JSON where escaped
	red := scaffold.NewRedactor("short-secret", long)
	for i := 0; i < 100; i++ {
		red.Add(fmt.Sprintf("value-%d", i))
	}
	m.saveDerived(ctx, "t1", red)
	if len(vault.m) < 2 {
		t.Fatalf("kept in %d vault entries, want several", len(vault.m))
	}
	back := m.loadDerived(ctx, "t1")
	for _, s := range []string{"x short-secret y", "[" + long + "]", "value-42"} {
		if got := back.Redact(s); strings.Contains(got, "short-secret") || strings.Contains(got, "<é&>") || strings.Contains(got, "value-42") {
			t.Errorf("the next attempt does not hide %.40q: %.80q", s, got)
		}
	}
	if back.Changed() {
		t.Errorf("what was loaded counts as new")
	}
	m.dropDerived(ctx, "t1")
	if len(vault.m) != 0 {
		t.Errorf("%d entries left after the task ended", len(vault.m))
	}
}
