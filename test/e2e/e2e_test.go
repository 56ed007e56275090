package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/jackc/pgx/v5"
)

// team is the cast of the golden path: a developer, two approvers and a developer of another team.
type team struct {
	alice, bob, carol, mallory string
}

func cast(e *env) team {
	return team{
		alice:   e.user("alice", []string{"developer"}, "payments"),
		bob:     e.user("bob", []string{"approver"}, "platform"),
		carol:   e.user("carol", []string{"approver"}, "platform"),
		mallory: e.user("mallory", []string{"developer"}, "fraud"),
	}
}

func (e *env) credentials(id, token string) map[string]any {
	e.t.Helper()
	r := e.must(200, "GET", "/api/v1/requests/"+id+"/credentials", token, nil)
	var v map[string]any
	r.json(e.t, &v)
	for k, s := range v["secrets"].(map[string]any) {
		if k != "accessKeyId" { // an access key ID identifies a key, like a user name; logging it is normal
			e.secretsSeen = append(e.secretsSeen, s.(string))
		}
	}
	return v
}

func str(v map[string]any, group, key string) string {
	s, _ := v[group].(map[string]any)[key].(string)
	return s
}

func TestGoldenPath(t *testing.T) {
	e := start(t, startOptions{})
	tm := cast(e)
	t.Run("S3Request", func(t *testing.T) { e.t = t; s3Flow(e, tm) })
	t.Run("ECRRequest", func(t *testing.T) { e.t = t; ecrFlow(e, tm) })
	t.Run("SecretRequest", func(t *testing.T) { e.t = t; secretFlow(e, tm) })
	t.Run("EKSRequest", func(t *testing.T) { e.t = t; eksFlow(e, tm) })
	t.Run("RDSRequest", func(t *testing.T) { e.t = t; rdsFlow(e, tm, postgresURL(t)) })
	t.Run("prod needs two approvals", func(t *testing.T) { e.t = t; prodFlow(e, tm) })
	e.t = t
	// No secret handed out above ever reached the log (the program logs at debug level here).
	logs := e.log()
	for _, s := range e.secretsSeen {
		if strings.Contains(logs, s) {
			t.Errorf("a secret (%s...) appears in the log", s[:4])
		}
	}
	for _, tok := range []string{tm.alice, tm.bob, e.admin} {
		if strings.Contains(logs, tok) {
			t.Error("an API token appears in the log")
		}
	}
}

func s3Client(e *env, creds map[string]any) *s3.Client {
	cfg := aws.Config{Region: str(creds, "outputs", "region"),
		Credentials: credentials.NewStaticCredentialsProvider(str(creds, "outputs", "accessKeyId"), str(creds, "secrets", "secretAccessKey"), "")}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(str(creds, "outputs", "endpoint"))
		o.UsePathStyle = true
	})
}

func s3Flow(e *env, tm team) {
	t, ctx := e.t, context.Background()
	n := e.file(tm.alice, contractDoc("S3Request", "invoices", "alice", "payments", "dev", "  size: small\n  versioning: true\n"))
	e.waitPhase("s3.dev.invoices", "Pending", time.Second)
	e.approveAndMerge(n, tm.bob)
	e.waitPhase("s3.dev.invoices", "Ready", 10*time.Second)

	creds := e.credentials("s3.dev.invoices", tm.alice)
	if e.call("GET", "/api/v1/requests/s3.dev.invoices/credentials", tm.mallory, nil).status != 403 {
		t.Error("mallory (another team) could read alice's S3 keys")
	}
	cl := s3Client(e, creds)
	bucket := str(creds, "outputs", "bucket")
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("2026/11/inv-1.pdf"), Body: strings.NewReader("invoice #1")}); err != nil {
		t.Fatalf("PutObject with the issued keys: %v", err)
	}
	got, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("2026/11/inv-1.pdf")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	body, _ := io.ReadAll(got.Body)
	if string(body) != "invoice #1" {
		t.Errorf("got %q, want the object back", body)
	}
	list, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String("2026/")})
	if err != nil || len(list.Contents) != 1 {
		t.Errorf("ListObjectsV2 = %v, %v; want one object", list, err)
	}
	// The key works on its own bucket only.
	if _, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("other-dev")}); err == nil {
		t.Error("the issued key listed another bucket")
	}

	// Delete through a change request: the bucket and the key go away.
	r := e.must(202, "DELETE", "/api/v1/requests/s3.dev.invoices", tm.alice, nil)
	e.approveAndMerge(int64(r.field(t, "change", "number").(float64)), tm.bob)
	e.waitPhase("s3.dev.invoices", "Deleted", 10*time.Second)
	if _, err := cl.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); err == nil {
		t.Error("bucket still reachable after deletion")
	}
	if _, ok, _ := e.app.Objects.Bucket(ctx, bucket); ok {
		t.Error("bucket still exists after deletion")
	}
}

