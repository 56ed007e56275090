package objectstore

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
)

// adminBucket in Credential.Buckets grants every bucket and bucket creation.
const adminBucket = "*"

// Credential is an access key pair and what it may touch.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
	Buckets         []string // buckets this key may use; "*" = all buckets and bucket creation (admin)
	Subject         string   // who it belongs to (for logs/audit), e.g. "alice"
}

// LogValue keeps the secret out of logs even when a whole Credential is logged.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_key_id", c.AccessKeyID),
		slog.String("subject", c.Subject),
		slog.Any("buckets", c.Buckets),
	)
}

// String keeps the secret out of fmt output (%v, %+v, %s).
func (c Credential) String() string {
	return fmt.Sprintf("Credential{AccessKeyID:%s Subject:%s Buckets:%v SecretAccessKey:REDACTED}",
		c.AccessKeyID, c.Subject, c.Buckets)
}

// GoString keeps the secret out of %#v.
func (c Credential) GoString() string { return c.String() }

func (c Credential) isAdmin() bool { return slices.Contains(c.Buckets, adminBucket) }

func (c Credential) mayUse(bucket string) bool {
	return c.isAdmin() || slices.Contains(c.Buckets, bucket)
}

// Credentials looks up keys. goldenpath implements it over its encrypted secret store;
// StaticCredentials serves tests and simple setups.
type Credentials interface {
	LookupKey(ctx context.Context, accessKeyID string) (Credential, bool, error)
}

// StaticCredentials is an in-memory, concurrency-safe Credentials.
type StaticCredentials struct {
	mu   sync.RWMutex
	keys map[string]Credential
}

var _ Credentials = (*StaticCredentials)(nil)

// NewStaticCredentials returns a StaticCredentials holding creds.
func NewStaticCredentials(creds ...Credential) *StaticCredentials {
	s := &StaticCredentials{keys: make(map[string]Credential, len(creds))}
	for _, c := range creds {
		s.Add(c)
	}
	return s
}

// Add stores c, replacing any credential with the same access key id.
func (s *StaticCredentials) Add(c Credential) {
	c.Buckets = slices.Clone(c.Buckets) // the caller may reuse its slice
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[c.AccessKeyID] = c
}

// Remove forgets accessKeyID; requests signed with it then fail with InvalidAccessKeyId.
func (s *StaticCredentials) Remove(accessKeyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, accessKeyID)
}

// LookupKey implements Credentials.
func (s *StaticCredentials) LookupKey(_ context.Context, accessKeyID string) (Credential, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.keys[accessKeyID]
	if ok {
		c.Buckets = slices.Clone(c.Buckets)
	}
	return c, ok, nil
}
