package objectstore_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/goldenpathidp/goldenpath/internal/objectstore"
)

func getVersion(t *testing.T, c *s3.Client, bucket, key, versionID string) (string, error) {
	t.Helper()
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	out, err := c.GetObject(context.Background(), in)
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

func TestVersioningKeepsOldVersionsAndDeleteMarkers(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{Versioning: true})
	c, ctx := e.admin(), context.Background()

	v1 := aws.ToString(e.put(c, "alpha", "doc", "version one").VersionId)
	v2 := aws.ToString(e.put(c, "alpha", "doc", "version two!").VersionId)
	if v1 == "" || v2 == "" || v1 == v2 {
		t.Fatalf("version ids: got %q and %q, want two distinct ids", v1, v2)
	}
	if got, _ := getVersion(t, c, "alpha", "doc", ""); got != "version two!" {
		t.Errorf("latest: got %q, want version two!", got)
	}
	if got, err := getVersion(t, c, "alpha", "doc", v1); err != nil || got != "version one" {
		t.Errorf("GetObject versionId=v1: got %q, %v; want version one", got, err)
	}

	del, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("alpha"), Key: aws.String("doc")})
	if err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	marker := aws.ToString(del.VersionId)
	if !aws.ToBool(del.DeleteMarker) || marker == "" {
		t.Fatalf("DeleteObject: got DeleteMarker=%v VersionId=%q, want a delete marker with an id", aws.ToBool(del.DeleteMarker), marker)
	}
	_, err = getVersion(t, c, "alpha", "doc", "")
	wantCode(t, err, "NoSuchKey", http.StatusNotFound)
	_, err = getVersion(t, c, "alpha", "doc", marker)
	wantCode(t, err, "MethodNotAllowed", http.StatusMethodNotAllowed)
	if got, err := getVersion(t, c, "alpha", "doc", v2); err != nil || got != "version two!" {
		t.Errorf("old version after delete: got %q, %v; want version two!", got, err)
	}

	list, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("alpha")})
	if err != nil {
		t.Fatalf("ListObjectVersions: %v", err)
	}
	if len(list.Versions) != 2 || len(list.DeleteMarkers) != 1 {
		t.Fatalf("versions: got %d versions and %d markers, want 2 and 1", len(list.Versions), len(list.DeleteMarkers))
	}
	if got := aws.ToString(list.Versions[0].VersionId); got != v2 || aws.ToBool(list.Versions[0].IsLatest) {
		t.Errorf("newest version first, not latest: got %s latest=%v, want %s latest=false", got, aws.ToBool(list.Versions[0].IsLatest), v2)
	}
	if !aws.ToBool(list.DeleteMarkers[0].IsLatest) {
		t.Errorf("delete marker IsLatest: got false, want true")
	}
	objs, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("alpha")})
	if err != nil || len(objs.Contents) != 0 {
		t.Fatalf("ListObjectsV2 hides deleted keys: got %v, %v; want none", keysOf(objs.Contents), err)
	}

	// Removing the delete marker brings the object back.
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("alpha"), Key: aws.String("doc"), VersionId: aws.String(marker)}); err != nil {
		t.Fatalf("DeleteObject marker: %v", err)
	}
	if got, err := getVersion(t, c, "alpha", "doc", ""); err != nil || got != "version two!" {
		t.Fatalf("after removing delete marker: got %q, %v; want version two!", got, err)
	}
	// Deleting a specific version removes it for good.
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("alpha"), Key: aws.String("doc"), VersionId: aws.String(v2)}); err != nil {
		t.Fatalf("DeleteObject v2: %v", err)
	}
	if got, err := getVersion(t, c, "alpha", "doc", ""); err != nil || got != "version one" {
		t.Fatalf("after deleting v2: got %q, %v; want version one", got, err)
	}
	info, _, err := e.store.Bucket(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if info.Objects != 1 || info.SizeBytes != int64(len("version one")) {
		t.Fatalf("usage: got %d objects / %d bytes, want 1 / %d", info.Objects, info.SizeBytes, len("version one"))
	}
}

func TestBucketVersioningAPI(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	ctx := context.Background()
	status := func() types.BucketVersioningStatus {
		t.Helper()
		out, err := e.admin().GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("alpha")})
		if err != nil {
			t.Fatalf("GetBucketVersioning: %v", err)
		}
		return out.Status
	}
	if got := status(); got != "" {
		t.Fatalf("new bucket: got %q, want no status", got)
	}
	_, err := e.client(aliceKey, aliceSecret).PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("alpha"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	wantCode(t, err, "AccessDenied", http.StatusForbidden)

	_, err = e.admin().PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("alpha"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	if err != nil {
		t.Fatalf("PutBucketVersioning: %v", err)
	}
	if got := status(); got != types.BucketVersioningStatusEnabled {
		t.Fatalf("after enabling: got %q, want Enabled", got)
	}
	// Turning versioning off through the Go API suspends it, as S3 does.
	if _, err := e.store.CreateBucket(ctx, "alpha", objectstore.BucketOptions{Versioning: false}); err != nil {
		t.Fatal(err)
	}
	if got := status(); got != types.BucketVersioningStatusSuspended {
		t.Fatalf("after turning off: got %q, want Suspended", got)
	}
}

func TestSuspendedVersioningOverwritesNullVersion(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{Versioning: true})
	c, ctx := e.admin(), context.Background()
	kept := aws.ToString(e.put(c, "alpha", "k", "enabled-era").VersionId)
	e.createBucket("alpha", objectstore.BucketOptions{Versioning: false})
	e.put(c, "alpha", "k", "null one")
	e.put(c, "alpha", "k", "null two")
	list, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("alpha")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Versions) != 2 {
		t.Fatalf("versions: got %d, want 2 (the enabled-era one and a single null version)", len(list.Versions))
	}
	if got, err := getVersion(t, c, "alpha", "k", "null"); err != nil || got != "null two" {
		t.Fatalf("null version: got %q, %v; want null two", got, err)
	}
	if got, err := getVersion(t, c, "alpha", "k", kept); err != nil || got != "enabled-era" {
		t.Fatalf("enabled-era version: got %q, %v", got, err)
	}
}

func TestListObjectVersionsPagination(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{Versioning: true})
	c := e.admin()
	for _, k := range []string{"a", "b", "c"} {
		for range 3 {
			e.put(c, "alpha", k, k)
		}
	}
	var n int
	seen := map[string]bool{}
	for p := s3.NewListObjectVersionsPaginator(c, &s3.ListObjectVersionsInput{Bucket: aws.String("alpha"), MaxKeys: aws.Int32(2)}); p.HasMorePages(); {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range out.Versions {
			id := aws.ToString(v.Key) + "@" + aws.ToString(v.VersionId)
			if seen[id] {
				t.Fatalf("version %s listed twice", id)
			}
			seen[id] = true
			n++
		}
	}
	if n != 9 {
		t.Fatalf("paged through %d versions, want 9", n)
	}
}
