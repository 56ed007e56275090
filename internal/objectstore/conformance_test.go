package objectstore_test

// Tests of the S3 behaviours issue 11 found missing or wrong with versitygw's integration suite (which
// scripts/conformance-s3.sh runs in CI). Each drives the store the way a client does.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/goldenpathidp/goldenpath/internal/objectstore"
)

var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)

// fullObjectChecksum is the base64 full-object checksum of data, as S3 computes it.
func fullObjectChecksum(t *testing.T, algo types.ChecksumAlgorithm, data []byte) string {
	t.Helper()
	var sum []byte
	switch algo {
	case types.ChecksumAlgorithmCrc32:
		sum = binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(data))
	case types.ChecksumAlgorithmCrc32c:
		sum = binary.BigEndian.AppendUint32(nil, crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	case types.ChecksumAlgorithmCrc64nvme:
		sum = binary.BigEndian.AppendUint64(nil, crc64.Checksum(data, crc64NVME))
	default:
		t.Fatalf("no full-object checksum for %s", algo)
	}
	return base64.StdEncoding.EncodeToString(sum)
}

// noChecksumClient sends no flexible checksum unless asked, as older SDKs and most tools do.
func (e *env) noChecksumClient() *s3.Client {
	return e.client(adminKey, adminSecret, func(o *s3.Options) {
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.RetryMaxAttempts = 1
	})
}

func TestMultipartFullObjectChecksumIsAccepted(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	ctx := context.Background()
	c := e.admin()
	data := randomBytes(t, 5*mib+1234)
	for _, algo := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmCrc64nvme} {
		t.Run(string(algo), func(t *testing.T) {
			key := aws.String("full/" + string(algo))
			mp, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("alpha"), Key: key,
				ChecksumAlgorithm: algo, ChecksumType: types.ChecksumTypeFullObject})
			if err != nil {
				t.Fatal(err)
			}
			if mp.ChecksumAlgorithm != algo || mp.ChecksumType != types.ChecksumTypeFullObject {
				t.Fatalf("CreateMultipartUpload echoes %q/%q, want %s/FULL_OBJECT", mp.ChecksumAlgorithm, mp.ChecksumType, algo)
			}
			var parts []types.CompletedPart
			for i, chunk := range [][]byte{data[:5*mib], data[5*mib:]} {
				n := aws.Int32(int32(i + 1))
				up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("alpha"), Key: key, UploadId: mp.UploadId,
					PartNumber: n, Body: bytes.NewReader(chunk), ChecksumAlgorithm: algo})
				if err != nil {
					t.Fatal(err)
				}
				parts = append(parts, types.CompletedPart{PartNumber: n, ETag: up.ETag, ChecksumCRC32: up.ChecksumCRC32,
					ChecksumCRC32C: up.ChecksumCRC32C, ChecksumCRC64NVME: up.ChecksumCRC64NVME})
			}
			want := fullObjectChecksum(t, algo, data)
			in := &s3.CompleteMultipartUploadInput{Bucket: aws.String("alpha"), Key: key, UploadId: mp.UploadId,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}, ChecksumType: types.ChecksumTypeFullObject}
			switch algo {
			case types.ChecksumAlgorithmCrc32:
				in.ChecksumCRC32 = &want
			case types.ChecksumAlgorithmCrc32c:
				in.ChecksumCRC32C = &want
			default:
				in.ChecksumCRC64NVME = &want
			}
			done, err := c.CompleteMultipartUpload(ctx, in)
			if err != nil {
				t.Fatalf("CompleteMultipartUpload with the right full-object %s: %v", algo, err)
			}
			got := aws.ToString(done.ChecksumCRC32) + aws.ToString(done.ChecksumCRC32C) + aws.ToString(done.ChecksumCRC64NVME)
			if got != want || done.ChecksumType != types.ChecksumTypeFullObject {
				t.Fatalf("CompleteMultipartUpload: checksum %q type %q, want %q FULL_OBJECT", got, done.ChecksumType, want)
			}
			// Completing it again is idempotent, as S3's is.
			again, err := c.CompleteMultipartUpload(ctx, in)
			if err != nil || aws.ToString(again.ETag) != aws.ToString(done.ETag) {
				t.Fatalf("repeated CompleteMultipartUpload: %v (ETag %s, want %s)", err, aws.ToString(again.ETag), aws.ToString(done.ETag))
			}
			list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("alpha"), Prefix: key})
			if err != nil || len(list.Contents) != 1 {
				t.Fatalf("ListObjectsV2: %v %v", list, err)
			}
			if o := list.Contents[0]; len(o.ChecksumAlgorithm) != 1 || o.ChecksumAlgorithm[0] != algo || o.ChecksumType != types.ChecksumTypeFullObject {
				t.Fatalf("listed checksum %v %q, want %s FULL_OBJECT", o.ChecksumAlgorithm, o.ChecksumType, algo)
			}
		})
	}
}

