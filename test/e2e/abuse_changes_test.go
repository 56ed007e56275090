package e2e

// The abuse suite for requests and change requests: users of team search try to take, change or end what
// team payments owns, and approvers try to approve their own work. Each case is one of issue 10's.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/jackc/pgx/v5"

	"github.com/goldenpathidp/goldenpath/internal/app"
	"github.com/goldenpathidp/goldenpath/internal/contract"
)

// Issue 10, case 3: taking over another team's request. search's developer may neither update payments'
// contracts through the API nor merge a pushed change to them with only search's approval, for every
// kind; payments can hand one over, and then every credential is new.
func TestAbuseRequestTakeover(t *testing.T) {
	e := start(t, startOptions{})
	tm := twoTeams(e)
	specs := map[string]string{
		"S3Request":     "  size: small\n",
		"ECRRequest":    "  size: small\n",
		"SecretRequest": "  description: a key\n",
	}
	for kind, spec := range specs {
		name := strings.ToLower(strings.TrimSuffix(kind, "Request")) + "-owned"
		n := e.file(tm.alice, contractDoc(kind, name, "alice", "payments", "dev", spec))
		e.approveAndMerge(n, tm.paula)
	}
	for kind, spec := range specs {
		name := strings.ToLower(strings.TrimSuffix(kind, "Request")) + "-owned"
		info, err := contract.LookupKind(kind)
		if err != nil {
			t.Fatal(err)
		}
		id := contract.MakeID(info.Kind, "dev", name)
		e.waitPhase(string(id), "Ready", 30*time.Second)
		taken := contractDoc(kind, name, "seadev", "search", "dev", spec)

		t.Run(kind+" through the API", func(t *testing.T) {
			e.t = t
			wantProblem(t, "search filing an update of "+string(id), e.call("POST", "/api/v1/requests", tm.seadev, taken), 403, "belongs to alice of team payments")
		})
		t.Run(kind+" through git", func(t *testing.T) {
			e.t = t
			dir := clonePlatform(t, e, "seadev", tm.seadev)
			branch := "take-" + name
			commitFiles(t, dir, branch, map[string]string{contract.PathFor(info.Kind, name): taken})
			git(t, dir, "push", "-q", "origin", branch)
			n := changeNumber(e, openChange(e, tm.seadev, "", branch))
			e.must(200, "POST", fmt.Sprintf("/api/v1/changes/%d/approve", n), tm.sara, nil)
			if passed, text := changeCheck(e, n, "ownership"); passed || !strings.Contains(text, "belongs to alice of team payments: transferring it to seadev of team search by seadev needs their consent") {
				t.Errorf("ownership check of the takeover: passed=%v\n%s", passed, text)
			}
			wantProblem(t, "merging the takeover with search's approval", e.call("POST", fmt.Sprintf("/api/v1/changes/%d/merge", n), tm.sara, nil), 422, "ownership")
			v := e.must(200, "GET", "/api/v1/requests/"+string(id), tm.alice, nil)
			if v.field(t, "owner") != "alice" || v.field(t, "team") != "payments" {
				t.Errorf("after the refused takeover %s is %s", id, v.body)
			}
			e.must(200, "POST", fmt.Sprintf("/api/v1/changes/%d/close", n), tm.seadev, nil)
		})
	}
	e.t = t
	// seadev cannot push to payments' registry repository either.
	if r := e.call("GET", "/api/v1/requests/ecr.dev.ecr-owned/credentials", tm.seadev, nil); r.status != 403 {
		t.Errorf("search reading payments' ECR outputs: got %d", r.status)
	}

	t.Run("payments hands its bucket over and every credential is rotated", func(t *testing.T) {
		e.t = t
		ctx := context.Background()
		old := e.credentials("s3.dev.s3-owned", tm.alice)
		bucket := str(old, "outputs", "bucket")
		if _, err := s3Client(e, old).PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("kept"), Body: strings.NewReader("data")}); err != nil {
			t.Fatal(err)
		}
		n := e.file(tm.alice, contractDoc("S3Request", "s3-owned", "seadev", "search", "dev", specs["S3Request"]))
		if passed, text := changeCheck(e, n, "ownership"); !passed || !strings.Contains(text, "from alice (team payments) to seadev (team search)") {
			t.Errorf("ownership check of payments' own transfer: passed=%v\n%s", passed, text)
		}
		e.approveAndMerge(n, tm.paula)
		waitFor(t, 30*time.Second, "the transferred bucket's new key", func() bool {
			r := e.call("GET", "/api/v1/requests/s3.dev.s3-owned/credentials", tm.seadev, nil)
			return r.status == 200 && r.field(t, "outputs", "accessKeyId") != str(old, "outputs", "accessKeyId") && r.field(t, "phase") == "Ready"
		})
		fresh := e.credentials("s3.dev.s3-owned", tm.seadev)
		if str(fresh, "secrets", "secretAccessKey") == str(old, "secrets", "secretAccessKey") {
			t.Error("the transfer kept the secret access key")
		}
		if r := e.call("GET", "/api/v1/requests/s3.dev.s3-owned/credentials", tm.alice, nil); r.status != 403 {
			t.Errorf("the previous owner reading the credentials after the transfer: got %d", r.status)
		}
		_, err := s3Client(e, old).GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("kept")})
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) {
			t.Errorf("the previous owners' key after the transfer: %v, want it refused", err)
		}
		got, err := s3Client(e, fresh).GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("kept")})
		if err != nil {
			t.Fatalf("the new owners reading the bucket's data: %v", err)
		}
		got.Body.Close()
		if !strings.Contains(string(e.must(200, "GET", "/api/v1/requests/s3.dev.s3-owned", tm.seadev, nil).body), "rotate credentials: transferred from alice of team payments to seadev of team search") {
			t.Error("the timeline does not show the rotation")
		}
	})
}

