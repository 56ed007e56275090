// Package secrets keeps secret values encrypted at rest: AES-256-GCM with a key held in a 0600 file in the
// data directory, each ciphertext bound to its name, stored through the store. Values are of type Value,
// which never prints itself, so a secret cannot reach a log by accident.
package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/store"
)

// Value is a secret's plaintext. It redacts itself in fmt and slog output.
type Value []byte

func (Value) String() string             { return "[redacted]" }
func (Value) GoString() string           { return "[redacted]" }
func (Value) LogValue() slog.Value       { return slog.StringValue("[redacted]") }
func (v Value) Reveal() string           { return string(v) }
func (Value) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("[redacted]")) }

// MaxValueBytes bounds one secret value.
const MaxValueBytes = 64 << 10

// Vault encrypts and decrypts secrets stored in the store.
type Vault struct {
	aead  cipher.AEAD
	store store.Store
}

// LoadKey reads the 32-byte key at path, creating it (mode 0600) if it does not exist. A key file readable by
// others is refused.
func LoadKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("creating secret key %s: %w", path, err)
		}
		if _, err := f.Write(key); err != nil {
			f.Close()
			return nil, fmt.Errorf("writing secret key %s: %w", path, err)
		}
		return key, f.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("reading secret key %s: %w", path, err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret key %s has mode %v: it must be readable by its owner only (chmod 600)", path, st.Mode().Perm())
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key %s holds %d bytes, want 32", path, len(key))
	}
	return key, nil
}

// New returns a Vault using key (32 bytes) over s.
func New(key []byte, s store.Store) (*Vault, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Vault{aead: aead, store: s}, nil
}

// Put stores value under name, encrypted.
func (v *Vault) Put(ctx context.Context, name string, value Value, actor string) error {
	if len(value) > MaxValueBytes {
		return fmt.Errorf("secret %s is %d bytes; the limit is %d", name, len(value), MaxValueBytes)
	}
	nonce := make([]byte, v.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	ct := v.aead.Seal(nonce, nonce, value, []byte(name))
	return v.store.PutSecret(ctx, store.Secret{Name: name, Ciphertext: ct, UpdatedAt: time.Now().UTC(), UpdatedBy: actor})
}

// Get decrypts the secret called name. A missing secret is store.ErrNotFound.
func (v *Vault) Get(ctx context.Context, name string) (Value, store.Secret, error) {
	sec, err := v.store.GetSecret(ctx, name)
	if err != nil {
		return nil, store.Secret{}, err
	}
	n := v.aead.NonceSize()
	if len(sec.Ciphertext) < n {
		return nil, sec, fmt.Errorf("secret %s is corrupt", name)
	}
	plain, err := v.aead.Open(nil, sec.Ciphertext[:n], sec.Ciphertext[n:], []byte(name))
	if err != nil {
		return nil, sec, fmt.Errorf("secret %s cannot be decrypted with this data directory's key", name)
	}
	return Value(plain), sec, nil
}

// Delete removes a secret; a missing one is not an error.
func (v *Vault) Delete(ctx context.Context, name string) error {
	return v.store.DeleteSecret(ctx, name)
}

// List returns the names of secrets starting with prefix.
func (v *Vault) List(ctx context.Context, prefix string) ([]string, error) {
	return v.store.ListSecrets(ctx, prefix)
}

// Generate returns a random secret of n letters and digits (about 5.95 bits each), drawn without
// modulo bias.
func Generate(n int) Value {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	const limit = 256 - 256%len(alphabet) // bytes at or above this would favour the first letters
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		_, _ = rand.Read(buf)
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return Value(out)
}
