package objectstore_test

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/goldenpathidp/goldenpath/internal/objectstore"
)

func TestReopenServesEverythingThatWasThere(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tags := map[string]string{"goldenpath.io/request-id": "s3.dev.orders"}
	e.createBucket("alpha", objectstore.BucketOptions{Versioning: true, QuotaBytes: 1 << 30, Tags: tags})
	e.createBucket("beta", objectstore.BucketOptions{})
	old := aws.ToString(e.put(e.admin(), "alpha", "doc", "old").VersionId)
	e.put(e.admin(), "alpha", "doc", "new")
	e.put(e.admin(), "alpha", "ünï/cødé key", "unicode")
	e.put(e.admin(), "beta", "x", "beta")
	upload, err := e.admin().CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("beta"), Key: aws.String("pending")})
	if err != nil {
		t.Fatal(err)
	}
	before, err := e.store.Buckets(ctx)
	if err != nil {
		t.Fatal(err)
	}

	e.close()
	e.open()

	after, err := e.store.Buckets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("buckets after reopen: got %d, want %d", len(after), len(before))
	}
	for i := range before {
		b, a := before[i], after[i]
		if a.Name != b.Name || a.Objects != b.Objects || a.SizeBytes != b.SizeBytes || !a.CreatedAt.Equal(b.CreatedAt) ||
			a.Options.Versioning != b.Options.Versioning || a.Options.QuotaBytes != b.Options.QuotaBytes || !maps.Equal(a.Options.Tags, b.Options.Tags) {
			t.Errorf("bucket %s after reopen: got %+v, want %+v", b.Name, a, b)
		}
	}
	checks := []struct{ bucket, key, version, want string }{
		{"alpha", "doc", "", "new"},
		{"alpha", "doc", old, "old"},
		{"alpha", "ünï/cødé key", "", "unicode"},
		{"beta", "x", "", "beta"},
	}
	for _, c := range checks {
		if got, err := getVersion(t, e.admin(), c.bucket, c.key, c.version); err != nil || got != c.want {
			t.Errorf("%s/%s@%s after reopen: got %q, %v; want %q", c.bucket, c.key, c.version, got, err, c.want)
		}
	}
	parts, err := e.admin().ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("beta")})
	if err != nil || len(parts.Uploads) != 1 || aws.ToString(parts.Uploads[0].UploadId) != aws.ToString(upload.UploadId) {
		t.Fatalf("pending multipart upload after reopen: got %+v, %v", parts, err)
	}
	e.put(e.admin(), "beta", "after-reopen", strings.Repeat("z", 10))
}