func ecrFlow(e *env, tm team) {
	t := e.t
	n := e.file(tm.alice, contractDoc("ECRRequest", "web", "alice", "payments", "dev", "  size: small\n  tagImmutability: true\n"))
	e.approveAndMerge(n, tm.bob)
	e.waitPhase("ecr.dev.web", "Ready", 10*time.Second)
	creds := e.credentials("ecr.dev.web", tm.alice)
	repoURL := str(creds, "outputs", "repositoryUrl")

	ref, err := name.ParseReference(repoURL + ":v1")
	if err != nil {
		t.Fatal(err)
	}
	img, _ := random.Image(2048, 2)
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "alice", Password: tm.alice})); err != nil {
		t.Fatalf("alice pushing to her team's repository: %v", err)
	}
	pulled, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: "mallory", Password: tm.mallory}))
	if err != nil {
		t.Fatalf("pulling: %v", err)
	}
	want, _ := img.Digest()
	if got, _ := pulled.Digest(); got != want {
		t.Errorf("pulled %s, pushed %s", got, want)
	}
	other, _ := random.Image(512, 1)
	err = remote.Write(ref.Context().Tag("v2"), other, remote.WithAuth(&authn.Basic{Username: "mallory", Password: tm.mallory}))
	if err == nil || !strings.Contains(err.Error(), "DENIED") {
		t.Errorf("mallory pushing to another team's repository: got %v, want DENIED", err)
	}
	if err := remote.Write(ref, other, remote.WithAuth(&authn.Basic{Username: "alice", Password: tm.alice})); err == nil {
		t.Error("an immutable tag was moved")
	}
	if err := remote.Write(ref, img, remote.WithAuth(authn.Anonymous)); err == nil {
		t.Error("anonymous push accepted")
	}

	r := e.must(202, "DELETE", "/api/v1/requests/ecr.dev.web", tm.alice, nil)
	e.approveAndMerge(int64(r.field(t, "change", "number").(float64)), tm.bob)
	e.waitPhase("ecr.dev.web", "Deleted", 10*time.Second)
	if _, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: "alice", Password: tm.alice})); err == nil {
		t.Error("image still pullable after the repository was deleted")
	}
	blobs := 0
	_ = filepath.WalkDir(filepath.Join(e.dir, "registry", "blobs"), func(_ string, d os.DirEntry, _ error) error {
		if d != nil && !d.IsDir() {
			blobs++
		}
		return nil
	})
	if blobs != 0 {
		t.Errorf("%d blobs left on disk after the only repository was deleted", blobs)
	}
}

