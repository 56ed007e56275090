package objectstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/goldenpathidp/goldenpath/internal/objectstore"
)

func TestValidateBucketName(t *testing.T) {
	tests := []struct {
		name     string
		wantRule string // "" = valid
	}{
		{"orders-dev", ""},
		{"s3.dev.orders", ""},
		{"abc", ""},
		{strings.Repeat("a", 63), ""},
		{"ab", "between 3 and 63"},
		{strings.Repeat("a", 64), "between 3 and 63"},
		{"Orders", "lowercase letters, digits, dots and hyphens"},
		{"orders_dev", "lowercase letters, digits, dots and hyphens"},
		{"-orders", "begin and end with a lowercase letter or digit"},
		{"orders.", "begin and end with a lowercase letter or digit"},
		{"a..b", "two adjacent dots"},
		{"192.168.5.4", "IP address"},
		{"xn--orders", `reserved prefix "xn--"`},
		{"sthree-data", `reserved prefix "sthree-"`},
		{"data-s3alias", `reserved suffix "-s3alias"`},
		{"data--ol-s3", `reserved suffix "--ol-s3"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := objectstore.ValidateBucketName(tt.name)
			if tt.wantRule == "" {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			if err == nil || !errors.Is(err, objectstore.ErrInvalidBucketName) || !strings.Contains(err.Error(), tt.wantRule) {
				t.Fatalf("got %v, want an ErrInvalidBucketName naming %q", err, tt.wantRule)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.name)) {
				t.Fatalf("error %q does not name the bucket", err)
			}
		})
	}
}

func TestCreateBucketThroughS3API(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.admin().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
	wantCode(t, err, "InvalidBucketName", http.StatusBadRequest)
	if _, err := e.admin().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("made-by-admin")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	// us-east-1 answers 200 to re-creating your own bucket.
	if _, err := e.admin().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("made-by-admin")}); err != nil {
		t.Fatalf("CreateBucket again: %v", err)
	}
	loc, err := e.admin().GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("made-by-admin")})
	if err != nil || loc.LocationConstraint != "" {
		t.Fatalf("GetBucketLocation: got %q, %v; want empty (us-east-1)", loc.LocationConstraint, err)
	}
	e.put(e.admin(), "made-by-admin", "x", "x")
	_, err = e.admin().DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("made-by-admin")})
	wantCode(t, err, "BucketNotEmpty", http.StatusConflict)
	if _, err := e.admin().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("made-by-admin"), Key: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin().DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("made-by-admin")}); err != nil {
		t.Fatalf("DeleteBucket: %v", err)
	}
	_, err = e.admin().DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("made-by-admin")})
	wantCode(t, err, "NoSuchBucket", http.StatusNotFound)
}

func TestRegionOtherThanUSEast1(t *testing.T) {
	e := newEnv(t, withRegion("eu-central-1"))
	ctx := context.Background()
	c := e.client(adminKey, adminSecret, func(o *s3.Options) { o.Region = "eu-central-1" })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("regional")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("regional")})
	wantCode(t, err, "BucketAlreadyOwnedByYou", http.StatusConflict)
	loc, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("regional")})
	if err != nil || string(loc.LocationConstraint) != "eu-central-1" {
		t.Fatalf("GetBucketLocation: got %q, %v; want eu-central-1", loc.LocationConstraint, err)
	}
	_, err = e.admin().ListBuckets(ctx, &s3.ListBucketsInput{}) // signed for us-east-1
	wantCode(t, err, "AuthorizationHeaderMalformed", http.StatusBadRequest)
}

func TestStoreBucketAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tags := map[string]string{"goldenpath.io/request-id": "s3.dev.orders"}

	created, err := e.store.CreateBucket(ctx, "orders-dev", objectstore.BucketOptions{Tags: tags})
	if err != nil || !created {
		t.Fatalf("first CreateBucket: got created=%v, %v; want true", created, err)
	}
	created, err = e.store.CreateBucket(ctx, "orders-dev", objectstore.BucketOptions{Versioning: true, QuotaBytes: 4096, Tags: tags})
	if err != nil || created {
		t.Fatalf("second CreateBucket: got created=%v, %v; want false", created, err)
	}
	info, ok, err := e.store.Bucket(ctx, "orders-dev")
	if err != nil || !ok {
		t.Fatalf("Bucket: got ok=%v, %v", ok, err)
	}
	if !info.Options.Versioning || info.Options.QuotaBytes != 4096 || info.Options.Tags["goldenpath.io/request-id"] != "s3.dev.orders" {
		t.Fatalf("options after update: got %+v, want versioning, quota 4096 and the request-id tag", info.Options)
	}
	if _, ok, err := e.store.Bucket(ctx, "missing"); err != nil || ok {
		t.Fatalf("Bucket(missing): got ok=%v, %v; want false, nil", ok, err)
	}

	_, err = e.store.CreateBucket(ctx, "Not_Valid", objectstore.BucketOptions{})
	if !errors.Is(err, objectstore.ErrInvalidBucketName) {
		t.Fatalf("CreateBucket(Not_Valid): got %v, want ErrInvalidBucketName", err)
	}
	_, err = e.store.CreateBucket(ctx, "negative-quota", objectstore.BucketOptions{QuotaBytes: -1})
	if err == nil || !strings.Contains(err.Error(), "QuotaBytes") {
		t.Fatalf("CreateBucket with QuotaBytes -1: got %v, want an error naming QuotaBytes", err)
	}

	e.put(e.admin(), "orders-dev", "a", "1")
	e.put(e.admin(), "orders-dev", "a", "22")
	if err := e.store.DeleteBucket(ctx, "orders-dev", false); !errors.Is(err, objectstore.ErrBucketNotEmpty) {
		t.Fatalf("DeleteBucket non-empty: got %v, want ErrBucketNotEmpty", err)
	}
	if err := e.store.DeleteBucket(ctx, "orders-dev", true); err != nil {
		t.Fatalf("DeleteBucket force: %v", err)
	}
	if err := e.store.DeleteBucket(ctx, "orders-dev", true); err != nil {
		t.Fatalf("DeleteBucket of a deleted bucket: %v, want nil (idempotent)", err)
	}
	buckets, err := e.store.Buckets(ctx)
	if err != nil || len(buckets) != 0 {
		t.Fatalf("Buckets after delete: got %v, %v; want none", buckets, err)
	}
	if n := countFiles(t, e.dir+"/blobs"); n != 0 {
		t.Fatalf("blob files after forced delete: got %d, want 0", n)
	}
}

func TestQuota(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createBucket("alpha", objectstore.BucketOptions{QuotaBytes: 1000})
	c := e.client(aliceKey, aliceSecret)
	body := func(n int) string { return strings.Repeat("q", n) }
	put := func(key string, n int) error {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("alpha"), Key: aws.String(key), Body: strings.NewReader(body(n))})
		return err
	}
	if err := put("first", 600); err != nil {
		t.Fatalf("600 of 1000 bytes: %v", err)
	}
	err := put("second", 600)
	wantCode(t, err, "QuotaExceeded", http.StatusForbidden)
	if !strings.Contains(err.Error(), "quota of 1000 bytes") {
		t.Errorf("message %q does not state the quota", err)
	}
	if err := put("first", 900); err != nil {
		t.Fatalf("overwriting 600 with 900 bytes fits (the old bytes are freed): %v", err)
	}
	if err := put("small", 100); err != nil {
		t.Fatalf("900+100 fits exactly: %v", err)
	}
	// A multipart upload is checked when it completes.
	big := randomBytes(t, 6*mib)
	e.createBucket("beta", objectstore.BucketOptions{QuotaBytes: 5 * mib})
	_, err = transfermanager.New(e.admin()).UploadObject(ctx, &transfermanager.UploadObjectInput{Bucket: aws.String("beta"),
		Key: aws.String("big"), Body: bytes.NewReader(big)})
	wantCode(t, err, "QuotaExceeded", http.StatusForbidden)
	info, _, err := e.store.Bucket(ctx, "beta")
	if err != nil || info.SizeBytes != 0 {
		t.Fatalf("beta after refused upload: got %d bytes, %v; want 0", info.SizeBytes, err)
	}
}

func TestCredentialNeverPrintsItsSecret(t *testing.T) {
	c := objectstore.Credential{AccessKeyID: "AKIDPRINT", SecretAccessKey: "s3cr3t-value", Buckets: []string{"alpha"}, Subject: "alice"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("issued", "cred", c)
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c), "%#v": fmt.Sprintf("%#v", c), "%s": fmt.Sprintf("%s", c),
		"slog": logged.String(),
	}
	for how, out := range outputs {
		if strings.Contains(out, "s3cr3t-value") {
			t.Errorf("%s prints the secret: %s", how, out)
		}
		if !strings.Contains(out, "AKIDPRINT") {
			t.Errorf("%s should still show the access key id: %s", how, out)
		}
	}
}

func TestNewRequiresCredentials(t *testing.T) {
	if _, err := objectstore.New(t.TempDir(), objectstore.Options{}); err == nil || !strings.Contains(err.Error(), "Credentials") {
		t.Fatalf("New without Credentials: got %v, want an error naming Credentials", err)
	}
}