// Issue 10, case 4: four-eyes bypass. (a) An approver cannot push onto someone else's open change request
// to then approve it; (b) an approver whose commits a colleague proposed cannot approve them.
func TestAbuseFourEyes(t *testing.T) {
	e := start(t, startOptions{})
	tm := twoTeams(e)

	t.Run("pushing onto someone else's change request", func(t *testing.T) {
		e.t = t
		n := e.file(tm.alice, contractDoc("S3Request", "ledger", "alice", "payments", "dev", "  size: small\n"))
		branch := e.must(200, "GET", fmt.Sprintf("/api/v1/changes/%d", n), tm.alice, nil).field(t, "branch").(string)
		for _, who := range []struct{ name, token string }{{"paula", tm.paula}, {"sara", tm.sara}, {"seadev", tm.seadev}} {
			dir := clonePlatform(t, e, who.name, who.token)
			git(t, dir, "fetch", "-q", "origin", branch)
			git(t, dir, "checkout", "-q", "-b", branch, "FETCH_HEAD")
			commitFiles(t, dir, branch, map[string]string{contract.PathFor(contract.S3, "ledger"): contractDoc("S3Request", "ledger", "alice", "payments", "dev", "  size: xlarge\n")})
			out, err := gitOut(dir, "push", "origin", branch)
			if err == nil || !strings.Contains(out, "belongs to open change request") {
				t.Errorf("%s pushing onto alice's change request: %v\n%s", who.name, err, out)
			}
			if out, err := gitOut(dir, "push", "origin", ":"+branch); err == nil {
				t.Errorf("%s deleting alice's change request's branch: allowed\n%s", who.name, out)
			}
		}
		// The author still can.
		dir := clonePlatform(t, e, "alice", tm.alice)
		git(t, dir, "fetch", "-q", "origin", branch)
		git(t, dir, "checkout", "-q", "-b", branch, "FETCH_HEAD")
		commitFiles(t, dir, branch, map[string]string{contract.PathFor(contract.S3, "ledger"): contractDoc("S3Request", "ledger", "alice", "payments", "dev", "  size: medium\n")})
		git(t, dir, "push", "-q", "origin", branch)
		e.approveAndMerge(n, tm.paula)
	})

	t.Run("approving one's own commits opened by a colleague", func(t *testing.T) {
		e.t = t
		dir := clonePlatform(t, e, "paula", tm.paula)
		commitFiles(t, dir, "paula-work", map[string]string{contract.PathFor(contract.S3, "audit"): contractDoc("S3Request", "audit", "alice", "payments", "dev", "  size: small\n")})
		git(t, dir, "push", "-q", "origin", "paula-work")
		n := changeNumber(e, openChange(e, tm.alice, "", "paula-work"))
		e.must(200, "POST", fmt.Sprintf("/api/v1/changes/%d/approve", n), tm.paula, nil)
		wantProblem(t, "merging with only the pusher's approval", e.call("POST", fmt.Sprintf("/api/v1/changes/%d/merge", n), tm.paula, nil), 422, "pushed any of its commits")
		v := e.must(200, "GET", fmt.Sprintf("/api/v1/changes/%d", n), tm.alice, nil)
		if !strings.Contains(string(v.body), "paula's approval does not count: they pushed commit") {
			t.Errorf("the change request does not say why paula's approval does not count: %s", v.body)
		}
		// Forged git authorship does not help: the commit says alice wrote it, the forge knows paula pushed it.
		e.approveAndMerge(n, tm.bob)
	})
}

