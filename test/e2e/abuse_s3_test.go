package e2e

// S3 browser form uploads (POST policy) in the security matrix: a form is an S3 credential only when its
// policy is signed with a key that may use the bucket.

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// A developer of team search signs a browser form with search's S3 key and posts it into payments'
// bucket: refused. Payments' own form, signed with the bucket's key, uploads.
func TestAbuseS3FormUploadIntoAnotherTeamsBucket(t *testing.T) {
	e := start(t, startOptions{})
	tm := twoTeams(e)
	e.approveAndMerge(e.file(tm.alice, contractDoc("S3Request", "forms", "alice", "payments", "dev", "  size: small\n")), tm.paula)
	e.approveAndMerge(e.file(tm.seadev, contractDoc("S3Request", "forms-search", "seadev", "search", "dev", "  size: small\n")), tm.sara)
	e.waitPhase("s3.dev.forms", "Ready", 30*time.Second)
	e.waitPhase("s3.dev.forms-search", "Ready", 30*time.Second)
	payments := e.credentials("s3.dev.forms", tm.alice)
	search := e.credentials("s3.dev.forms-search", tm.seadev)
	bucket := str(payments, "outputs", "bucket")

	status, body := s3PostForm(t, e, search, bucket, "stolen")
	if status != http.StatusForbidden {
		t.Fatalf("search's form into payments' bucket: %d %s, want 403", status, body)
	}
	status, body = s3PostForm(t, e, payments, bucket, "mine")
	if status != http.StatusNoContent {
		t.Fatalf("payments' own form: %d %s, want 204", status, body)
	}
	out, err := s3Client(e, payments).GetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("mine")})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	if b, _ := io.ReadAll(out.Body); string(b) != "x" {
		t.Fatalf("the uploaded object holds %q", b)
	}
	if _, err := s3Client(e, payments).HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("stolen")}); err == nil {
		t.Fatal("search's refused form left an object in payments' bucket")
	}
}

// s3PostForm posts a form presigned with creds (with no accessKeyId: no signature) for bucket/key, holding "x".
func s3PostForm(t *testing.T, e *env, creds map[string]any, bucket, key string) (int, string) {
	t.Helper()
	fields := map[string]string{"key": key}
	if str(creds, "outputs", "accessKeyId") != "" {
		p, err := s3.NewPresignClient(s3Client(e, creds)).PresignPostObject(context.Background(),
			&s3.PutObjectInput{Bucket: &bucket, Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		fields = p.Values
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", "f.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(str(creds, "outputs", "endpoint")+"/"+bucket, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// s3FormStatus posts a browser form into payments' bucket as actor i: anonymous sends a form with no
// signature, search's users sign it with search's key, an admin with its API token as the secret.
func (w *world) s3FormStatus(i int) int {
	bucket := str(w.aliceS3, "outputs", "bucket")
	creds := w.aliceS3
	switch i {
	case 0:
		creds = map[string]any{"outputs": map[string]any{"endpoint": str(w.aliceS3, "outputs", "endpoint")}}
	case 1, 2:
		creds = w.searchS3
	case 4:
		creds = map[string]any{"outputs": map[string]any{"region": str(creds, "outputs", "region"), "endpoint": str(creds, "outputs", "endpoint"), "accessKeyId": "admin"},
			"secrets": map[string]any{"secretAccessKey": w.tokens[4]}}
	}
	status, _ := s3PostForm(w.e.t, w.e, creds, bucket, "form-upload")
	return status
}
