package app

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/objectstore"
)

// S3AdminKeyEnv names a file holding an S3 access key pair with rights over every bucket (bucket creation
// included), for running S3 conformance suites against `goldenpath up`. The file holds one line,
// "ACCESS_KEY_ID:SECRET_ACCESS_KEY", and must be readable by its owner only.
//
// The key never comes from a user: only whoever starts goldenpath can name the file, goldenpath refuses it
// unless the S3 listener is on loopback, the key ID may not look like an issued key (GPAK...), and it is
// never stored in the vault or shown by the API. The secret is read from a file rather than the environment
// because goldenpath's environment reaches the processes it starts for builds.
const S3AdminKeyEnv = "GOLDENPATH_S3_ADMIN_KEY_FILE"

var s3AdminKeyID = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)

// s3AdminKey reads the admin key named by S3AdminKeyEnv, or returns nil when the variable is unset.
func s3AdminKey(getenv func(string) string, s3url string) (*objectstore.Credential, error) {
	path := getenv(S3AdminKeyEnv)
	if path == "" {
		return nil, nil
	}
	if !loopbackURL(s3url) {
		return nil, fmt.Errorf("%s: an S3 admin key is only for conformance runs on loopback, and the S3 listener %s is reachable beyond it", S3AdminKeyEnv, s3url)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", S3AdminKeyEnv, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: %s has mode %v: it must be readable by its owner only (chmod 600)", S3AdminKeyEnv, path, st.Mode().Perm())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", S3AdminKeyEnv, err)
	}
	id, secret, ok := strings.Cut(strings.TrimSpace(string(raw)), ":")
	switch {
	case !ok:
		return nil, fmt.Errorf("%s: %s must hold one line ACCESS_KEY_ID:SECRET_ACCESS_KEY", S3AdminKeyEnv, path)
	case !s3AdminKeyID.MatchString(id):
		return nil, fmt.Errorf("%s: %s: the access key ID must be 16 to 128 upper-case letters and digits", S3AdminKeyEnv, path)
	case strings.HasPrefix(id, "GPAK"):
		return nil, fmt.Errorf("%s: %s: the access key ID must not start with GPAK, the prefix of the keys S3Requests issue", S3AdminKeyEnv, path)
	case len(secret) < 32 || strings.ContainsAny(secret, " \t\r\n"):
		return nil, fmt.Errorf("%s: %s: the secret access key must be at least 32 characters without spaces", S3AdminKeyEnv, path)
	}
	return &objectstore.Credential{AccessKeyID: id, SecretAccessKey: secret, Buckets: []string{"*"}, Subject: "s3-admin (" + S3AdminKeyEnv + ")"}, nil
}
