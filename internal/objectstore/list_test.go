package objectstore_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/goldenpathidp/goldenpath/internal/objectstore"
)

// putAll uploads keys concurrently, as several clients would.
func putAll(t *testing.T, c *s3.Client, bucket string, keys []string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(keys))
	sem := make(chan struct{}, 8)
	for _, k := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: strings.NewReader(k)})
			if err != nil {
				errs <- fmt.Errorf("PutObject(%q): %w", k, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestListObjectsV2PrefixAndDelimiter(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	putAll(t, e.admin(), "alpha", []string{
		"photos/2024/a.jpg", "photos/2024/b.jpg", "photos/2025/c.jpg", "photos/top.jpg",
		"docs/readme.md", "docs/guide/intro.md", "root.txt", "photos-old/x", "zeta/ü/é",
	})
	tests := []struct {
		name, prefix, delimiter string
		wantKeys, wantPrefixes  []string
	}{
		{name: "everything sorted", wantKeys: []string{"docs/guide/intro.md", "docs/readme.md", "photos-old/x",
			"photos/2024/a.jpg", "photos/2024/b.jpg", "photos/2025/c.jpg", "photos/top.jpg", "root.txt", "zeta/ü/é"}},
		{name: "top level", delimiter: "/", wantKeys: []string{"root.txt"},
			wantPrefixes: []string{"docs/", "photos-old/", "photos/", "zeta/"}},
		{name: "one level down", prefix: "photos/", delimiter: "/", wantKeys: []string{"photos/top.jpg"},
			wantPrefixes: []string{"photos/2024/", "photos/2025/"}},
		{name: "prefix without delimiter", prefix: "photos/2024/", wantKeys: []string{"photos/2024/a.jpg", "photos/2024/b.jpg"}},
		{name: "prefix is not a folder", prefix: "photos", delimiter: "/",
			wantPrefixes: []string{"photos-old/", "photos/"}},
		{name: "unicode folder", prefix: "zeta/", delimiter: "/", wantPrefixes: []string{"zeta/ü/"}},
		{name: "no match", prefix: "nothing/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &s3.ListObjectsV2Input{Bucket: aws.String("alpha")}
			if tt.prefix != "" {
				in.Prefix = aws.String(tt.prefix)
			}
			if tt.delimiter != "" {
				in.Delimiter = aws.String(tt.delimiter)
			}
			out, err := e.admin().ListObjectsV2(context.Background(), in)
			if err != nil {
				t.Fatalf("ListObjectsV2: %v", err)
			}
			var prefixes []string
			for _, p := range out.CommonPrefixes {
				prefixes = append(prefixes, aws.ToString(p.Prefix))
			}
			if got := keysOf(out.Contents); !slices.Equal(got, tt.wantKeys) {
				t.Errorf("keys: got %q, want %q", got, tt.wantKeys)
			}
			if !slices.Equal(prefixes, tt.wantPrefixes) {
				t.Errorf("common prefixes: got %q, want %q", prefixes, tt.wantPrefixes)
			}
			if got, want := aws.ToInt32(out.KeyCount), int32(len(tt.wantKeys)+len(tt.wantPrefixes)); got != want {
				t.Errorf("KeyCount: got %d, want %d", got, want)
			}
			for _, o := range out.Contents {
				if o.Owner != nil {
					t.Errorf("Owner of %s: got %+v without fetch-owner, want none", aws.ToString(o.Key), o.Owner)
				}
			}
		})
	}
}

func TestListObjectsV2PaginatesPast1000Keys(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	var keys []string
	for i := range 1100 {
		keys = append(keys, fmt.Sprintf("logs/%04d", i))
	}
	keys = append(keys, "logs/sub/a", "logs/sub/b", "top")
	putAll(t, e.admin(), "alpha", keys)
	sort.Strings(keys)

	tests := []struct {
		name      string
		maxKeys   int32
		delimiter string
		want      []string
		pages     int
	}{
		{name: "default page size", want: keys, pages: 2},
		{name: "small pages", maxKeys: 250, want: keys, pages: 5},
		{name: "pages with a common prefix", maxKeys: 100, delimiter: "/", want: []string{"logs/", "top"}, pages: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &s3.ListObjectsV2Input{Bucket: aws.String("alpha")}
			if tt.maxKeys > 0 {
				in.MaxKeys = aws.Int32(tt.maxKeys)
			}
			if tt.delimiter != "" {
				in.Delimiter = aws.String(tt.delimiter)
			}
			var got []string
			pages := 0
			for p := s3.NewListObjectsV2Paginator(e.admin(), in); p.HasMorePages(); {
				out, err := p.NextPage(context.Background())
				if err != nil {
					t.Fatalf("page %d: %v", pages+1, err)
				}
				pages++
				got = append(got, keysOf(out.Contents)...)
				for _, cp := range out.CommonPrefixes {
					got = append(got, aws.ToString(cp.Prefix))
				}
			}
			sort.Strings(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("listed %d entries, want %d (first difference matters: got %q..., want %q...)",
					len(got), len(tt.want), head(got), head(tt.want))
			}
			if pages != tt.pages {
				t.Errorf("pages: got %d, want %d", pages, tt.pages)
			}
		})
	}

	t.Run("fetch-owner", func(t *testing.T) {
		out, err := e.admin().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("alpha"),
			MaxKeys: aws.Int32(1), FetchOwner: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Contents) != 1 || out.Contents[0].Owner == nil || aws.ToString(out.Contents[0].Owner.ID) == "" {
			t.Fatalf("FetchOwner: got %+v, want one object with an owner", out.Contents)
		}
	})

	t.Run("start-after", func(t *testing.T) {
		out, err := e.admin().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("alpha"),
			StartAfter: aws.String("logs/1097"), MaxKeys: aws.Int32(3)})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := keysOf(out.Contents), []string{"logs/1098", "logs/1099", "logs/sub/a"}; !slices.Equal(got, want) {
			t.Fatalf("after logs/1097: got %q, want %q", got, want)
		}
		if !aws.ToBool(out.IsTruncated) {
			t.Fatal("IsTruncated: got false, want true (more keys follow)")
		}
	})
}

