package objectstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/goldenpathidp/goldenpath/internal/objectstore"
)

// Keys used across the tests: an admin, and alice who may use bucket "alpha" only.
const (
	adminKey    = "AKIDADMIN0000000001"
	adminSecret = "admin-secret-do-not-log-1234567890"
	aliceKey    = "AKIDALICE0000000001"
	aliceSecret = "alice-secret-do-not-log-0987654321"
)

// env is a store served over loopback HTTP, as goldenpath runs it.
type env struct {
	t     testing.TB
	dir   string
	store *objectstore.Store
	srv   *httptest.Server
	creds *objectstore.StaticCredentials
	logs  *syncBuffer
}

type envOption func(*objectstore.Options)

func withNow(now func() time.Time) envOption {
	return func(o *objectstore.Options) { o.Now = now }
}

func withRegion(region string) envOption {
	return func(o *objectstore.Options) { o.Region = region }
}

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), logs: &syncBuffer{}}
	e.creds = objectstore.NewStaticCredentials(
		objectstore.Credential{AccessKeyID: adminKey, SecretAccessKey: adminSecret, Buckets: []string{"*"}, Subject: "platform"},
		objectstore.Credential{AccessKeyID: aliceKey, SecretAccessKey: aliceSecret, Buckets: []string{"alpha"}, Subject: "alice"},
	)
	e.open(opts...)
	return e
}

// open starts a store on e.dir (again, for persistence tests).
func (e *env) open(opts ...envOption) {
	e.t.Helper()
	o := objectstore.Options{
		Credentials: e.creds,
		Logger:      slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, opt := range opts {
		opt(&o)
	}
	store, err := objectstore.New(e.dir, o)
	if err != nil {
		e.t.Fatalf("New(%s): %v", e.dir, err)
	}
	e.store = store
	e.srv = httptest.NewServer(store)
	e.t.Cleanup(e.close)
}

func (e *env) close() {
	if e.srv == nil {
		return
	}
	e.srv.Close()
	if err := e.store.Close(); err != nil {
		e.t.Errorf("Close: %v", err)
	}
	e.srv, e.store = nil, nil
}

// client is the AWS SDK's default S3 client, pointed at the store path-style.
func (e *env) client(key, secret string, optFns ...func(*s3.Options)) *s3.Client {
	return sdkClient(e.srv.URL, sdkHTTPClient(e.srv), key, secret, optFns...)
}

// sdkHTTPClient is the SDK's default HTTP client (which, unlike httptest's, waits for
// "100 Continue" before sending large bodies), trusting srv's certificate if it has one.
func sdkHTTPClient(srv *httptest.Server) aws.HTTPClient {
	tlsConfig := srv.Client().Transport.(*http.Transport).TLSClientConfig
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.TLSClientConfig = tlsConfig
	})
}

func (e *env) admin() *s3.Client { return e.client(adminKey, adminSecret) }

// sdkClient builds the SDK's S3 client with the defaults config.LoadDefaultConfig
// resolves for applications (CRC32 request checksums and response checksum validation
// "when supported"). A bare aws.Config leaves both unset, and LoadDefaultConfig itself
// reads the environment (AWS_CA_BUNDLE, profiles), which would make the tests depend
// on the machine.
func sdkClient(url string, hc aws.HTTPClient, key, secret string, optFns ...func(*s3.Options)) *s3.Client {
	cfg := aws.Config{
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider(key, secret, ""),
		HTTPClient:                 hc,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	}
	optFns = append([]func(*s3.Options){func(o *s3.Options) {
		o.BaseEndpoint = aws.String(url)
		o.UsePathStyle = true
	}}, optFns...)
	return s3.NewFromConfig(cfg, optFns...)
}

func (e *env) createBucket(name string, o objectstore.BucketOptions) {
	e.t.Helper()
	if _, err := e.store.CreateBucket(context.Background(), name, o); err != nil {
		e.t.Fatalf("CreateBucket(%q): %v", name, err)
	}
}

func (e *env) put(c *s3.Client, bucket, key, body string) *s3.PutObjectOutput {
	e.t.Helper()
	out, err := c.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	if err != nil {
		e.t.Fatalf("PutObject(%s/%s): %v", bucket, key, err)
	}
	return out
}

func (e *env) get(c *s3.Client, bucket, key string) string {
	e.t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		e.t.Fatalf("GetObject(%s/%s): %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		e.t.Fatalf("reading %s/%s: %v", bucket, key, err)
	}
	return string(b)
}

// apiCode is the S3 error code of an SDK error, "" for nil.
func apiCode(err error) string {
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "non-API error: " + err.Error()
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func wantCode(t *testing.T, err error, code string, status int) {
	t.Helper()
	if got := apiCode(err); got != code {
		t.Fatalf("error code: got %q (%v), want %q", got, err, code)
	}
	if got := httpStatus(err); status != 0 && got != status {
		t.Fatalf("HTTP status: got %d, want %d", got, status)
	}
}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