// Issue 10, case 10: opening or merging a change request on a repository needs the right to push to it.
func TestAbuseCrossRepoChangeRequest(t *testing.T) {
	e := start(t, startOptions{})
	tm := twoTeams(e)
	dir := pushNewRepo(t, e, "alice", tm.alice, "payments/orders", map[string]string{"README.md": "orders\n"})
	commitFiles(t, dir, "wip", map[string]string{"README.md": "work in progress\n"})
	git(t, dir, "push", "-q", "origin", "wip")

	wantProblem(t, "search opening a change request on payments/orders", openChange(e, tm.seadev, "payments/orders", "wip"), 403, "belongs to payments")
	n := changeNumber(e, openChange(e, tm.alice, "payments/orders", "wip"))
	e.must(200, "POST", fmt.Sprintf("/api/v1/changes/%d/approve", n), tm.sara, nil)
	if r := e.call("POST", fmt.Sprintf("/api/v1/changes/%d/merge", n), tm.sara, nil); r.status != 403 {
		t.Errorf("search's approver merging into payments/orders: got %d %s, want 403", r.status, r.body)
	}
	e.must(200, "POST", fmt.Sprintf("/api/v1/changes/%d/merge", n), tm.alice, nil)
}

// Issue 10, low: closing one's own change request that touches another team's pending request does not
// reject that request; invalid branch names are a 400; the request's timeline shows every change request
// that touches it, including through commits pushed after it was opened.
func TestAbuseChangeRequestSideEffects(t *testing.T) {
	e := start(t, startOptions{})
	tm := twoTeams(e)
	doc := contractDoc("S3Request", "pending", "alice", "payments", "dev", "  size: small\n")
	e.file(tm.alice, doc)

	dir := clonePlatform(t, e, "seadev", tm.seadev)
	commitFiles(t, dir, "touch-pending", map[string]string{contract.PathFor(contract.S3, "pending"): contractDoc("S3Request", "pending", "seadev", "search", "dev", "  size: small\n")})
	git(t, dir, "push", "-q", "origin", "touch-pending")
	n := changeNumber(e, openChange(e, tm.seadev, "", "touch-pending"))
	e.must(200, "POST", fmt.Sprintf("/api/v1/changes/%d/close", n), tm.seadev, nil)
	if v := e.must(200, "GET", "/api/v1/requests/s3.dev.pending", tm.alice, nil); v.field(t, "phase") != "Pending" {
		t.Errorf("closing search's change request moved payments' request to %v", v.field(t, "phase"))
	}

	for _, bad := range []string{"a..b", "x.lock", "-rf", "has space", "a~1", "end/"} {
		wantProblem(t, fmt.Sprintf("branch %q", bad), openChange(e, tm.seadev, "", bad), 400, "branch")
	}

	// A change request of seadev's own that later also touches its other request shows in that timeline.
	e.approveAndMerge(e.file(tm.seadev, contractDoc("S3Request", "later", "seadev", "search", "dev", "  size: small\n")), tm.sara)
	e.waitPhase("s3.dev.later", "Ready", 30*time.Second)
	dir = clonePlatform(t, e, "seadev", tm.seadev)
	commitFiles(t, dir, "two-steps", map[string]string{contract.PathFor(contract.S3, "first"): contractDoc("S3Request", "first", "seadev", "search", "dev", "  size: small\n")})
	git(t, dir, "push", "-q", "origin", "two-steps")
	n = changeNumber(e, openChange(e, tm.seadev, "", "two-steps"))
	commitFiles(t, dir, "two-steps", map[string]string{contract.PathFor(contract.S3, "later"): contractDoc("S3Request", "later", "seadev", "search", "dev", "  size: medium\n")})
	git(t, dir, "push", "-q", "origin", "two-steps")
	waitFor(t, 10*time.Second, "s3.dev.later's timeline showing the change request", func() bool {
		v := e.must(200, "GET", "/api/v1/requests/s3.dev.later", tm.seadev, nil)
		return strings.Contains(string(v.body), fmt.Sprintf("change request #%d by seadev now touches this request", n))
	})
}

