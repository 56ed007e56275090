package objectstore_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/goldenpathidp/goldenpath/internal/objectstore"
)

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestPutGetHeadRoundTripsKeysBodiesAndMetadata(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	c := e.client(aliceKey, aliceSecret)
	ctx := context.Background()

	tests := []struct {
		name, key, body string
	}{
		{"plain", "hello.txt", "hello world"},
		{"nested path", "dir/sub/file.json", `{"a":1}`},
		{"spaces", "with space/and more spaces.txt", "spaces"},
		{"unicode", "ключ/日本語/🙂.txt", "unicode"},
		{"dot segments stay literal", "a/../b", "not b"},
		{"single dot segment", "./x/./y", "dots"},
		{"double slash", "double//slash", "slashes"},
		{"trailing slash", "folder/", ""},
		{"reserved characters", "q?x=1&y=2#frag;+plus%20pct", "reserved"},
		{"empty body", "empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			put, err := c.PutObject(ctx, &s3.PutObjectInput{
				Bucket: aws.String("alpha"), Key: aws.String(tt.key), Body: strings.NewReader(tt.body),
				ContentType: aws.String("text/x-test"), Metadata: map[string]string{"owner": "alice", "team": "orders"},
				CacheControl: aws.String("max-age=60"),
			})
			if err != nil {
				t.Fatalf("PutObject(%q): %v", tt.key, err)
			}
			if got, want := aws.ToString(put.ETag), `"`+md5hex(tt.body)+`"`; got != want {
				t.Errorf("PutObject ETag: got %s, want %s", got, want)
			}
			get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("alpha"), Key: aws.String(tt.key)})
			if err != nil {
				t.Fatalf("GetObject(%q): %v", tt.key, err)
			}
			body, _ := io.ReadAll(get.Body)
			get.Body.Close()
			if string(body) != tt.body {
				t.Errorf("GetObject body: got %q, want %q", body, tt.body)
			}
			if got := aws.ToString(get.ContentType); got != "text/x-test" {
				t.Errorf("Content-Type: got %q, want text/x-test", got)
			}
			if got := aws.ToString(get.CacheControl); got != "max-age=60" {
				t.Errorf("Cache-Control: got %q, want max-age=60", got)
			}
			if get.Metadata["owner"] != "alice" || get.Metadata["team"] != "orders" {
				t.Errorf("Metadata: got %v, want owner=alice team=orders", get.Metadata)
			}
			head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("alpha"), Key: aws.String(tt.key)})
			if err != nil {
				t.Fatalf("HeadObject(%q): %v", tt.key, err)
			}
			if got := aws.ToInt64(head.ContentLength); got != int64(len(tt.body)) {
				t.Errorf("HeadObject Content-Length: got %d, want %d", got, len(tt.body))
			}
			list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("alpha"), Prefix: aws.String(tt.key)})
			if err != nil {
				t.Fatalf("ListObjectsV2: %v", err)
			}
			if len(list.Contents) == 0 || aws.ToString(list.Contents[0].Key) != tt.key {
				t.Errorf("listing under prefix %q: got %v, want the key itself first", tt.key, keysOf(list.Contents))
			}
		})
	}
	// "a/../b" must not have been resolved to "b".
	_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("alpha"), Key: aws.String("b")})
	wantCode(t, err, "NotFound", http.StatusNotFound)
}

func keysOf(objs []types.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, aws.ToString(o.Key))
	}
	return out
}

func TestGetMissingObjectAndBucket(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	ctx := context.Background()
	_, err := e.admin().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("alpha"), Key: aws.String("nope")})
	wantCode(t, err, "NoSuchKey", http.StatusNotFound)
	_, err = e.admin().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("no-such-bucket"), Key: aws.String("x")})
	wantCode(t, err, "NoSuchBucket", http.StatusNotFound)
	_, err = e.admin().HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("no-such-bucket")})
	wantCode(t, err, "NotFound", http.StatusNotFound)
	if _, err := e.admin().HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("alpha")}); err != nil {
		t.Fatalf("HeadBucket(alpha): %v", err)
	}
}

