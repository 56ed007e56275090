package objectstore_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/goldenpathidp/goldenpath/internal/objectstore"
)

const notSigned = "There were headers present in the request which were not signed"

// TestUnsignedAmzHeadersAreRefused: x-amz-* headers the signature does not cover are refused with S3's 403
// AccessDenied and HeadersNotSigned, for presigned URLs (from the real SDK's presigner) and header-signed
// requests alike, and nothing is written; the same headers signed still work.
func TestUnsignedAmzHeadersAreRefused(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	admin := e.admin()
	e.put(admin, "alpha", "private/secret.txt", "top secret")
	presign := s3.NewPresignClient(e.client(aliceKey, aliceSecret))
	ctx := context.Background()
	presignPut := func(key string, meta map[string]string) (string, http.Header) {
		t.Helper()
		req, err := presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("alpha"), Key: aws.String(key), Metadata: meta},
			s3.WithPresignExpires(10*time.Minute))
		if err != nil {
			t.Fatalf("PresignPutObject: %v", err)
		}
		return req.URL, req.SignedHeader
	}
	signedPut := func(key string, before, after map[string]string) *http.Request {
		req, err := http.NewRequest(http.MethodPut, e.srv.URL+"/alpha/"+key, strings.NewReader("uploaded"))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range before {
			req.Header.Set(k, v)
		}
		signRaw(t, req, sha256hex([]byte("uploaded")), time.Now())
		for k, v := range after {
			req.Header.Set(k, v)
		}
		return req
	}
	exists := func(key string) (bool, map[string]string) {
		out, err := admin.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("alpha"), Key: aws.String(key)})
		if apiCode(err) == "NotFound" {
			return false, nil
		}
		if err != nil {
			t.Fatalf("HeadObject(%s): %v", key, err)
		}
		return true, out.Metadata
	}

	for _, tt := range []struct {
		name    string
		key     string
		request func(key string) *http.Request
		refused string // the header named in HeadersNotSigned; "" when the request must succeed
		meta    map[string]string
	}{
		{"presigned PUT turned into a copy", "uploads/copy.txt", func(key string) *http.Request {
			u, _ := presignPut(key, nil)
			req, _ := http.NewRequest(http.MethodPut, u, nil)
			req.Header.Set("X-Amz-Copy-Source", "/alpha/private/secret.txt")
			return req
		}, "x-amz-copy-source", nil},
		{"presigned PUT with unsigned metadata", "uploads/meta.txt", func(key string) *http.Request {
			u, _ := presignPut(key, nil)
			req, _ := http.NewRequest(http.MethodPut, u, strings.NewReader("uploaded"))
			req.Header.Set("X-Amz-Meta-Owner", "mallory")
			req.Header.Set("X-Amz-Storage-Class", "GLACIER")
			return req
		}, "x-amz-meta-owner, x-amz-storage-class", nil},
		{"presigned PUT with signed metadata", "uploads/signed-meta.txt", func(key string) *http.Request {
			u, h := presignPut(key, map[string]string{"owner": "alice"})
			req, _ := http.NewRequest(http.MethodPut, u, strings.NewReader("uploaded"))
			for k, v := range h {
				if k != "Host" {
					req.Header[k] = v
				}
			}
			return req
		}, "", map[string]string{"owner": "alice"}},
		{"presigned PUT as signed", "uploads/plain.txt", func(key string) *http.Request {
			u, _ := presignPut(key, nil)
			req, _ := http.NewRequest(http.MethodPut, u, strings.NewReader("uploaded"))
			return req
		}, "", nil},
		{"signed PUT with a copy source added after signing", "uploads/relayed-copy.txt", func(key string) *http.Request {
			return signedPut(key, nil, map[string]string{"X-Amz-Copy-Source": "/alpha/private/secret.txt"})
		}, "x-amz-copy-source", nil},
		{"signed PUT with metadata added after signing", "uploads/relayed-meta.txt", func(key string) *http.Request {
			return signedPut(key, nil, map[string]string{"X-Amz-Meta-Owner": "mallory"})
		}, "x-amz-meta-owner", nil},
		{"signed PUT with signed metadata", "uploads/signed.txt", func(key string) *http.Request {
			return signedPut(key, map[string]string{"X-Amz-Meta-Owner": "platform"}, nil)
		}, "", map[string]string{"owner": "platform"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, tt.request(tt.key))
			found, meta := exists(tt.key)
			if tt.refused == "" {
				if status != http.StatusOK || !found {
					t.Fatalf("got %d %s (stored: %v), want 200 and the object stored", status, body, found)
				}
				for k, v := range tt.meta {
					if meta[k] != v {
						t.Errorf("metadata %s = %q, want %q", k, meta[k], v)
					}
				}
				return
			}
			if status != http.StatusForbidden || !strings.Contains(body, "<Code>AccessDenied</Code>") || !strings.Contains(body, notSigned) ||
				!strings.Contains(body, "<HeadersNotSigned>"+tt.refused+"</HeadersNotSigned>") {
				t.Errorf("got %d %s, want 403 AccessDenied %q naming %s", status, body, notSigned, tt.refused)
			}
			if found {
				t.Errorf("%s was written by a request with unsigned headers (metadata %v)", tt.key, meta)
			}
		})
	}
	if got := e.get(admin, "alpha", "private/secret.txt"); got != "top secret" {
		t.Errorf("the copy source changed: %q", got)
	}
}

// TestHoistedHeadersMayRepeatTheSignedQuery: the SDK's presigner moves x-amz-* headers it need not sign into
// the query; a client sending them as headers too, with the same value, is served.
func TestHoistedHeadersMayRepeatTheSignedQuery(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	e.put(e.admin(), "alpha", "report.txt", "numbers")
	get, err := s3.NewPresignClient(e.client(aliceKey, aliceSecret)).PresignGetObject(context.Background(),
		&s3.GetObjectInput{Bucket: aws.String("alpha"), Key: aws.String("report.txt"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToLower(get.URL), "x-amz-checksum-mode=enabled") {
		t.Fatalf("the presigned URL %s does not carry x-amz-checksum-mode in its query", get.URL)
	}
	for _, tt := range []struct {
		value      string
		wantStatus int
	}{{"ENABLED", http.StatusOK}, {"DISABLED", http.StatusForbidden}} {
		req, _ := http.NewRequest(http.MethodGet, get.URL, nil)
		req.Header.Set("X-Amz-Checksum-Mode", tt.value)
		if status, body := do(t, req); status != tt.wantStatus {
			t.Errorf("x-amz-checksum-mode: %s as a header: got %d %s, want %d", tt.value, status, body, tt.wantStatus)
		}
	}
}
