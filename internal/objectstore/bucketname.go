package objectstore

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrInvalidBucketName is wrapped by every error ValidateBucketName returns.
var ErrInvalidBucketName = errors.New("invalid bucket name")

var (
	reservedBucketPrefixes = []string{"xn--", "sthree-", "amzn-s3-demo-"}
	reservedBucketSuffixes = []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"}
)

// ValidateBucketName checks name against S3's naming rules for general purpose buckets,
// so that a name accepted here is also valid on AWS. The error names the rule broken.
func ValidateBucketName(name string) error {
	if err := checkBucketName(name); err != nil {
		return fmt.Errorf("bucket name %q: %w: %s", name, ErrInvalidBucketName, err.Error())
	}
	return nil
}

func checkBucketName(name string) error {
	if len(name) < 3 || len(name) > 63 {
		return fmt.Errorf("must be between 3 and 63 characters long, got %d", len(name))
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return fmt.Errorf("must contain only lowercase letters, digits, dots and hyphens, found %q", c)
		}
	}
	if !isLowerAlnum(name[0]) || !isLowerAlnum(name[len(name)-1]) {
		return errors.New("must begin and end with a lowercase letter or digit")
	}
	if strings.Contains(name, "..") {
		return errors.New("must not contain two adjacent dots")
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return errors.New("must not be formatted as an IP address")
	}
	for _, p := range reservedBucketPrefixes {
		if strings.HasPrefix(name, p) {
			return fmt.Errorf("must not start with the reserved prefix %q", p)
		}
	}
	for _, s := range reservedBucketSuffixes {
		if strings.HasSuffix(name, s) {
			return fmt.Errorf("must not end with the reserved suffix %q", s)
		}
	}
	return nil
}

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