func TestRangeGet(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	e.put(e.admin(), "alpha", "digits", "0123456789")
	tests := []struct {
		rng, want, contentRange, code string
	}{
		{rng: "bytes=0-4", want: "01234", contentRange: "bytes 0-4/10"},
		{rng: "bytes=5-", want: "56789", contentRange: "bytes 5-9/10"},
		{rng: "bytes=-3", want: "789", contentRange: "bytes 7-9/10"},
		{rng: "bytes=8-100", want: "89", contentRange: "bytes 8-9/10"},
		{rng: "bytes=3-3", want: "3", contentRange: "bytes 3-3/10"},
		{rng: "bytes=10-", code: "InvalidRange"},
	}
	for _, tt := range tests {
		t.Run(tt.rng, func(t *testing.T) {
			out, err := e.admin().GetObject(context.Background(), &s3.GetObjectInput{
				Bucket: aws.String("alpha"), Key: aws.String("digits"), Range: aws.String(tt.rng)})
			if tt.code != "" {
				wantCode(t, err, tt.code, http.StatusRequestedRangeNotSatisfiable)
				return
			}
			if err != nil {
				t.Fatalf("GetObject: %v", err)
			}
			body, _ := io.ReadAll(out.Body)
			out.Body.Close()
			if string(body) != tt.want {
				t.Errorf("body: got %q, want %q", body, tt.want)
			}
			if got := aws.ToString(out.ContentRange); got != tt.contentRange {
				t.Errorf("Content-Range: got %q, want %q", got, tt.contentRange)
			}
		})
	}
}

func TestConditionalGet(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	etag := aws.ToString(e.put(e.admin(), "alpha", "k", "v1").ETag)
	tests := []struct {
		name            string
		ifMatch, ifNone string
		wantCode        string
		wantStatus      int
	}{
		{name: "if-match hit", ifMatch: etag},
		{name: "if-match miss", ifMatch: `"0000"`, wantCode: "PreconditionFailed", wantStatus: http.StatusPreconditionFailed},
		{name: "if-none-match hit", ifNone: etag, wantCode: "NotModified", wantStatus: http.StatusNotModified},
		{name: "if-none-match miss", ifNone: `"0000"`},
		{name: "if-match star", ifMatch: "*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &s3.GetObjectInput{Bucket: aws.String("alpha"), Key: aws.String("k")}
			if tt.ifMatch != "" {
				in.IfMatch = aws.String(tt.ifMatch)
			}
			if tt.ifNone != "" {
				in.IfNoneMatch = aws.String(tt.ifNone)
			}
			out, err := e.admin().GetObject(context.Background(), in)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode, tt.wantStatus)
				return
			}
			if err != nil {
				t.Fatalf("GetObject: %v", err)
			}
			out.Body.Close()
		})
	}
}

func TestPutIfNoneMatchStarRefusesOverwrite(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	ctx := context.Background()
	in := func(body string) *s3.PutObjectInput {
		return &s3.PutObjectInput{Bucket: aws.String("alpha"), Key: aws.String("once"),
			Body: strings.NewReader(body), IfNoneMatch: aws.String("*")}
	}
	if _, err := e.admin().PutObject(ctx, in("first")); err != nil {
		t.Fatalf("first conditional put: %v", err)
	}
	_, err := e.admin().PutObject(ctx, in("second"))
	wantCode(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
	if got := e.get(e.admin(), "alpha", "once"); got != "first" {
		t.Fatalf("after refused overwrite: got %q, want first", got)
	}
}

func TestDeleteObject(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	ctx := context.Background()
	e.put(e.admin(), "alpha", "gone", "bye")
	for i := range 2 { // deleting twice is fine, as on S3
		if _, err := e.admin().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("alpha"), Key: aws.String("gone")}); err != nil {
			t.Fatalf("DeleteObject #%d: %v", i+1, err)
		}
	}
	_, err := e.admin().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("alpha"), Key: aws.String("gone")})
	wantCode(t, err, "NoSuchKey", http.StatusNotFound)
	info, _, err := e.store.Bucket(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if info.Objects != 0 || info.SizeBytes != 0 {
		t.Fatalf("bucket usage after delete: got %d objects / %d bytes, want 0/0", info.Objects, info.SizeBytes)
	}
}

