package objectstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/goldenpathidp/goldenpath/internal/objectstore"
)

const mib = 1 << 20

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// The SDK's transfer manager with its defaults (8 MiB parts, multipart above 16 MiB,
// CRC32 checksums, parallel part GETs) must work end to end.
func TestTransferManagerUploadAndDownload(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	ctx := context.Background()
	data := randomBytes(t, 20*mib+12345)
	tm := transfermanager.New(e.client(aliceKey, aliceSecret))

	up, err := tm.UploadObject(ctx, &transfermanager.UploadObjectInput{Bucket: aws.String("alpha"),
		Key: aws.String("big/blob.bin"), Body: bytes.NewReader(data), ContentType: aws.String("application/x-big")})
	if err != nil {
		t.Fatalf("UploadObject: %v", err)
	}
	if etag := aws.ToString(up.ETag); !strings.HasSuffix(etag, `-3"`) {
		t.Errorf("ETag: got %s, want a multipart ETag ending in -3 (8+8+4 MiB parts)", etag)
	}

	f, err := os.Create(filepath.Join(t.TempDir(), "download"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := tm.DownloadObject(ctx, &transfermanager.DownloadObjectInput{Bucket: aws.String("alpha"),
		Key: aws.String("big/blob.bin"), WriterAt: f}); err != nil {
		t.Fatalf("DownloadObject: %v", err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("downloaded %d bytes that differ from the %d uploaded", len(got), len(data))
	}
	head, err := e.admin().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("alpha"), Key: aws.String("big/blob.bin")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(head.ContentType) != "application/x-big" || aws.ToInt64(head.ContentLength) != int64(len(data)) {
		t.Fatalf("HeadObject: got type %q length %d, want application/x-big %d",
			aws.ToString(head.ContentType), aws.ToInt64(head.ContentLength), len(data))
	}
}

func TestMultipartExplicitCalls(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	c, ctx := e.admin(), context.Background()
	bucket, key := aws.String("alpha"), aws.String("parts/obj")
	part1, part2 := randomBytes(t, 5*mib), []byte("the small last part")

	create, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: bucket, Key: key,
		Metadata: map[string]string{"origin": "multipart"}})
	if err != nil {
		t.Fatalf("CreateMultipartUpload: %v", err)
	}
	id := create.UploadId
	upload := func(n int32, body []byte) string {
		t.Helper()
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: bucket, Key: key, UploadId: id, PartNumber: aws.Int32(n),
			Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatalf("UploadPart %d: %v", n, err)
		}
		return aws.ToString(out.ETag)
	}
	etag2 := upload(2, part2)
	etag1 := upload(1, part1)

	parts, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: bucket, Key: key, UploadId: id})
	if err != nil || len(parts.Parts) != 2 || aws.ToInt32(parts.Parts[0].PartNumber) != 1 {
		t.Fatalf("ListParts: got %+v, %v; want parts 1 and 2 in order", parts, err)
	}
	uploads, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: bucket})
	if err != nil || len(uploads.Uploads) != 1 || aws.ToString(uploads.Uploads[0].UploadId) != aws.ToString(id) {
		t.Fatalf("ListMultipartUploads: got %+v, %v; want our upload", uploads, err)
	}

	complete := func(ps ...types.CompletedPart) error {
		_, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: bucket, Key: key, UploadId: id,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: ps}})
		return err
	}
	p := func(n int32, etag string) types.CompletedPart {
		return types.CompletedPart{PartNumber: aws.Int32(n), ETag: aws.String(etag)}
	}
	wantCode(t, complete(p(1, etag1), p(2, `"00000000000000000000000000000000"`)), "InvalidPart", http.StatusBadRequest)
	wantCode(t, complete(p(2, etag2), p(1, etag1)), "InvalidPartOrder", http.StatusBadRequest)
	wantCode(t, complete(p(2, etag2), p(3, etag2)), "InvalidPart", http.StatusBadRequest)
	if err := complete(p(1, etag1), p(2, etag2)); err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}

	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if !bytes.Equal(body, append(append([]byte{}, part1...), part2...)) {
		t.Fatalf("assembled object: got %d bytes, want the two parts concatenated (%d bytes)", len(body), len(part1)+len(part2))
	}
	if got.Metadata["origin"] != "multipart" {
		t.Errorf("metadata from CreateMultipartUpload: got %v, want origin=multipart", got.Metadata)
	}
	part2Get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: key, PartNumber: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(part2Get.Body)
	part2Get.Body.Close()
	if string(body) != string(part2) || aws.ToInt32(part2Get.PartsCount) != 2 {
		t.Fatalf("GetObject partNumber=2: got %q with PartsCount %d, want %q and 2", body, aws.ToInt32(part2Get.PartsCount), part2)
	}
	_, err = c.ListParts(ctx, &s3.ListPartsInput{Bucket: bucket, Key: key, UploadId: id})
	wantCode(t, err, "NoSuchUpload", http.StatusNotFound)
}

func TestMultipartRejectsSmallPartsAndAbortCleansUp(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	c, ctx := e.admin(), context.Background()
	bucket, key := aws.String("alpha"), aws.String("small")
	create, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: bucket, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	var completed []types.CompletedPart
	for n := int32(1); n <= 2; n++ {
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: bucket, Key: key, UploadId: create.UploadId,
			PartNumber: aws.Int32(n), Body: strings.NewReader("tiny")})
		if err != nil {
			t.Fatal(err)
		}
		completed = append(completed, types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag})
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: bucket, Key: key, UploadId: create.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed}})
	wantCode(t, err, "EntityTooSmall", http.StatusBadRequest)

	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: bucket, Key: key, UploadId: create.UploadId}); err != nil {
		t.Fatalf("AbortMultipartUpload: %v", err)
	}
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: bucket, Key: key, UploadId: create.UploadId,
		PartNumber: aws.Int32(3), Body: strings.NewReader("late")})
	wantCode(t, err, "NoSuchUpload", http.StatusNotFound)
	if n := countFiles(t, filepath.Join(e.dir, "blobs")); n != 0 {
		t.Fatalf("blob files after abort: got %d, want 0", n)
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