func TestMultipartCompositeChecksumAndStrayFinalChecksum(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	ctx := context.Background()
	c := e.admin()
	upload := func(key string, algo types.ChecksumAlgorithm) (*s3.CreateMultipartUploadOutput, []types.CompletedPart) {
		mp, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("alpha"), Key: aws.String(key),
			ChecksumAlgorithm: algo})
		if err != nil {
			t.Fatal(err)
		}
		var parts []types.CompletedPart
		for i, size := range []int{5 * mib, 10} {
			n := aws.Int32(int32(i + 1))
			up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("alpha"), Key: aws.String(key), UploadId: mp.UploadId,
				PartNumber: n, Body: bytes.NewReader(randomBytes(t, size)), ChecksumAlgorithm: algo})
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, types.CompletedPart{PartNumber: n, ETag: up.ETag, ChecksumSHA256: up.ChecksumSHA256})
		}
		return mp, parts
	}

	mp, parts := upload("composite", types.ChecksumAlgorithmSha256)
	if mp.ChecksumType != types.ChecksumTypeComposite {
		t.Fatalf("a SHA256 upload's type: got %q, want COMPOSITE", mp.ChecksumType)
	}
	done, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("alpha"), Key: aws.String("composite"),
		UploadId: mp.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(aws.ToString(done.ChecksumSHA256), "-2") || done.ChecksumType != types.ChecksumTypeComposite {
		t.Fatalf("Complete: checksum %q type %q, want a composite SHA256 ending in -2", aws.ToString(done.ChecksumSHA256), done.ChecksumType)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("alpha"), Key: aws.String("composite"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil || aws.ToString(head.ChecksumSHA256) != aws.ToString(done.ChecksumSHA256) {
		t.Fatalf("HeadObject: %v, checksum %q, want %q", err, aws.ToString(head.ChecksumSHA256), aws.ToString(done.ChecksumSHA256))
	}

	// An upload created without a checksum ignores a final one, as S3 does; the object gets CRC64NVME.
	mp, parts = upload("plain", "")
	stray := "AAAAAA=="
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("alpha"), Key: aws.String("plain"),
		UploadId: mp.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}, ChecksumCRC32: &stray}); err != nil {
		t.Fatalf("Complete with a stray final checksum: %v", err)
	}
	head, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("alpha"), Key: aws.String("plain"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil || aws.ToString(head.ChecksumCRC64NVME) == "" {
		t.Fatalf("HeadObject of an upload without checksum: %v, CRC64NVME %q, want the default one", err, aws.ToString(head.ChecksumCRC64NVME))
	}
}

func TestPutObjectGetsDefaultCRC64NVME(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	data := []byte("no checksum sent")
	out, err := e.noChecksumClient().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("alpha"),
		Key: aws.String("k"), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(out.ChecksumCRC64NVME), fullObjectChecksum(t, types.ChecksumAlgorithmCrc64nvme, data); got != want {
		t.Fatalf("CRC64NVME: got %q, want %q", got, want)
	}
}

