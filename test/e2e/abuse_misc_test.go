package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// miscCatalogRepo creates repo with a catalog-info.yaml holding a Component owned by owner for each name,
// and returns the file's URL in the forge.
func miscCatalogRepo(e *env, repo, owner string, names ...string) string {
	e.t.Helper()
	var docs []string
	for _, name := range names {
		docs = append(docs, fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: %s\nspec:\n  type: service\n  lifecycle: production\n  owner: %s\n", name, owner))
	}
	createRepo(e.t, e, repo, map[string]string{"catalog-info.yaml": strings.Join(docs, "---\n")})
	return e.app.URL() + "/git/" + repo + "/blob/main/catalog-info.yaml"
}

// miscEntity reads an entity through the catalog API: its uid and spec.owner.
func miscEntity(e *env, token, path string) (uid, owner string) {
	e.t.Helper()
	var v struct {
		Metadata struct {
			UID string `json:"uid"`
		} `json:"metadata"`
		Spec map[string]any `json:"spec"`
	}
	e.must(200, "GET", "/api/catalog/entities/by-name/"+path, token, nil).json(e.t, &v)
	owner, _ = v.Spec["owner"].(string)
	return v.Metadata.UID, owner
}

// miscWantRefused checks a catalog API refusal: 403, Backstage's NotAllowedError, a message with want.
func miscWantRefused(t *testing.T, r response, want string) {
	t.Helper()
	if r.status != 403 || r.field(t, "error", "name") != "NotAllowedError" {
		t.Fatalf("got %d %s, want 403 NotAllowedError", r.status, r.body)
	}
	if msg, _ := r.field(t, "error", "message").(string); !strings.Contains(msg, want) {
		t.Errorf("message %q does not contain %q", msg, want)
	}
}

// TestAbuseMiscCatalog: a developer of search can neither delete payments' catalog entity or location nor
// register payments' file, and their own catalog-info.yaml naming payments' component does not take it
// over; goldenpath's own entities and locations cannot be deleted at all, not even by an admin. Payments'
// developer still manages their own.
func TestAbuseMiscCatalog(t *testing.T) {
	e := start(t, startOptions{})
	tm := twoTeams(e)

	victim := miscCatalogRepo(e, "payments/orders", "payments", "orders")
	miscWantRefused(t, e.call("POST", "/api/catalog/locations", tm.seadev, map[string]string{"type": "url", "target": victim}),
		"is in a repository of payments; only payments and admins may register it")
	added := e.must(201, "POST", "/api/catalog/locations", tm.alice, map[string]string{"type": "url", "target": victim})
	locID, _ := added.field(t, "location", "id").(string)
	uid, _ := miscEntity(e, tm.seadev, "component/default/orders")

	t.Run("delete another team's entity", func(t *testing.T) {
		e.t = t
		miscWantRefused(t, e.call("DELETE", "/api/catalog/entities/by-uid/"+uid, tm.seadev, nil),
			"owned by group:default/payments; only members of payments and admins may delete it")
		if got, owner := miscEntity(e, tm.seadev, "component/default/orders"); got != uid || owner != "payments" {
			t.Errorf("after the refused delete orders = uid %s owned by %s, want %s owned by payments", got, owner, uid)
		}
	})
	t.Run("remove another team's location", func(t *testing.T) {
		e.t = t
		miscWantRefused(t, e.call("DELETE", "/api/catalog/locations/"+locID, tm.seadev, nil), "only payments and admins may remove it")
		e.must(200, "GET", "/api/catalog/locations/"+locID, tm.seadev, nil)
	})
	t.Run("take the name with an own catalog-info.yaml", func(t *testing.T) {
		e.t = t
		attacker := miscCatalogRepo(e, "search/web", "search", "orders", "web")
		r := e.must(201, "POST", "/api/catalog/locations", tm.seadev, map[string]string{"type": "url", "target": attacker})
		if !strings.Contains(string(r.body), "component:default/orders") || !strings.Contains(string(r.body), "which keeps it") {
			t.Errorf("registering a file claiming orders: %s, want a conflict on component:default/orders", r.body)
		}
		// Reading search's file again (as a push to search/web does) keeps the conflict.
		e.must(200, "POST", "/api/catalog/refresh", tm.seadev, map[string]string{"entityRef": "component:default/web"})
		if got, owner := miscEntity(e, tm.seadev, "component/default/orders"); got != uid || owner != "payments" {
			t.Errorf("orders = uid %s owned by %s, want payments' (uid %s)", got, owner, uid)
		}
	})
	t.Run("goldenpath's own entities and locations", func(t *testing.T) {
		e.t = t
		for _, path := range []string{"group/default/payments", "user/default/alice", "template/default/app-template"} {
			waitFor(t, 10*time.Second, path+" in the catalog", func() bool {
				return e.call("GET", "/api/catalog/entities/by-name/"+path, tm.seadev, nil).status == 200
			})
			id, _ := miscEntity(e, tm.seadev, path)
			for _, tok := range []string{tm.seadev, tm.alice, e.admin} {
				miscWantRefused(t, e.call("DELETE", "/api/catalog/entities/by-uid/"+id, tok, nil), "cannot be deleted through the API, not even by an admin")
			}
			if got, _ := miscEntity(e, tm.seadev, path); got != id {
				t.Errorf("%s changed uid after refused deletes: %s, want %s", path, got, id)
			}
		}
		var locs []struct {
			Data struct{ ID, Type, Target string } `json:"data"`
		}
		e.must(200, "GET", "/api/catalog/locations", tm.seadev, nil).json(t, &locs)
		for _, l := range locs {
			if l.Data.Type != "url" {
				miscWantRefused(t, e.call("DELETE", "/api/catalog/locations/"+l.Data.ID, e.admin, nil), "not even by an admin")
			}
		}
	})
	t.Run("the owner still manages its own", func(t *testing.T) {
		e.t = t
		e.must(200, "POST", "/api/catalog/refresh", tm.alice, map[string]string{"entityRef": "component:default/orders"})
		e.must(204, "DELETE", "/api/catalog/entities/by-uid/"+uid, tm.alice, nil)
		// Still in payments' file: read again at once, still payments'.
		if got, owner := miscEntity(e, tm.seadev, "component/default/orders"); got == uid || owner != "payments" {
			t.Errorf("after payments deleted orders: uid %s owned by %s, want payments' file read again (a new uid)", got, owner)
		}
		e.must(204, "DELETE", "/api/catalog/locations/"+locID, tm.alice, nil)
	})
}

// TestAbuseMiscS3UnsignedHeaders: whoever holds payments' presigned PUT URL (a developer of search, say)
// cannot add unsigned headers to it to copy payments' private object into the upload, or to store metadata
// of their choosing; the URL works as signed.
func TestAbuseMiscS3UnsignedHeaders(t *testing.T) {
	e := start(t, startOptions{})
	tm := twoTeams(e)
	ctx := context.Background()
	id := fileReady(e, tm.alice, tm.paula, "S3Request", "ledger"+suffix(), "alice", "payments", "  size: small\n")
	creds := e.credentials(id, tm.alice)
	cl := s3Client(e, creds)
	bucket := str(creds, "outputs", "bucket")
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("private/salaries.csv"), Body: strings.NewReader("alice,100")}); err != nil {
		t.Fatal(err)
	}
	presign := s3.NewPresignClient(cl)
	upload := func(key string) string {
		req, err := presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(key)}, s3.WithPresignExpires(10*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return req.URL
	}
	send := func(u string, header map[string]string, body string) (int, string) {
		req, err := http.NewRequest(http.MethodPut, u, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	exists := func(key string) bool {
		_, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String(key)})
		return err == nil
	}

	for _, tt := range []struct {
		name, key string
		header    map[string]string
		refused   string
	}{
		{"copy source added to a presigned PUT", "inbox/a.csv", map[string]string{"X-Amz-Copy-Source": "/" + bucket + "/private/salaries.csv"}, "x-amz-copy-source"},
		{"metadata added to a presigned PUT", "inbox/b.csv", map[string]string{"X-Amz-Meta-Approved-By": "paula"}, "x-amz-meta-approved-by"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := send(upload(tt.key), tt.header, "")
			if status != 403 || !strings.Contains(body, "There were headers present in the request which were not signed") ||
				!strings.Contains(body, "<HeadersNotSigned>"+tt.refused+"</HeadersNotSigned>") {
				t.Errorf("got %d %s, want 403 AccessDenied naming %s as not signed", status, body, tt.refused)
			}
			if exists(tt.key) {
				t.Errorf("%s was written", tt.key)
			}
		})
	}
	t.Run("the presigned URL as signed", func(t *testing.T) {
		if status, body := send(upload("inbox/c.csv"), nil, "bob,90"); status != 200 || !exists("inbox/c.csv") {
			t.Fatalf("got %d %s, want 200 and the object stored", status, body)
		}
	})
}

