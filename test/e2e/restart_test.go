package e2e

import (
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/goldenpathidp/goldenpath/internal/app"
)

// TestRestartKeepsEverything stops goldenpath and starts it again on the same data directory: users,
// tokens, change requests, repositories, images, buckets, objects and secrets are all still there, and a
// change request opened before the restart can still be merged after it.
func TestRestartKeepsEverything(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := start(t, startOptions{dir: dir})
	tm := cast(e)
	e.approveAndMerge(e.file(tm.alice, contractDoc("ECRRequest", "api", "alice", "payments", "dev", "  size: small\n")), tm.bob)
	e.approveAndMerge(e.file(tm.alice, contractDoc("S3Request", "docs", "alice", "payments", "dev", "  size: small\n")), tm.bob)
	e.approveAndMerge(e.file(tm.alice, contractDoc("SecretRequest", "token", "alice", "payments", "dev", "  description: x\n")), tm.bob)
	pending := e.file(tm.alice, contractDoc("SecretRequest", "later", "alice", "payments", "dev", "  description: x\n"))
	for _, id := range []string{"ecr.dev.api", "s3.dev.docs", "secret.dev.token"} {
		e.waitPhase(id, "Ready", 10*time.Second)
	}
	repo := str(e.credentials("ecr.dev.api", tm.alice), "outputs", "repository")
	ref, _ := name.ParseReference(strings.TrimPrefix(e.app.URL(), "http://") + "/" + repo + ":v1")
	img, _ := random.Image(1024, 1)
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "alice", Password: tm.alice})); err != nil {
		t.Fatal(err)
	}
	creds := e.credentials("s3.dev.docs", tm.alice)
	if _, err := s3Client(e, creds).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("docs-dev"), Key: aws.String("k"), Body: strings.NewReader("kept")}); err != nil {
		t.Fatal(err)
	}
	e.must(200, "PUT", "/api/v1/secrets/secret.dev.token", tm.alice, map[string]string{"value": "v1"})
	e.app.Close()

	again := start(t, startOptions{dir: dir})
	if again.app.AdminToken != "" {
		t.Error("a second start created another admin")
	}
	// Tokens issued before the restart still work; ports changed, so rebuild the clients.
	ref, _ = name.ParseReference(strings.TrimPrefix(again.app.URL(), "http://") + "/" + repo + ":v1")
	pulled, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: "alice", Password: tm.alice}))
	if err != nil {
		t.Fatalf("pulling after restart: %v", err)
	}
	if a, b := digest(pulled), digest(img); a != b {
		t.Errorf("pulled %s, pushed %s", a, b)
	}
	creds["outputs"].(map[string]any)["endpoint"] = again.app.S3URL()
	obj, err := s3Client(again, creds).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("docs-dev"), Key: aws.String("k")})
	if err != nil {
		t.Fatalf("reading the object after restart: %v", err)
	}
	body, _ := io.ReadAll(obj.Body)
	if string(body) != "kept" {
		t.Errorf("object = %q", body)
	}
	if v := again.must(200, "GET", "/api/v1/secrets/secret.dev.token", tm.alice, nil).field(t, "value"); v != "v1" {
		t.Errorf("secret after restart = %v", v)
	}
	again.approveAndMerge(pending, tm.bob)
	again.waitPhase("secret.dev.later", "Ready", 10*time.Second)
}

func digest(img v1.Image) string {
	d, _ := img.Digest()
	return d.String()
}

// TestOneProgramPerDataDir refuses a second goldenpath on a data directory in use, naming the holder,
// and lets one start once the first has stopped.
func TestOneProgramPerDataDir(t *testing.T) {
	dir := t.TempDir()
	e := start(t, startOptions{dir: dir})
	_, err := app.Start(context.Background(), app.Config{DataDir: dir, Addr: "127.0.0.1:0", S3Addr: "127.0.0.1:0",
		DNSAddr: "off", GatewayAddr: "off"})
	if err == nil || !strings.Contains(err.Error(), "in use by another goldenpath (pid "+strconv.Itoa(os.Getpid())+")") {
		t.Fatalf("a second start on %s: got %v, want it refused naming this process", dir, err)
	}
	e.app.Close()
	again := start(t, startOptions{dir: dir})
	again.must(200, "GET", "/api/v1/whoami", again.admin, nil)
}