func TestCopyObjectChecksumsTagsAndDirectives(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	ctx := context.Background()
	c := e.admin()
	src, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("alpha"), Key: aws.String("src"), Body: strings.NewReader("copy me"),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c, Tagging: aws.String("a=1&b=2"), WebsiteRedirectLocation: aws.String("/elsewhere"),
		Metadata: map[string]string{"m": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	copySrc := aws.String("alpha/src")

	kept, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("alpha"), Key: aws.String("kept"), CopySource: copySrc})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(kept.CopyObjectResult.ChecksumCRC32C); got == "" || got != aws.ToString(src.ChecksumCRC32C) {
		t.Fatalf("copy carries CRC32C %q, want the source's %q", got, aws.ToString(src.ChecksumCRC32C))
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("alpha"), Key: aws.String("kept")})
	if err != nil {
		t.Fatal(err)
	}
	if head.WebsiteRedirectLocation != nil || head.Metadata["m"] != "v" || aws.ToInt32(head.TagCount) != 2 {
		t.Fatalf("copy: redirect %v (S3 does not copy it), metadata %v, %d tags; want none, m=v, 2",
			aws.ToString(head.WebsiteRedirectLocation), head.Metadata, aws.ToInt32(head.TagCount))
	}

	sha, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("alpha"), Key: aws.String("sha"), CopySource: copySrc,
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256, TaggingDirective: types.TaggingDirectiveReplace, Tagging: aws.String("c=3")})
	if err != nil {
		t.Fatal(err)
	}
	if sha.CopyObjectResult.ChecksumSHA256 == nil || sha.CopyObjectResult.ChecksumCRC32C != nil {
		t.Fatalf("a copy asking for SHA256: got SHA256 %v CRC32C %v, want SHA256 only",
			aws.ToString(sha.CopyObjectResult.ChecksumSHA256), aws.ToString(sha.CopyObjectResult.ChecksumCRC32C))
	}
	tags, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("alpha"), Key: aws.String("sha")})
	if err != nil || len(tags.TagSet) != 1 || aws.ToString(tags.TagSet[0].Key) != "c" {
		t.Fatalf("tagging directive REPLACE: got %v %v, want c=3 only", tags, err)
	}

	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("alpha"), Key: aws.String("x"), CopySource: copySrc,
		TaggingDirective: types.TaggingDirective("SOMETIMES")})
	wantCode(t, err, "InvalidArgument", http.StatusBadRequest)
	for _, bad := range []string{"alpha/%ZZ", "Not_A_Bucket/key", "alpha/"} {
		_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("alpha"), Key: aws.String("x"), CopySource: aws.String(bad)})
		wantCode(t, err, "InvalidArgument", http.StatusBadRequest)
	}
	// Object Lock is not offered: its headers are checked, then refused.
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("alpha"), Key: aws.String("x"), CopySource: copySrc,
		ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn})
	wantCode(t, err, "InvalidRequest", http.StatusBadRequest)
}

func TestListMultipartUploadsKeyMarkerAndDelimiter(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	ctx := context.Background()
	c := e.admin()
	for _, key := range []string{"a/1", "a/2", "b", "c"} {
		if _, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("alpha"), Key: aws.String(key)}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("alpha"), KeyMarker: aws.String("b")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Uploads) != 1 || aws.ToString(out.Uploads[0].Key) != "c" {
		t.Fatalf("after key-marker b: got %d uploads, want only c's", len(out.Uploads))
	}
	out, err = c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("alpha"), Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.CommonPrefixes) != 1 || aws.ToString(out.CommonPrefixes[0].Prefix) != "a/" || len(out.Uploads) != 2 {
		t.Fatalf("with delimiter /: prefixes %v and %d uploads, want a/ and b, c", out.CommonPrefixes, len(out.Uploads))
	}
}

