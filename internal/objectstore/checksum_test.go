package objectstore_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/goldenpathidp/goldenpath/internal/objectstore"
)

// The SDK computes each flexible checksum itself; the store must agree on every
// algorithm (or it would answer BadDigest) and hand the same value back on GET, which
// the SDK validates against the bytes it receives.
func TestFlexibleChecksumAlgorithms(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	data := randomBytes(t, 100_000)
	ctx := context.Background()
	tests := []struct {
		algo types.ChecksumAlgorithm
		put  func(*s3.PutObjectOutput) *string
		get  func(*s3.GetObjectOutput) *string
	}{
		{types.ChecksumAlgorithmCrc32, func(o *s3.PutObjectOutput) *string { return o.ChecksumCRC32 },
			func(o *s3.GetObjectOutput) *string { return o.ChecksumCRC32 }},
		{types.ChecksumAlgorithmCrc32c, func(o *s3.PutObjectOutput) *string { return o.ChecksumCRC32C },
			func(o *s3.GetObjectOutput) *string { return o.ChecksumCRC32C }},
		{types.ChecksumAlgorithmCrc64nvme, func(o *s3.PutObjectOutput) *string { return o.ChecksumCRC64NVME },
			func(o *s3.GetObjectOutput) *string { return o.ChecksumCRC64NVME }},
		{types.ChecksumAlgorithmSha1, func(o *s3.PutObjectOutput) *string { return o.ChecksumSHA1 },
			func(o *s3.GetObjectOutput) *string { return o.ChecksumSHA1 }},
		{types.ChecksumAlgorithmSha256, func(o *s3.PutObjectOutput) *string { return o.ChecksumSHA256 },
			func(o *s3.GetObjectOutput) *string { return o.ChecksumSHA256 }},
	}
	for _, tt := range tests {
		t.Run(string(tt.algo), func(t *testing.T) {
			key := aws.String("sum/" + string(tt.algo))
			put, err := e.admin().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("alpha"), Key: key,
				Body: bytes.NewReader(data), ChecksumAlgorithm: tt.algo})
			if err != nil {
				t.Fatalf("PutObject with %s: %v", tt.algo, err)
			}
			sent := aws.ToString(tt.put(put))
			if sent == "" {
				t.Fatalf("PutObject response carries no %s checksum", tt.algo)
			}
			get, err := e.admin().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("alpha"), Key: key, ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(get.Body) // the SDK fails this read if the checksum does not match
			get.Body.Close()
			if err != nil || !bytes.Equal(body, data) {
				t.Fatalf("GetObject: %d bytes, %v", len(body), err)
			}
			if got := aws.ToString(tt.get(get)); got != sent {
				t.Fatalf("GetObject %s: got %q, want %q", tt.algo, got, sent)
			}
		})
	}
}
