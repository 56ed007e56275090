package objectstore_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/goldenpathidp/goldenpath/internal/objectstore"
)

func TestAuthFailures(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	e.createBucket("beta", objectstore.BucketOptions{})
	e.put(e.admin(), "beta", "private", "beta only")
	ctx := context.Background()
	getBeta := func(c *s3.Client) error {
		_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("beta"), Key: aws.String("private")})
		return err
	}
	tests := []struct {
		name       string
		call       func() error
		wantCode   string
		wantStatus int
	}{
		{"wrong secret", func() error { return getBeta(e.client(adminKey, "not-the-secret")) }, "SignatureDoesNotMatch", 403},
		{"unknown key", func() error { return getBeta(e.client("AKIDUNKNOWN", "whatever")) }, "InvalidAccessKeyId", 403},
		{"key for alpha used on beta", func() error { return getBeta(e.client(aliceKey, aliceSecret)) }, "AccessDenied", 403},
		{"anonymous", func() error {
			return getBeta(e.client("", "", func(o *s3.Options) { o.Credentials = aws.AnonymousCredentials{} }))
		}, "AccessDenied", 403},
		{"signed for another region", func() error {
			return getBeta(e.client(adminKey, adminSecret, func(o *s3.Options) { o.Region = "eu-west-1" }))
		}, "AuthorizationHeaderMalformed", 400},
		{"non-admin creates a bucket", func() error {
			_, err := e.client(aliceKey, aliceSecret).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("alpha-two")})
			return err
		}, "AccessDenied", 403},
		{"non-admin deletes its bucket", func() error {
			_, err := e.client(aliceKey, aliceSecret).DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("alpha")})
			return err
		}, "AccessDenied", 403},
		{"non-admin lists another bucket", func() error {
			_, err := e.client(aliceKey, aliceSecret).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("beta")})
			return err
		}, "AccessDenied", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.call(), tt.wantCode, tt.wantStatus)
		})
	}
	t.Run("removed key", func(t *testing.T) {
		c := e.client(aliceKey, aliceSecret)
		e.put(c, "alpha", "before-removal", "ok")
		e.creds.Remove(aliceKey)
		defer e.creds.Add(objectstore.Credential{AccessKeyID: aliceKey, SecretAccessKey: aliceSecret, Buckets: []string{"alpha"}})
		_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("alpha"), Key: aws.String("before-removal")})
		wantCode(t, err, "InvalidAccessKeyId", 403)
	})
	for _, secret := range []string{adminSecret, aliceSecret} {
		if strings.Contains(e.logs.String(), secret) {
			t.Fatalf("a secret access key appears in the logs")
		}
	}
}

func TestRequestTimeTooSkewed(t *testing.T) {
	tests := []struct {
		name     string
		skew     time.Duration
		wantCode string
	}{
		{"server an hour ahead", time.Hour, "RequestTimeTooSkewed"},
		{"server an hour behind", -time.Hour, "RequestTimeTooSkewed"},
		{"within fifteen minutes", 10 * time.Minute, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, withNow(func() time.Time { return time.Now().Add(tt.skew) }))
			e.createBucket("alpha", objectstore.BucketOptions{})
			c := e.client(adminKey, adminSecret, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
			_, err := c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("alpha")})
			wantCode(t, err, tt.wantCode, 0)
		})
	}
}

// signRaw signs req like an SDK would, for requests the SDK cannot be made to send.
func signRaw(t *testing.T, req *http.Request, payloadHash string, at time.Time) {
	t.Helper()
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: adminKey, SecretAccessKey: adminSecret}, req, payloadHash, "s3", "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func sha256hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestTamperedBodyIsRejectedAndNotStored(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	signed, sent := []byte("pay alice 10 coins"), []byte("pay alice 99 coins")
	req, err := http.NewRequest(http.MethodPut, e.srv.URL+"/alpha/ledger", bytes.NewReader(sent))
	if err != nil {
		t.Fatal(err)
	}
	signRaw(t, req, sha256hex(signed), time.Now())
	status, body := do(t, req)
	if status != http.StatusBadRequest || !strings.Contains(body, "<Code>XAmzContentSHA256Mismatch</Code>") {
		t.Fatalf("tampered body: got %d %s, want 400 XAmzContentSHA256Mismatch", status, body)
	}
	_, err = e.admin().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("alpha"), Key: aws.String("ledger")})
	wantCode(t, err, "NotFound", http.StatusNotFound)
	if n := countFiles(t, e.dir+"/tmp") + countFiles(t, e.dir+"/blobs"); n != 0 {
		t.Fatalf("files left behind by the rejected upload: %d, want 0", n)
	}
}