func TestListObjectsV2StartAfterACommonPrefix(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	ctx := context.Background()
	c := e.admin()
	putAll(t, c, "alpha", []string{"asdf", "boo/bar", "boo/baz/xyzzy", "cquux/thud", "cquux/bla"})
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("alpha"), StartAfter: aws.String("boo/"),
		Delimiter: aws.String("/"), MaxKeys: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.CommonPrefixes) != 1 || aws.ToString(out.CommonPrefixes[0].Prefix) != "cquux/" || aws.ToBool(out.IsTruncated) {
		t.Fatalf("StartAfter boo/: prefixes %v truncated %v, want [cquux/] and the end", out.CommonPrefixes, aws.ToBool(out.IsTruncated))
	}
	// A continuation token and a later StartAfter: the listing starts after the later of the two.
	first, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("alpha"), MaxKeys: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	rest, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("alpha"), ContinuationToken: first.NextContinuationToken,
		StartAfter: aws.String("boo/baz/xyzzy")})
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(rest.Contents); strings.Join(got, ",") != "cquux/bla,cquux/thud" {
		t.Fatalf("token after asdf, StartAfter boo/baz/xyzzy: got %v", got)
	}
}

func TestRangesOnEmptyObjectsAndPartNumbers(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	ctx := context.Background()
	c := e.noChecksumClient()
	e.put(c, "alpha", "empty", "")
	e.put(c, "alpha", "ten", "0123456789")

	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("alpha"), Key: aws.String("empty"), Range: aws.String("bytes=-1")})
	if err != nil {
		t.Fatalf("suffix range on an empty object: %v (S3 serves it whole)", err)
	}
	got.Body.Close()
	if got.ContentRange != nil || aws.ToInt64(got.ContentLength) != 0 {
		t.Fatalf("suffix range on an empty object: Content-Range %q length %d", aws.ToString(got.ContentRange), aws.ToInt64(got.ContentLength))
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("alpha"), Key: aws.String("empty"), Range: aws.String("bytes=0-0")})
	wantCode(t, err, "InvalidRange", http.StatusRequestedRangeNotSatisfiable)

	part, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("alpha"), Key: aws.String("ten"), PartNumber: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	part.Body.Close()
	if aws.ToString(part.ContentRange) != "bytes 0-9/10" {
		t.Fatalf("partNumber=1 of a single-part object: Content-Range %q, want bytes 0-9/10", aws.ToString(part.ContentRange))
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("alpha"), Key: aws.String("missing"), PartNumber: aws.Int32(-3)})
	wantCode(t, err, "InvalidArgument", http.StatusBadRequest)
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("alpha"), Key: aws.String("ten"), PartNumber: aws.Int32(2)})
	wantCode(t, err, "InvalidPartNumber", http.StatusRequestedRangeNotSatisfiable)
}