func head(s []string) []string { return s[:min(3, len(s))] }

func TestListObjectsV1Marker(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	putAll(t, e.admin(), "alpha", []string{"a", "b/1", "b/2", "c", "d"})
	ctx := context.Background()
	var got []string
	marker := ""
	for range 10 {
		out, err := e.admin().ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("alpha"), Delimiter: aws.String("/"),
			MaxKeys: aws.Int32(2), Marker: aws.String(marker)})
		if err != nil {
			t.Fatalf("ListObjects: %v", err)
		}
		got = append(got, keysOf(out.Contents)...)
		for _, cp := range out.CommonPrefixes {
			got = append(got, aws.ToString(cp.Prefix))
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		marker = aws.ToString(out.NextMarker)
	}
	sort.Strings(got)
	if want := []string{"a", "b/", "c", "d"}; !slices.Equal(got, want) {
		t.Fatalf("V1 listing with markers: got %q, want %q", got, want)
	}
}

func TestListBucketsShowsOnlyPermittedBuckets(t *testing.T) {
	e := newEnv(t)
	for _, b := range []string{"alpha", "beta", "gamma"} {
		e.createBucket(b, objectstore.BucketOptions{})
	}
	tests := []struct {
		name   string
		client *s3.Client
		want   []string
	}{
		{"admin sees all", e.admin(), []string{"alpha", "beta", "gamma"}},
		{"alice sees hers", e.client(aliceKey, aliceSecret), []string{"alpha"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.client.ListBuckets(context.Background(), &s3.ListBucketsInput{})
			if err != nil {
				t.Fatalf("ListBuckets: %v", err)
			}
			var got []string
			for _, b := range out.Buckets {
				got = append(got, aws.ToString(b.Name))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("buckets: got %q, want %q", got, tt.want)
			}
		})
	}
}
