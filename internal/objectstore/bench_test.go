package objectstore_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/goldenpathidp/goldenpath/internal/objectstore"
)

func benchEnv(b *testing.B) (*env, *s3.Client) {
	e := newEnv(b)
	e.createBucket("bench", objectstore.BucketOptions{})
	return e, e.admin()
}

// BenchmarkPutGet1MiB measures one PutObject and one GetObject of 1 MiB through the
// SDK over loopback HTTP, signature and checksum verification included.
func BenchmarkPutGet1MiB(b *testing.B) {
	_, c := benchEnv(b)
	data := randomBytes(b, 1<<20)
	ctx := context.Background()
	b.SetBytes(2 << 20)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		key := aws.String(fmt.Sprintf("obj-%d", i%64))
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench"), Key: key, Body: bytes.NewReader(data)}); err != nil {
			b.Fatal(err)
		}
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bench"), Key: key})
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, out.Body); err != nil || n != int64(len(data)) {
			b.Fatalf("GetObject read %d bytes, %v", n, err)
		}
		out.Body.Close()
	}
}

// BenchmarkPutSmall measures the per-request overhead of a tiny PutObject.
func BenchmarkPutSmall(b *testing.B) {
	_, c := benchEnv(b)
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String(fmt.Sprintf("k-%d", i)),
			Body: bytes.NewReader([]byte("small"))}); err != nil {
			b.Fatal(err)
		}
	}
}