func TestUploadPartCopy(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	e.createBucket("beta", objectstore.BucketOptions{})
	ctx := context.Background()
	admin := e.admin()
	src := randomBytes(t, 5*mib+100)
	if _, err := admin.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("beta"), Key: aws.String("src"), Body: bytes.NewReader(src)}); err != nil {
		t.Fatal(err)
	}
	mp, err := admin.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("alpha"), Key: aws.String("dst"),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	if err != nil {
		t.Fatal(err)
	}
	copyPart := func(c *s3.Client, n int32, rng string, opt func(*s3.UploadPartCopyInput)) (*s3.UploadPartCopyOutput, error) {
		in := &s3.UploadPartCopyInput{Bucket: aws.String("alpha"), Key: aws.String("dst"), UploadId: mp.UploadId,
			PartNumber: aws.Int32(n), CopySource: aws.String("beta/src")}
		if rng != "" {
			in.CopySourceRange = aws.String(rng)
		}
		if opt != nil {
			opt(in)
		}
		return c.UploadPartCopy(ctx, in)
	}
	p1, err := copyPart(admin, 1, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(p1.CopyPartResult.ChecksumCRC32) == "" {
		t.Fatal("UploadPartCopy into a CRC32 upload returned no CRC32")
	}
	p2, err := copyPart(admin, 2, "bytes=100-200", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"bytes=200-100", "byte=1-2", "bytes=1-"} {
		_, err = copyPart(admin, 3, bad, nil)
		wantCode(t, err, "InvalidArgument", http.StatusBadRequest)
	}
	_, err = copyPart(admin, 3, "bytes=0-99999999", nil)
	wantCode(t, err, "InvalidArgument", http.StatusBadRequest)
	_, err = copyPart(admin, 3, "", func(in *s3.UploadPartCopyInput) { in.CopySourceIfMatch = aws.String(`"nope"`) })
	wantCode(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
	// alice may use alpha, not beta: she cannot copy beta's bytes into her upload.
	_, err = copyPart(e.client(aliceKey, aliceSecret), 3, "", nil)
	wantCode(t, err, "AccessDenied", http.StatusForbidden)

	_, err = admin.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("alpha"), Key: aws.String("dst"),
		UploadId: mp.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{
			{PartNumber: aws.Int32(1), ETag: p1.CopyPartResult.ETag, ChecksumCRC32: p1.CopyPartResult.ChecksumCRC32},
			{PartNumber: aws.Int32(2), ETag: p2.CopyPartResult.ETag, ChecksumCRC32: p2.CopyPartResult.ChecksumCRC32}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte{}, src...), src[100:201]...)
	if got := e.get(admin, "alpha", "dst"); got != string(want) {
		t.Fatalf("assembled copy: %d bytes, want %d (the source, then its bytes 100-200)", len(got), len(want))
	}
}

func TestGetObjectAttributes(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	ctx := context.Background()
	c := e.admin()
	put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("alpha"), Key: aws.String("one"), Body: strings.NewReader("hello"),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
	if err != nil {
		t.Fatal(err)
	}
	all := []types.ObjectAttributes{types.ObjectAttributesEtag, types.ObjectAttributesObjectSize, types.ObjectAttributesStorageClass,
		types.ObjectAttributesChecksum, types.ObjectAttributesObjectParts}
	out, err := c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String("alpha"), Key: aws.String("one"), ObjectAttributes: all})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.ETag) != strings.Trim(aws.ToString(put.ETag), `"`) || aws.ToInt64(out.ObjectSize) != 5 ||
		out.StorageClass != types.StorageClassStandard || out.LastModified == nil || out.ObjectParts != nil {
		t.Fatalf("GetObjectAttributes: ETag %q size %d class %q parts %v", aws.ToString(out.ETag), aws.ToInt64(out.ObjectSize), out.StorageClass, out.ObjectParts)
	}
	if out.Checksum == nil || aws.ToString(out.Checksum.ChecksumSHA256) != aws.ToString(put.ChecksumSHA256) {
		t.Fatalf("GetObjectAttributes checksum: %+v, want SHA256 %s", out.Checksum, aws.ToString(put.ChecksumSHA256))
	}
	sizeOnly, err := c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String("alpha"), Key: aws.String("one"),
		ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesObjectSize}})
	if err != nil || sizeOnly.ETag != nil || sizeOnly.Checksum != nil {
		t.Fatalf("only ObjectSize asked: got ETag %v checksum %v (%v)", sizeOnly.ETag, sizeOnly.Checksum, err)
	}

	mp, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("alpha"), Key: aws.String("multi")})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	for i, size := range []int{5 * mib, 7} {
		n := aws.Int32(int32(i + 1))
		up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("alpha"), Key: aws.String("multi"), UploadId: mp.UploadId,
			PartNumber: n, Body: bytes.NewReader(randomBytes(t, size))})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: n, ETag: up.ETag})
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("alpha"), Key: aws.String("multi"),
		UploadId: mp.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}
	out, err = c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String("alpha"), Key: aws.String("multi"),
		ObjectAttributes: all, MaxParts: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	op := out.ObjectParts
	if op == nil || aws.ToInt32(op.TotalPartsCount) != 2 || len(op.Parts) != 1 || !aws.ToBool(op.IsTruncated) || aws.ToInt64(op.Parts[0].Size) != 5*mib {
		t.Fatalf("ObjectParts with MaxParts 1: %+v", op)
	}

	_, err = c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String("alpha"), Key: aws.String("one"),
		ObjectAttributes: []types.ObjectAttributes{"Colour"}})
	wantCode(t, err, "InvalidArgument", http.StatusBadRequest)
	_, err = c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String("alpha"), Key: aws.String("one"),
		ObjectAttributes: []types.ObjectAttributes{}})
	wantCode(t, err, "InvalidRequest", http.StatusBadRequest)
	_, err = c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String("alpha"), Key: aws.String("nope"), ObjectAttributes: all})
	wantCode(t, err, "NoSuchKey", http.StatusNotFound)
}

