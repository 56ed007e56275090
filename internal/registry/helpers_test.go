package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// testEnv is a registry on disk served by a real HTTP server.
type testEnv struct {
	reg  *Registry
	srv  *httptest.Server
	dir  string
	host string
}

func newEnv(t testing.TB, opts Options) *testEnv {
	t.Helper()
	return openEnv(t, t.TempDir(), opts)
}

// openEnv serves a registry opened on dir; used again on the same dir it
// shows what survived a restart.
func openEnv(t testing.TB, dir string, opts Options) *testEnv {
	t.Helper()
	reg, err := New(dir, opts)
	if err != nil {
		t.Fatalf("New(%q): %v", dir, err)
	}
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{reg: reg, srv: srv, dir: dir, host: u.Host}
}

func (e *testEnv) create(t testing.TB, repo string, s RepoSettings) {
	t.Helper()
	if _, err := e.reg.CreateRepository(context.Background(), repo, s); err != nil {
		t.Fatalf("CreateRepository(%q): %v", repo, err)
	}
}

// ref parses "repo:tag" or "repo@digest" on this registry.
func (e *testEnv) ref(t testing.TB, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(e.host+"/"+s, name.Insecure)
	if err != nil {
		t.Fatalf("ParseReference(%q): %v", s, err)
	}
	return ref
}

func (e *testEnv) repo(t testing.TB, s string) name.Repository {
	t.Helper()
	repo, err := name.NewRepository(e.host+"/"+s, name.Insecure)
	if err != nil {
		t.Fatalf("NewRepository(%q): %v", s, err)
	}
	return repo
}

// noRetry makes go-containerregistry report a failure at once instead of
// backing off, which keeps failing-path tests fast.
var noRetry = remote.WithRetryBackoff(remote.Backoff{Steps: 1})

func randomImage(t testing.TB) v1.Image {
	t.Helper()
	img, err := random.Image(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digestString(t testing.TB, d interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// wantRegistryError checks that err is a registry error response with the
// given status and code, and returns its message.
func wantRegistryError(t testing.TB, err error, status int, code string) string {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %d %s", status, code)
	}
	var terr *transport.Error
	if !errors.As(err, &terr) {
		t.Fatalf("got error %v (%T), want a registry error %d %s", err, err, status, code)
	}
	if terr.StatusCode != status {
		t.Fatalf("got status %d, want %d (%v)", terr.StatusCode, status, err)
	}
	if code == "" {
		return ""
	}
	if len(terr.Errors) == 0 || string(terr.Errors[0].Code) != code {
		t.Fatalf("got errors %v, want code %s", terr.Errors, code)
	}
	return terr.Errors[0].Message
}

// do sends a raw request the way a docker-like client would.
func (e *testEnv) do(t testing.TB, method, target string, body []byte, header http.Header) *http.Response {
	t.Helper()
	u, err := url.Parse(e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := url.Parse(target)
	if err != nil {
		t.Fatalf("parsing %q: %v", target, err)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u.ResolveReference(ref).String(), rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// errorCode decodes a distribution error body.
func errorCode(t testing.TB, resp *http.Response) (code, message string) {
	t.Helper()
	var body errorBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decoding error body of %d response: %v", resp.StatusCode, err)
	}
	if len(body.Errors) == 0 {
		t.Fatalf("error body of %d response has no errors", resp.StatusCode)
	}
	return body.Errors[0].Code, body.Errors[0].Message
}

func wantStatus(t testing.TB, resp *http.Response, want int) {
	t.Helper()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: got status %d, want %d; body %s", resp.Request.Method, resp.Request.URL.Path,
			resp.StatusCode, want, strings.TrimSpace(string(b)))
	}
}

func sha256Digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// putBlob uploads data into repo with a monolithic POST and returns its digest.
func (e *testEnv) putBlob(t testing.TB, repo string, data []byte) string {
	t.Helper()
	d := sha256Digest(data)
	resp := e.do(t, "POST", "/v2/"+repo+"/blobs/uploads/?digest="+d, data,
		http.Header{"Content-Type": {"application/octet-stream"}})
	wantStatus(t, resp, http.StatusCreated)
	return d
}

// putManifest pushes body under ref (tag or digest) and returns the response.
func (e *testEnv) putManifest(t testing.TB, repo, ref, mediaType string, body []byte) *http.Response {
	t.Helper()
	resp := e.do(t, "PUT", "/v2/"+repo+"/manifests/"+ref, body, http.Header{"Content-Type": {mediaType}})
	wantStatus(t, resp, http.StatusCreated)
	return resp
}
