package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The S3 admin key of conformance runs is refused unless the S3 listener is on loopback and the key file is
// private and well formed.
func TestS3AdminKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secret := strings.Repeat("s", 40)
	good := write("good", "S3CONFORMANCE0001:"+secret+"\n", 0o600)
	env := func(path string) func(string) string {
		return func(k string) string {
			if k == S3AdminKeyEnv {
				return path
			}
			return ""
		}
	}
	if c, err := s3AdminKey(env(""), "http://127.0.0.1:7071"); c != nil || err != nil {
		t.Fatalf("unset: got %v, %v; want no key", c, err)
	}
	c, err := s3AdminKey(env(good), "http://127.0.0.1:7071")
	if err != nil || c.AccessKeyID != "S3CONFORMANCE0001" || c.SecretAccessKey != secret || len(c.Buckets) != 1 || c.Buckets[0] != "*" {
		t.Fatalf("good key on loopback: %+v, %v", c, err)
	}
	for _, tt := range []struct {
		name, path, url, want string
	}{
		{"beyond loopback", good, "http://0.0.0.0:7071", "only for conformance runs on loopback"},
		{"readable by others", write("open", "S3CONFORMANCE0001:"+secret, 0o644), "http://127.0.0.1:7071", "chmod 600"},
		{"no colon", write("nocolon", "S3CONFORMANCE0001", 0o600), "http://127.0.0.1:7071", "ACCESS_KEY_ID:SECRET_ACCESS_KEY"},
		{"an issued key's prefix", write("gpak", "GPAKCONFORMANCE01:"+secret, 0o600), "http://127.0.0.1:7071", "GPAK"},
		{"short secret", write("short", "S3CONFORMANCE0001:short", 0o600), "http://127.0.0.1:7071", "at least 32 characters"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := s3AdminKey(env(tt.path), tt.url)
			if c != nil || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, %v; want an error saying %q", c, err, tt.want)
			}
		})
	}
}
