package secrets

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/store/sqlite"
)

func TestVault(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key, err := LoadKey(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "secret.key")); fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode = %v, want 0600", fi.Mode().Perm())
	}
	v, _ := New(key, st)
	if err := v.Put(ctx, "request/secret.dev.stripe/value", Value("sk_live_123"), "alice"); err != nil {
		t.Fatal(err)
	}
	got, _, err := v.Get(ctx, "request/secret.dev.stripe/value")
	if err != nil || got.Reveal() != "sk_live_123" {
		t.Fatalf("Get = %q, %v", got.Reveal(), err)
	}
	// At rest the value is not in the clear.
	sec, _ := st.GetSecret(ctx, "request/secret.dev.stripe/value")
	if bytes.Contains(sec.Ciphertext, []byte("sk_live_123")) {
		t.Error("plaintext found in the stored ciphertext")
	}
	// A ciphertext moved to another name does not decrypt.
	sec.Name = "request/other/value"
	_ = st.PutSecret(ctx, sec)
	if _, _, err := v.Get(ctx, "request/other/value"); err == nil {
		t.Error("ciphertext copied to another name decrypted")
	}
	// Another key cannot read it.
	other, _ := New(bytes.Repeat([]byte{7}, 32), st)
	if _, _, err := other.Get(ctx, "request/secret.dev.stripe/value"); err == nil {
		t.Error("decrypted with the wrong key")
	}
}

func TestValueNeverPrints(t *testing.T) {
	v := Value("hunter2")
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "v", v)
	for _, s := range []string{fmt.Sprint(v), fmt.Sprintf("%v %s %q %#v", v, v, v, v), logs.String()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("secret leaked: %s", s)
		}
	}
}

func TestLoadKeyRefusesOpenPermissions(t *testing.T) {
	p := filepath.Join(t.TempDir(), "k")
	_ = os.WriteFile(p, bytes.Repeat([]byte{1}, 32), 0o644)
	if _, err := LoadKey(p); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("got %v, want a permissions error", err)
	}
}

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		v := Generate(32).Reveal()
		if len(v) != 32 || strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			t.Fatalf("Generate(32) = %q", v)
		}
		if seen[v] {
			t.Fatal("Generate repeated itself")
		}
		seen[v] = true
	}
}