func secretFlow(e *env, tm team) {
	t := e.t
	n := e.file(tm.alice, contractDoc("SecretRequest", "stripe-key", "alice", "payments", "dev", "  description: Stripe API key\n"))
	// Before it is merged, the secret cannot be set.
	if r := e.call("PUT", "/api/v1/secrets/secret.dev.stripe-key", tm.alice, map[string]string{"value": "x"}); r.status != 422 {
		t.Errorf("setting an unmerged secret: got %d, want 422: %s", r.status, r.body)
	}
	e.approveAndMerge(n, tm.bob)
	e.waitPhase("secret.dev.stripe-key", "Ready", 10*time.Second)
	e.must(200, "PUT", "/api/v1/secrets/secret.dev.stripe-key", tm.alice, map[string]string{"value": "sk_live_51abc"})
	e.secretsSeen = append(e.secretsSeen, "sk_live_51abc")
	if got := e.must(200, "GET", "/api/v1/secrets/secret.dev.stripe-key", tm.alice, nil).field(t, "value"); got != "sk_live_51abc" {
		t.Errorf("owner read %v", got)
	}
	if r := e.call("GET", "/api/v1/secrets/secret.dev.stripe-key", tm.mallory, nil); r.status != 403 {
		t.Errorf("another owner reading the secret: got %d, want 403", r.status)
	}
	if r := e.call("PUT", "/api/v1/secrets/secret.dev.stripe-key", tm.mallory, map[string]string{"value": "evil"}); r.status != 403 {
		t.Errorf("another owner setting the secret: got %d, want 403", r.status)
	}
	// The value is in neither git nor the request's record.
	out, _ := exec.Command("git", "--git-dir", filepath.Join(e.dir, "repos", "platform.git"), "log", "-p", "--all").CombinedOutput()
	if bytes.Contains(out, []byte("sk_live_51abc")) {
		t.Error("the secret value reached git")
	}
	if r := e.must(200, "GET", "/api/v1/requests/secret.dev.stripe-key", tm.alice, nil); bytes.Contains(r.body, []byte("sk_live_51abc")) {
		t.Error("the secret value is in the request view")
	}
	db, _ := os.ReadFile(filepath.Join(e.dir, "goldenpath.db"))
	if bytes.Contains(db, []byte("sk_live_51abc")) {
		t.Error("the secret value is stored unencrypted")
	}
	r := e.must(202, "DELETE", "/api/v1/requests/secret.dev.stripe-key", tm.alice, nil)
	e.approveAndMerge(int64(r.field(t, "change", "number").(float64)), tm.bob)
	e.waitPhase("secret.dev.stripe-key", "Deleted", 10*time.Second)
	if names, _ := e.app.Vault.List(context.Background(), "request/secret.dev.stripe-key/"); len(names) != 0 {
		t.Errorf("secret still stored after deletion: %v", names)
	}
}

func eksFlow(e *env, tm team) {
	n := e.file(tm.alice, contractDoc("EKSRequest", "preview", "alice", "payments", "dev", "  size: small\n  ttl: 8h\n"))
	e.approveAndMerge(n, tm.bob)
	v := e.waitPhase("eks.dev.preview", "Failed", 10*time.Second)
	if reason, msg := condition(v); reason != "NotProvisionableLocally" || !strings.Contains(msg, "cannot run Kubernetes clusters") {
		e.t.Errorf("condition = %s: %s", reason, msg)
	}
}