func TestDeleteObjectConditions(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	ctx := context.Background()
	c := e.noChecksumClient()
	put := e.put(c, "alpha", "k", "data")
	_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("alpha"), Key: aws.String("k"), IfMatch: aws.String(`"other"`)})
	wantCode(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("alpha"), Key: aws.String("k"), IfMatchSize: aws.Int64(99)})
	wantCode(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
	if e.get(c, "alpha", "k") != "data" {
		t.Fatal("a refused conditional delete removed the object")
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("alpha"), Key: aws.String("k"), IfMatch: put.ETag,
		IfMatchSize: aws.Int64(4)}); err != nil {
		t.Fatalf("DeleteObject whose conditions hold: %v", err)
	}
}

// postForm builds the multipart body of a browser form: the fields, then the file.
func postForm(t *testing.T, fields map[string]string, file []byte) (*bytes.Buffer, string) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := w.CreateFormFile("file", "upload.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(file); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &body, w.FormDataContentType()
}

func postFormTo(t *testing.T, url string, fields map[string]string, file []byte) (int, http.Header, string) {
	t.Helper()
	body, ct := postForm(t, fields, file)
	resp, err := http.Post(url, ct, body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// Browser form uploads, with forms the AWS SDK's presigned POST builder makes (as boto3's
// generate_presigned_post does for web apps).
func TestPostObjectPolicyUploads(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	e.createBucket("beta", objectstore.BucketOptions{})
	ctx := context.Background()
	presign := func(key, secret, bucket string, conds []any, expires time.Duration) *s3.PresignedPostRequest {
		t.Helper()
		p, err := s3.NewPresignClient(e.client(key, secret)).PresignPostObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket),
			Key: aws.String("uploads/${filename}")}, func(o *s3.PresignPostOptions) {
			o.Conditions = append([]any{[]any{"starts-with", "$key", "uploads/"}}, conds...)
			o.Expires = expires
		})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	with := func(values map[string]string, extra ...string) map[string]string {
		out := map[string]string{}
		for k, v := range values {
			out[k] = v
		}
		for i := 0; i+1 < len(extra); i += 2 {
			out[extra[i]] = extra[i+1]
		}
		return out
	}

	p := presign(aliceKey, aliceSecret, "alpha", []any{[]any{"content-length-range", 1, 100}, []any{"eq", "$Content-Type", "text/plain"},
		map[string]string{"success_action_status": "201"}}, time.Hour)
	status, h, body := postFormTo(t, p.URL, with(p.Values, "Content-Type", "text/plain", "success_action_status", "201"), []byte("from a browser"))
	if status != http.StatusCreated || !strings.Contains(body, "<Key>uploads/upload.txt</Key>") || h.Get("ETag") == "" {
		t.Fatalf("POST form upload: %d %s", status, body)
	}
	if got := e.get(e.admin(), "alpha", "uploads/upload.txt"); got != "from a browser" {
		t.Fatalf("uploaded object: %q", got)
	}
	head, err := e.admin().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("alpha"), Key: aws.String("uploads/upload.txt")})
	if err != nil || aws.ToString(head.ContentType) != "text/plain" {
		t.Fatalf("HeadObject: %v, Content-Type %q", err, aws.ToString(head.ContentType))
	}

	for _, tt := range []struct {
		name         string
		fields       map[string]string
		file         []byte
		status       int
		code, phrase string
	}{
		{"too large", with(p.Values, "Content-Type", "text/plain", "success_action_status", "201"), bytes.Repeat([]byte("x"), 101),
			http.StatusBadRequest, "EntityTooLarge", ""},
		{"condition fails", with(p.Values, "Content-Type", "image/png", "success_action_status", "201"), []byte("x"),
			http.StatusForbidden, "AccessDenied", "Policy Condition failed"},
		{"field the policy does not name", with(p.Values, "Content-Type", "text/plain", "success_action_status", "201", "x-amz-meta-sneaky", "1"),
			[]byte("x"), http.StatusForbidden, "AccessDenied", "Extra input fields: x-amz-meta-sneaky"},
		{"tampered policy", with(p.Values, "policy", base64.StdEncoding.EncodeToString([]byte(`{"expiration":"2999-01-01T00:00:00Z","conditions":[]}`))),
			[]byte("x"), http.StatusForbidden, "SignatureDoesNotMatch", ""},
		{"no signature at all", map[string]string{"key": "uploads/anon"}, []byte("x"), http.StatusForbidden, "AccessDenied", ""},
		{"Signature Version 2", map[string]string{"key": "uploads/v2", "AWSAccessKeyId": aliceKey, "policy": p.Values["policy"], "signature": "abc"},
			[]byte("x"), http.StatusBadRequest, "InvalidRequest", "Signature Version 2 is not supported"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := postFormTo(t, p.URL, tt.fields, tt.file)
			if status != tt.status || !strings.Contains(body, "<Code>"+tt.code+"</Code>") || !strings.Contains(body, tt.phrase) {
				t.Fatalf("got %d %s, want %d %s %q", status, body, tt.status, tt.code, tt.phrase)
			}
		})
	}

	// alice's signed form cannot upload into a bucket her key may not use.
	pb := presign(aliceKey, aliceSecret, "beta", nil, time.Hour)
	if status, _, body := postFormTo(t, pb.URL, pb.Values, []byte("x")); status != http.StatusForbidden {
		t.Fatalf("alice's form for beta: %d %s, want 403", status, body)
	}
	// A form whose policy expired is refused.
	pe := presign(adminKey, adminSecret, "alpha", nil, time.Second)
	e.close()
	e.open(withNow(func() time.Time { return time.Now().Add(time.Hour) }))
	pe.URL = e.srv.URL + "/alpha"
	if status, _, body := postFormTo(t, pe.URL, pe.Values, []byte("x")); status != http.StatusForbidden || !strings.Contains(body, "Policy expired") {
		t.Fatalf("expired policy: %d %s", status, body)
	}
}