// Issue 10, case 3: handing over a database rotates its password and ends the previous owners' sessions.
func TestAbuseDatabaseTransferRotatesPassword(t *testing.T) {
	pgURL := postgresURL(t)
	e := start(t, startOptions{config: func(c *app.Config) {
		c.Getenv = func(k string) string {
			if k == "GOLDENPATH_POSTGRES_URL" {
				return pgURL
			}
			return ""
		}
	}})
	tm := twoTeams(e)
	ctx := context.Background()
	name := "ledger-" + suffix()
	id := fileReady(e, tm.alice, tm.paula, "RDSRequest", name, "alice", "payments", "  engine: postgres\n  size: small\n")
	old := e.credentials(id, tm.alice)
	held, err := pgx.Connect(ctx, str(old, "secrets", "url"))
	if err != nil {
		t.Fatalf("connecting as the first owners: %v", err)
	}
	defer held.Close(ctx)
	if _, err := held.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('data')"); err != nil {
		t.Fatal(err)
	}

	e.approveAndMerge(e.file(tm.alice, contractDoc("RDSRequest", name, "seadev", "search", "dev", "  engine: postgres\n  size: small\n")), tm.paula)
	waitFor(t, 30*time.Second, "the database's new password", func() bool {
		r := e.call("GET", "/api/v1/requests/"+id+"/credentials", tm.seadev, nil)
		return r.status == 200 && r.field(t, "phase") == "Ready" && r.field(t, "secrets", "url") != str(old, "secrets", "url")
	})
	fresh := e.credentials(id, tm.seadev)
	if _, err := pgx.Connect(ctx, str(old, "secrets", "url")); err == nil {
		t.Error("the previous owners' password still connects after the transfer")
	}
	if err := held.Ping(ctx); err == nil {
		t.Error("the previous owners' open session survived the transfer")
	}
	conn, err := pgx.Connect(ctx, str(fresh, "secrets", "url"))
	if err != nil {
		t.Fatalf("connecting as the new owners: %v", err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != "data" {
		t.Errorf("the data after the transfer: %q, %v", v, err)
	}
}

// Issue 10, low: an invalid template is reported on the change request that introduces it, naming the
// file, the field and the rule, and cannot merge.
func TestAbuseInvalidTemplateShownOnChangeRequest(t *testing.T) {
	e := start(t, startOptions{})
	tm := twoTeams(e)
	dir := clonePlatform(t, e, "alice", tm.alice)
	commitFiles(t, dir, "broken-template", map[string]string{"templates/broken/template.yaml": "apiVersion: scaffolder.backstage.io/v1beta3\n" +
		"kind: Template\nmetadata: {name: broken}\nspec:\n  type: service\n  steps:\n    - {id: nuke, action: cloud:nuke, input: {}}\n"})
	git(t, dir, "push", "-q", "origin", "broken-template")
	n := changeNumber(e, openChange(e, tm.alice, "", "broken-template"))
	passed, text := changeCheck(e, n, "templates")
	if passed || !strings.Contains(text, `unknown action "cloud:nuke"`) {
		t.Errorf("templates check of an invalid template: passed=%v\n%s", passed, text)
	}
	var v struct {
		Evaluation struct {
			Checks []struct {
				Name   string
				Errors []struct{ File, Field string }
			}
		}
	}
	e.must(200, "GET", fmt.Sprintf("/api/v1/changes/%d", n), tm.alice, nil).json(t, &v)
	for _, c := range v.Evaluation.Checks {
		if c.Name == "templates" && (len(c.Errors) == 0 || c.Errors[0].File != "templates/broken/template.yaml" || !strings.Contains(c.Errors[0].Field, "action")) {
			t.Errorf("the template's problem does not name its file and field: %+v", c.Errors)
		}
	}
	e.must(200, "POST", fmt.Sprintf("/api/v1/changes/%d/approve", n), tm.paula, nil)
	wantProblem(t, "merging an invalid template", e.call("POST", fmt.Sprintf("/api/v1/changes/%d/merge", n), tm.paula, nil), 422, `check \"templates\" failed`)
}

// Issue 10, case 3: an app's rendered overlay on the platform repository is its team's, like a contract:
// another team's change to it (an image of theirs, a variable) needs the app team's consent.
func TestAbuseOverlayOfAnotherTeamsApp(t *testing.T) {
	e := start(t, startOptions{})
	tm := twoTeams(e)
	pushNewRepo(t, e, "alice", tm.alice, "payments/orders", map[string]string{"score.yaml": "apiVersion: score.dev/v1b1\nmetadata:\n  name: orders\ncontainers:\n  main:\n    image: .\n"})
	waitFor(t, 10*time.Second, "the orders app", func() bool {
		return e.call("GET", "/api/v1/apps/orders", tm.alice, nil).status == 200
	})

	patch := map[string]string{"gitops/kustomize/overlays/dev/apps/orders/patch.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: orders}\n"}
	platform := clonePlatform(t, e, "seadev", tm.seadev)
	commitFiles(t, platform, "patch-orders", patch)
	git(t, platform, "push", "-q", "origin", "patch-orders")
	n := changeNumber(e, openChange(e, tm.seadev, "", "patch-orders"))
	e.must(200, "POST", fmt.Sprintf("/api/v1/changes/%d/approve", n), tm.sara, nil)
	if passed, text := changeCheck(e, n, "ownership"); passed || !strings.Contains(text, "belongs to payments: a change by seadev needs their consent") {
		t.Errorf("ownership check of search's change to payments' overlay: passed=%v\n%s", passed, text)
	}
	if r := e.call("POST", fmt.Sprintf("/api/v1/changes/%d/merge", n), tm.sara, nil); r.status != 422 {
		t.Errorf("merging search's change to payments' overlay: got %d %s, want 422", r.status, r.body)
	}
	// With payments' consent it may merge.
	e.must(200, "POST", fmt.Sprintf("/api/v1/changes/%d/approve", n), tm.paula, nil)
	if passed, text := changeCheck(e, n, "ownership"); !passed {
		t.Errorf("ownership check with payments' approval: %s", text)
	}
}