func rdsFlow(e *env, tm team, pgURL string) {
	t, ctx := e.t, context.Background()
	name := "orders-" + suffix()
	id := "rds.dev." + name
	n := e.file(tm.alice, contractDoc("RDSRequest", name, "alice", "payments", "dev", "  engine: postgres\n  size: small\n"))
	e.approveAndMerge(n, tm.bob)
	// No server configured yet: the status says exactly that...
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := e.waitPhase(id, "Provisioning", 10*time.Second)
		if reason, msg := condition(v); reason == "PostgresNotConfigured" {
			if !strings.Contains(msg, "local.postgres.url") {
				t.Errorf("message does not say what to configure: %s", msg)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never reported PostgresNotConfigured: %v", v)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// ...and it recovers once the platform team configures one through a change request of platform.yaml.
	configurePostgres(e, tm, pgURL)
	e.waitPhase(id, "Ready", 20*time.Second)

	creds := e.credentials(id, tm.alice)
	conn, err := pgx.Connect(ctx, str(creds, "secrets", "url"))
	if err != nil {
		t.Fatalf("connecting with the issued credentials: %v", err)
	}
	for _, q := range []string{"CREATE TABLE orders (id serial PRIMARY KEY, total numeric)", "INSERT INTO orders (total) VALUES (42.50)"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var total string
	if err := conn.QueryRow(ctx, "SELECT total::text FROM orders").Scan(&total); err != nil || total != "42.50" {
		t.Errorf("read back %q, %v", total, err)
	}
	conn.Close(ctx)

	r := e.must(202, "DELETE", "/api/v1/requests/"+id, tm.alice, nil)
	e.approveAndMerge(int64(r.field(t, "change", "number").(float64)), tm.bob)
	e.waitPhase(id, "Deleted", 20*time.Second)
	admin, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var dbs, roles int
	db := strings.ReplaceAll(name, "-", "_") + "_dev"
	_ = admin.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", db).Scan(&dbs)
	_ = admin.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE rolname = $1", db).Scan(&roles)
	if dbs != 0 || roles != 0 {
		t.Errorf("after deletion: %d databases and %d roles named %s remain", dbs, roles, db)
	}
}

// configurePostgres sets local.postgres.url the way a platform engineer would: clone the platform
// repository with git, edit platform.yaml, push a branch, open a change request, get two approvals, merge.
func configurePostgres(e *env, tm team, pgURL string) {
	t := e.t
	work := t.TempDir()
	u, _ := url.Parse(e.app.URL() + "/git/platform.git")
	u.User = url.UserPassword("admin", e.admin)
	git(t, work, "clone", u.String(), "platform")
	repo := filepath.Join(work, "platform")
	cfg, err := os.ReadFile(filepath.Join(repo, "platform.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The password stays out of git: goldenpath gets it as GOLDENPATH_POSTGRES_PASSWORD (testGetenv).
	noPassword, err := url.Parse(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	noPassword.User = url.User(noPassword.User.Username())
	cfg = bytes.Replace(cfg, []byte(`url: ""`), []byte(fmt.Sprintf("url: %q", noPassword.String())), 1)
	if err := os.WriteFile(filepath.Join(repo, "platform.yaml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, repo, "checkout", "-b", "configure-postgres")
	git(t, repo, "commit", "-am", "Configure the local PostgreSQL server")
	git(t, repo, "push", "origin", "configure-postgres")
	r := e.must(201, "POST", "/api/v1/changes", e.admin, map[string]string{"branch": "configure-postgres", "title": "Configure PostgreSQL"})
	n := int64(r.field(t, "number").(float64))
	// platform.yaml changes need the approvals of the strictest environment (prod: 2).
	e.must(200, "POST", fmt.Sprintf("/api/v1/changes/%d/approve", n), tm.bob, nil)
	if r := e.call("POST", fmt.Sprintf("/api/v1/changes/%d/merge", n), tm.bob, nil); r.status != 422 {
		t.Fatalf("merging platform.yaml with one approval: got %d, want 422: %s", r.status, r.body)
	}
	e.approveAndMerge(n, tm.carol)
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=admin", "GIT_AUTHOR_EMAIL=admin@example.com", "GIT_COMMITTER_NAME=admin", "GIT_COMMITTER_EMAIL=admin@example.com")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func prodFlow(e *env, tm team) {
	t := e.t
	n := e.file(tm.alice, contractDoc("S3Request", "ledger", "alice", "payments", "prod", "  size: medium\n"))
	e.must(200, "POST", fmt.Sprintf("/api/v1/changes/%d/approve", n), tm.bob, nil)
	r := e.call("POST", fmt.Sprintf("/api/v1/changes/%d/merge", n), tm.bob, nil)
	if r.status != 422 || !strings.Contains(string(r.body), "needs 2 approval(s)") {
		t.Fatalf("merging a prod request with one approval: got %d %s", r.status, r.body)
	}
	e.approveAndMerge(n, tm.carol)
	e.waitPhase("s3.prod.ledger", "Ready", 10*time.Second)
}

func gitOut(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=dev", "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_NAME=dev", "GIT_COMMITTER_EMAIL=dev@example.com")
	out, err := cmd.CombinedOutput()
	return string(out), err
}