func TestWrongSignatureErrorBodyHasNoSecret(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/alpha?list-type=2", nil)
	signRaw(t, req, sha256hex(nil), time.Now())
	req.Header.Set("Authorization", regexp.MustCompile(`Signature=[0-9a-f]+`).ReplaceAllString(req.Header.Get("Authorization"), "Signature="+strings.Repeat("0", 64)))
	status, body := do(t, req)
	if status != http.StatusForbidden || !strings.Contains(body, "SignatureDoesNotMatch") {
		t.Fatalf("got %d %s, want 403 SignatureDoesNotMatch", status, body)
	}
	if strings.Contains(body, adminSecret) {
		t.Fatal("the error body contains the secret access key")
	}
}

// TestAWSDocumentedChunkedUpload replays the example of "Signature Calculations for the
// Authorization Header: Transferring Payload in Multiple Chunks" from the S3 API
// reference: its seed and chunk signatures must verify, and a changed byte must not.
func TestAWSDocumentedChunkedUpload(t *testing.T) {
	const (
		docKey    = "AKIAIOSFODNN7EXAMPLE"
		docSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
		docAuth   = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request," +
			"SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class," +
			"Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
	)
	body := func(tamper bool) []byte {
		first := bytes.Repeat([]byte("a"), 65536)
		if tamper {
			first[100] = 'b'
		}
		var b bytes.Buffer
		b.WriteString("10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n")
		b.Write(first)
		b.WriteString("\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n")
		b.Write(bytes.Repeat([]byte("a"), 1024))
		b.WriteString("\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n")
		return b.Bytes()
	}
	tests := []struct {
		name       string
		tamper     bool
		wantStatus int
	}{
		{"as documented", false, http.StatusOK},
		{"one byte changed", true, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, withNow(func() time.Time { return time.Date(2013, 5, 24, 0, 5, 0, 0, time.UTC) }))
			e.creds.Add(objectstore.Credential{AccessKeyID: docKey, SecretAccessKey: docSecret, Buckets: []string{"examplebucket"}})
			e.createBucket("examplebucket", objectstore.BucketOptions{})
			b := body(tt.tamper)
			if len(b) != 66824 {
				t.Fatalf("encoded body is %d bytes, the example says 66824", len(b))
			}
			req, _ := http.NewRequest(http.MethodPut, e.srv.URL+"/examplebucket/chunkObject.txt", bytes.NewReader(b))
			req.Host = "s3.amazonaws.com"
			req.Header.Set("Authorization", docAuth)
			req.Header.Set("X-Amz-Date", "20130524T000000Z")
			req.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
			req.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
			req.Header.Set("Content-Encoding", "aws-chunked")
			req.Header.Set("X-Amz-Decoded-Content-Length", "66560")
			status, resp := do(t, req)
			if status != tt.wantStatus {
				t.Fatalf("status: got %d (%s), want %d", status, resp, tt.wantStatus)
			}
			info, _, err := e.store.Bucket(context.Background(), "examplebucket")
			if err != nil {
				t.Fatal(err)
			}
			wantObjects := int64(0)
			if tt.wantStatus == http.StatusOK {
				wantObjects = 1
				if info.SizeBytes != 66560 {
					t.Errorf("stored size: got %d, want the decoded 66560", info.SizeBytes)
				}
			}
			if info.Objects != wantObjects {
				t.Errorf("objects stored: got %d, want %d", info.Objects, wantObjects)
			}
		})
	}
}

