package objectstore_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/goldenpathidp/goldenpath/internal/objectstore"
)

func TestPresignedGetAndPut(t *testing.T) {
	var offset atomic.Int64 // lets the test move the store's clock
	e := newEnv(t, withNow(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }))
	e.createBucket("alpha", objectstore.BucketOptions{})
	e.put(e.admin(), "alpha", "shared/report.txt", "quarterly numbers")
	presign := s3.NewPresignClient(e.client(aliceKey, aliceSecret))
	ctx := context.Background()

	get, err := presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("alpha"), Key: aws.String("shared/report.txt")},
		s3.WithPresignExpires(10*time.Minute))
	if err != nil {
		t.Fatalf("PresignGetObject: %v", err)
	}
	put, err := presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("alpha"), Key: aws.String("uploads/new.txt")},
		s3.WithPresignExpires(10*time.Minute))
	if err != nil {
		t.Fatalf("PresignPutObject: %v", err)
	}

	tests := []struct {
		name       string
		method     string
		url        string
		body       string
		clock      time.Duration
		wantStatus int
		wantBody   string
	}{
		{name: "get", method: http.MethodGet, url: get.URL, wantStatus: 200, wantBody: "quarterly numbers"},
		{name: "get other key with same signature", method: http.MethodGet,
			url: strings.Replace(get.URL, "report.txt", "other.txt", 1), wantStatus: 403, wantBody: "SignatureDoesNotMatch"},
		{name: "get after expiry", method: http.MethodGet, url: get.URL, clock: 11 * time.Minute, wantStatus: 403, wantBody: "Request has expired"},
		{name: "put", method: http.MethodPut, url: put.URL, body: "uploaded via presigned url", wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offset.Store(int64(tt.clock))
			defer offset.Store(0)
			req, err := http.NewRequest(tt.method, tt.url, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status: got %d (%s), want %d", resp.StatusCode, body, tt.wantStatus)
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Fatalf("body: got %q, want it to contain %q", body, tt.wantBody)
			}
		})
	}
	if got := e.get(e.admin(), "alpha", "uploads/new.txt"); got != "uploaded via presigned url" {
		t.Fatalf("object put through presigned URL: got %q", got)
	}
}