func TestSigV2IsRefusedAsSuch(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	for _, tt := range []struct {
		name   string
		mutate func(*http.Request)
	}{
		{"header", func(r *http.Request) { r.Header.Set("Authorization", "AWS "+adminKey+":c2lnbmF0dXJl") }},
		{"presigned URL", func(r *http.Request) {
			r.URL.RawQuery = "AWSAccessKeyId=" + adminKey + "&Expires=9999999999&Signature=c2ln"
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/alpha/k", nil)
			if err != nil {
				t.Fatal(err)
			}
			tt.mutate(req)
			status, body := do(t, req)
			if status != http.StatusBadRequest || !strings.Contains(body, "Signature Version 2 is not supported") {
				t.Fatalf("got %d %s", status, body)
			}
		})
	}
}

// aws-chunked bodies: S3's framing errors, codes and least chunk size.
func TestChunkedBodyErrors(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	put := func(body, trailer string, decoded int) (int, string) {
		req, err := http.NewRequest(http.MethodPut, e.srv.URL+"/alpha/chunked", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(decoded))
		req.Header.Set("Content-Encoding", "aws-chunked")
		if trailer != "" {
			req.Header.Set("X-Amz-Trailer", trailer)
		}
		signRaw(t, req, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", time.Now())
		return do(t, req)
	}
	small := strings.Repeat("a", 10)
	for _, tt := range []struct {
		name, body, trailer string
		decoded             int
		code                string
	}{
		{"LF line ending", "A\n" + small + "\r\n0\r\n\r\n", "", 10, "IncompleteBody"},
		{"no closing blank line", "A\r\n" + small + "\r\n0\r\n", "", 10, "IncompleteBody"},
		{"announced trailer missing", "A\r\n" + small + "\r\n0\r\n\r\n", "x-amz-checksum-crc32", 10, "MalformedTrailerError"},
		{"trailer not announced", "A\r\n" + small + "\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", "", 10, "MalformedTrailerError"},
		{"small chunk before the last", "A\r\n" + small + "\r\nA\r\n" + small + "\r\n0\r\n\r\n", "", 20, "InvalidChunkSizeError"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := put(tt.body, tt.trailer, tt.decoded)
			if status != http.StatusBadRequest || !strings.Contains(body, "<Code>"+tt.code+"</Code>") {
				t.Fatalf("got %d %s, want 400 %s", status, body, tt.code)
			}
		})
	}
	big := strings.Repeat("b", 8192)
	if status, body := put("2000\r\n"+big+"\r\nA\r\n"+small+"\r\n0\r\n\r\n", "", 8202); status != http.StatusOK {
		t.Fatalf("an 8 KiB chunk then a small last one: %d %s", status, body)
	}
}