// chunkSigner produces aws-chunked bodies with chained chunk signatures, the way
// non-Go SDKs (Java, JS, aws-cli) stream uploads.
type chunkSigner struct {
	key                  []byte
	amzDate, scope, prev string
}

func newChunkSigner(t *testing.T, req *http.Request, secret string) *chunkSigner {
	t.Helper()
	auth := req.Header.Get("Authorization")
	m := regexp.MustCompile(`Credential=[^/]+/(\d{8})/([^/]+)/s3/aws4_request.*Signature=([0-9a-f]{64})`).FindStringSubmatch(auth)
	if m == nil {
		t.Fatalf("unexpected Authorization header %q", auth)
	}
	k := hmacSum([]byte("AWS4"+secret), m[1])
	k = hmacSum(k, m[2])
	k = hmacSum(k, "s3")
	k = hmacSum(k, "aws4_request")
	return &chunkSigner{key: k, amzDate: req.Header.Get("X-Amz-Date"), scope: m[1] + "/" + m[2] + "/s3/aws4_request", prev: m[3]}
}

func hmacSum(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

func (c *chunkSigner) chunk(data []byte) string {
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + c.amzDate + "\n" + c.scope + "\n" + c.prev + "\n" + sha256hex(nil) + "\n" + sha256hex(data)
	c.prev = hex.EncodeToString(hmacSum(c.key, sts))
	return fmt.Sprintf("%x;chunk-signature=%s\r\n%s\r\n", len(data), c.prev, data)
}

func (c *chunkSigner) trailer(header string) string {
	sts := "AWS4-HMAC-SHA256-TRAILER\n" + c.amzDate + "\n" + c.scope + "\n" + c.prev + "\n" + sha256hex([]byte(header+"\n"))
	return header + "\r\nx-amz-trailer-signature:" + hex.EncodeToString(hmacSum(c.key, sts)) + "\r\n\r\n"
}

func crc32b64(b []byte) string {
	sum := crc32.ChecksumIEEE(b)
	return base64.StdEncoding.EncodeToString([]byte{byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)})
}