// TestAbuseMiscBadInputLongIdentifier: an RDSRequest whose database and role name would pass PostgreSQL's
// 63-byte limit (and be cut short, clashing with another) is refused before any change request exists.
func TestAbuseMiscBadInputLongIdentifier(t *testing.T) {
	e := start(t, startOptions{})
	tm := twoTeams(e)
	long := "orders_" + strings.Repeat("x", 53) // 60 bytes, +"_dev" = 64
	doc := contractDoc("RDSRequest", "orders", "alice", "payments", "dev", "  engine: postgres\n  size: small\n  databaseName: "+long+"\n")
	r := e.call("POST", "/api/v1/requests", tm.alice, doc)
	if r.status != 400 || !strings.Contains(string(r.body), `"field": "spec.databaseName"`) || !strings.Contains(string(r.body), "at most 63 bytes") {
		t.Fatalf("got %d %s, want 400 naming spec.databaseName and the 63-byte limit", r.status, r.body)
	}
	if r := e.must(200, "GET", "/api/v1/changes", e.admin, nil); strings.Contains(string(r.body), `"number"`) {
		t.Errorf("the refused request opened a change request: %s", r.body)
	}
	if r := e.must(200, "GET", "/api/v1/requests?all=true", e.admin, nil); strings.Contains(string(r.body), `"id"`) {
		t.Errorf("the refused request left a record: %s", r.body)
	}
	// One byte shorter fits.
	e.file(tm.alice, strings.Replace(doc, long, long[:59], 1))
}