// x-amz-copy-source-if-*: If-Match overrides If-Unmodified-Since, and a source the conditions say was not
// modified fails the copy with 412, as S3 documents.
func TestCopySourceConditions(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	ctx := context.Background()
	c := e.noChecksumClient()
	put := e.put(c, "alpha", "src", "data")
	past := time.Now().Add(-72 * time.Hour)
	copyWith := func(opt func(*s3.CopyObjectInput)) error {
		in := &s3.CopyObjectInput{Bucket: aws.String("alpha"), Key: aws.String("dst"), CopySource: aws.String("alpha/src")}
		opt(in)
		_, err := c.CopyObject(ctx, in)
		return err
	}
	if err := copyWith(func(in *s3.CopyObjectInput) {
		in.CopySourceIfMatch, in.CopySourceIfUnmodifiedSince = put.ETag, &past
	}); err != nil {
		t.Fatalf("If-Match true, If-Unmodified-Since false: %v, want the copy (If-Match wins)", err)
	}
	wantCode(t, copyWith(func(in *s3.CopyObjectInput) { in.CopySourceIfNoneMatch = put.ETag }), "PreconditionFailed", http.StatusPreconditionFailed)
	wantCode(t, copyWith(func(in *s3.CopyObjectInput) { in.CopySourceIfMatch = aws.String(`"other"`) }), "PreconditionFailed", http.StatusPreconditionFailed)
	if err := copyWith(func(in *s3.CopyObjectInput) {
		in.CopySourceIfNoneMatch, in.CopySourceIfModifiedSince = aws.String(`"other"`), aws.Time(time.Now().Add(time.Hour))
	}); err != nil {
		t.Fatalf("If-None-Match true, If-Modified-Since false: %v, want the copy (If-None-Match wins)", err)
	}
}