func TestDeleteObjectsBatch(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		e.put(e.admin(), "alpha", k, k)
	}
	out, err := e.admin().DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("alpha"), Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("a")}, {Key: aws.String("c")}, {Key: aws.String("e")},
			{Key: aws.String("never-existed")}, {Key: aws.String("b"), VersionId: aws.String("not-a-version")}},
	}})
	if err != nil {
		t.Fatalf("DeleteObjects: %v", err)
	}
	if len(out.Deleted) != 4 {
		t.Errorf("Deleted: got %d entries, want 4 (deleting a missing key succeeds)", len(out.Deleted))
	}
	if len(out.Errors) != 1 || aws.ToString(out.Errors[0].Key) != "b" || aws.ToString(out.Errors[0].Code) != "InvalidArgument" {
		t.Errorf("Errors: got %+v, want one InvalidArgument for b", out.Errors)
	}
	list, err := e.admin().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("alpha")})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(keysOf(list.Contents), ","); got != "b,d" {
		t.Fatalf("remaining keys: got %s, want b,d", got)
	}
}

func TestCopyObject(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	e.createBucket("beta", objectstore.BucketOptions{})
	ctx := context.Background()
	_, err := e.admin().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("alpha"), Key: aws.String("src/ключ 1"),
		Body: strings.NewReader("payload"), ContentType: aws.String("text/plain"), Metadata: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	e.put(e.admin(), "beta", "secret", "beta data")

	tests := []struct {
		name             string
		client           *s3.Client
		source, bucket   string
		key              string
		replace          bool
		wantCode         string
		wantType, wantMD string
	}{
		{name: "same bucket keeps metadata", client: e.admin(), source: "alpha/src/ключ 1", bucket: "alpha", key: "dst/copy",
			wantType: "text/plain", wantMD: "v"},
		{name: "other bucket", client: e.admin(), source: "alpha/src/ключ 1", bucket: "beta", key: "copied",
			wantType: "text/plain", wantMD: "v"},
		{name: "replace metadata", client: e.admin(), source: "alpha/src/ключ 1", bucket: "alpha", key: "dst/replaced",
			replace: true, wantType: "application/x-new", wantMD: ""},
		{name: "onto itself without replace", client: e.admin(), source: "alpha/src/ключ 1", bucket: "alpha", key: "src/ключ 1",
			wantCode: "InvalidRequest"},
		{name: "source bucket not permitted", client: e.client(aliceKey, aliceSecret), source: "beta/secret", bucket: "alpha",
			key: "stolen", wantCode: "AccessDenied"},
		{name: "missing source", client: e.admin(), source: "alpha/nope", bucket: "alpha", key: "x", wantCode: "NoSuchKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &s3.CopyObjectInput{Bucket: aws.String(tt.bucket), Key: aws.String(tt.key), CopySource: aws.String(urlPath(tt.source))}
			if tt.replace {
				in.MetadataDirective = types.MetadataDirectiveReplace
				in.ContentType = aws.String("application/x-new")
			}
			out, err := tt.client.CopyObject(ctx, in)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode, 0)
				return
			}
			if err != nil {
				t.Fatalf("CopyObject: %v", err)
			}
			if got, want := aws.ToString(out.CopyObjectResult.ETag), `"`+md5hex("payload")+`"`; got != want {
				t.Errorf("copy ETag: got %s, want %s", got, want)
			}
			get, err := e.admin().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(tt.bucket), Key: aws.String(tt.key)})
			if err != nil {
				t.Fatalf("GetObject copy: %v", err)
			}
			body, _ := io.ReadAll(get.Body)
			get.Body.Close()
			if string(body) != "payload" || aws.ToString(get.ContentType) != tt.wantType || get.Metadata["k"] != tt.wantMD {
				t.Errorf("copy: got body %q type %q meta %v, want payload %q k=%q", body, aws.ToString(get.ContentType),
					get.Metadata, tt.wantType, tt.wantMD)
			}
		})
	}
	// The copy is independent of its source.
	if _, err := e.admin().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("alpha"), Key: aws.String("src/ключ 1")}); err != nil {
		t.Fatal(err)
	}
	if got := e.get(e.admin(), "beta", "copied"); got != "payload" {
		t.Fatalf("copy after deleting source: got %q, want payload", got)
	}
}

// urlPath escapes a copy source the way S3 documents it (URL-encoded, '/' kept).
func urlPath(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~/", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}

func TestUnsupportedOperationIsNotImplemented(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	_, err := e.admin().GetBucketTagging(context.Background(), &s3.GetBucketTaggingInput{Bucket: aws.String("alpha")})
	wantCode(t, err, "NotImplemented", http.StatusNotImplemented)
	if !strings.Contains(err.Error(), "GetBucketTagging") {
		t.Fatalf("error %q does not name the operation GetBucketTagging", err)
	}
}