func TestStreamingUploadModes(t *testing.T) {
	data := randomBytes(t, 150_000)
	split := func(b []byte, n int) [][]byte {
		var out [][]byte
		for len(b) > n {
			out = append(out, b[:n])
			b = b[n:]
		}
		return append(out, b)
	}
	tests := []struct {
		name       string
		mode       string
		build      func(c *chunkSigner) string
		wantStatus int
		wantCode   string
	}{
		{name: "signed chunks", mode: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", wantStatus: 200, build: func(c *chunkSigner) string {
			var b strings.Builder
			for _, ch := range split(data, 64<<10) {
				b.WriteString(c.chunk(ch))
			}
			return b.String() + c.chunk(nil)
		}},
		{name: "signed chunks out of order", mode: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", wantStatus: 403, wantCode: "SignatureDoesNotMatch",
			build: func(c *chunkSigner) string {
				parts := split(data, 64<<10)
				first, second := c.chunk(parts[0]), c.chunk(parts[1])
				rest := c.chunk(parts[2])
				return second + first + rest + c.chunk(nil)
			}},
		{name: "signed chunks with signed trailer", mode: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", wantStatus: 200,
			build: func(c *chunkSigner) string {
				var b strings.Builder
				for _, ch := range split(data, 64<<10) {
					b.WriteString(c.chunk(ch))
				}
				last := c.chunk(nil)
				b.WriteString(strings.TrimSuffix(last, "\r\n")) // the trailer follows the final chunk header directly
				return b.String() + c.trailer("x-amz-checksum-crc32:"+crc32b64(data))
			}},
		{name: "signed trailer with wrong checksum", mode: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", wantStatus: 400, wantCode: "BadDigest",
			build: func(c *chunkSigner) string {
				body := c.chunk(data)
				last := strings.TrimSuffix(c.chunk(nil), "\r\n")
				return body + last + c.trailer("x-amz-checksum-crc32:AAAAAA==")
			}},
		{name: "unsigned chunks with trailer", mode: "STREAMING-UNSIGNED-PAYLOAD-TRAILER", wantStatus: 200,
			build: func(*chunkSigner) string {
				var b strings.Builder
				for _, ch := range split(data, 50_000) {
					fmt.Fprintf(&b, "%x\r\n%s\r\n", len(ch), ch)
				}
				return b.String() + "0\r\nx-amz-checksum-crc32:" + crc32b64(data) + "\r\n\r\n"
			}},
		{name: "unsigned trailer with wrong checksum", mode: "STREAMING-UNSIGNED-PAYLOAD-TRAILER", wantStatus: 400, wantCode: "BadDigest",
			build: func(*chunkSigner) string {
				return fmt.Sprintf("%x\r\n%s\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", len(data), data)
			}},
		{name: "body shorter than decoded length", mode: "STREAMING-UNSIGNED-PAYLOAD-TRAILER", wantStatus: 400, wantCode: "IncompleteBody",
			build: func(*chunkSigner) string {
				half := data[:len(data)/2]
				return fmt.Sprintf("%x\r\n%s\r\n0\r\nx-amz-checksum-crc32:%s\r\n\r\n", len(half), half, crc32b64(half))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.createBucket("alpha", objectstore.BucketOptions{})
			req, _ := http.NewRequest(http.MethodPut, e.srv.URL+"/alpha/streamed", nil)
			req.Header.Set("Content-Encoding", "aws-chunked")
			req.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(data)))
			if strings.HasSuffix(tt.mode, "TRAILER") {
				req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
			}
			signRaw(t, req, tt.mode, time.Now())
			body := tt.build(newChunkSigner(t, req, adminSecret))
			req.Body, req.ContentLength = io.NopCloser(strings.NewReader(body)), int64(len(body))
			status, resp := do(t, req)
			if status != tt.wantStatus || !strings.Contains(resp, tt.wantCode) {
				t.Fatalf("got %d %s, want %d %s", status, resp, tt.wantStatus, tt.wantCode)
			}
			got, err := getVersion(t, e.admin(), "alpha", "streamed", "")
			if tt.wantStatus != 200 {
				wantCode(t, err, "NoSuchKey", http.StatusNotFound)
				return
			}
			if err != nil || got != string(data) {
				t.Fatalf("stored object: got %d bytes (%v), want the %d decoded bytes", len(got), err, len(data))
			}
		})
	}
}

// Over HTTPS the default SDK client streams bodies as aws-chunked with a CRC32 trailer
// (STREAMING-UNSIGNED-PAYLOAD-TRAILER); over plain HTTP it signs the SHA-256 and sends
// the CRC32 as a header. Both must work, and GET must return the stored checksum so
// the SDK can validate it.
func TestDefaultSDKClientOverHTTPAndHTTPS(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[tlsOn], func(t *testing.T) {
			e := newEnv(t)
			e.createBucket("alpha", objectstore.BucketOptions{})
			var mu sync.Mutex
			var modes []string
			record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPut {
					mu.Lock()
					modes = append(modes, r.Header.Get("X-Amz-Content-Sha256"))
					mu.Unlock()
				}
				e.store.ServeHTTP(w, r)
			})
			srv := httptest.NewUnstartedServer(record)
			if tlsOn {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			c := sdkClient(srv.URL, sdkHTTPClient(srv), adminKey, adminSecret)
			data := randomBytes(t, 300_000)
			ctx := context.Background()
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("alpha"), Key: aws.String("k"), Body: bytes.NewReader(data)}); err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("alpha"), Key: aws.String("k"), ChecksumMode: "ENABLED"})
			if err != nil {
				t.Fatalf("GetObject: %v", err)
			}
			got, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("GetObject body: %d bytes, err %v; want the %d bytes put", len(got), err, len(data))
			}
			if aws.ToString(out.ChecksumCRC32) != crc32b64(data) {
				t.Errorf("ChecksumCRC32: got %q, want %q", aws.ToString(out.ChecksumCRC32), crc32b64(data))
			}
			want := map[bool]string{false: sha256hex(data), true: "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}[tlsOn]
			if len(modes) != 1 || modes[0] != want {
				t.Fatalf("x-amz-content-sha256 sent by the SDK: got %q, want [%s]", modes, want)
			}
		})
	}
}
