package registry

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
)

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestChunkedUpload drives a chunked upload the way docker does: POST, PATCH
// chunks with Content-Range, PUT with the digest.
func TestChunkedUpload(t *testing.T) {
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{})
	blob := randomBytes(t, 100_000)
	dg := sha256Digest(blob)

	resp := env.do(t, "POST", "/v2/dev/orders/blobs/uploads/", nil, nil)
	wantStatus(t, resp, http.StatusAccepted)
	loc := resp.Header.Get("Location")
	if loc == "" || resp.Header.Get("Docker-Upload-UUID") == "" {
		t.Fatalf("got Location %q and Docker-Upload-UUID %q, want both set", loc, resp.Header.Get("Docker-Upload-UUID"))
	}

	patch := func(start, end int, chunk []byte) *http.Response {
		return env.do(t, "PATCH", loc, chunk, http.Header{
			"Content-Range":  {fmt.Sprintf("%d-%d", start, end)},
			"Content-Type":   {"application/octet-stream"},
			"Content-Length": {strconv.Itoa(len(chunk))},
		})
	}
	resp = patch(0, 39_999, blob[:40_000])
	wantStatus(t, resp, http.StatusAccepted)
	if got := resp.Header.Get("Range"); got != "0-39999" {
		t.Errorf("after the first chunk got Range %q, want 0-39999", got)
	}

	resp = patch(50_000, 59_999, blob[50_000:60_000]) // skips a chunk
	wantStatus(t, resp, http.StatusRequestedRangeNotSatisfiable)
	if got := resp.Header.Get("Range"); got != "0-39999" {
		t.Errorf("out-of-order chunk: got Range %q, want 0-39999 so the client can resume", got)
	}

	resp = env.do(t, "GET", loc, nil, nil)
	wantStatus(t, resp, http.StatusNoContent)
	if got := resp.Header.Get("Range"); got != "0-39999" {
		t.Errorf("status after a rejected chunk: got Range %q, want 0-39999", got)
	}

	wantStatus(t, patch(40_000, 99_999, blob[40_000:]), http.StatusAccepted)
	resp = env.do(t, "PUT", loc+"?digest="+dg, nil, nil)
	wantStatus(t, resp, http.StatusCreated)
	if got := resp.Header.Get("Docker-Content-Digest"); got != dg {
		t.Errorf("got Docker-Content-Digest %q, want %s", got, dg)
	}
	if got, want := resp.Header.Get("Location"), "/v2/dev/orders/blobs/"+dg; got != want {
		t.Errorf("got Location %q, want %q", got, want)
	}

	checkBlob(t, env, "dev/orders", blob)
	wantStatus(t, env.do(t, "GET", loc, nil, nil), http.StatusNotFound) // the session is over
}

// checkBlob fetches the blob whole, by HEAD and by Range, and compares.
func checkBlob(t *testing.T, env *testEnv, repo string, blob []byte) {
	t.Helper()
	path := "/v2/" + repo + "/blobs/" + sha256Digest(blob)
	resp := env.do(t, "HEAD", path, nil, nil)
	wantStatus(t, resp, http.StatusOK)
	if resp.ContentLength != int64(len(blob)) || resp.Header.Get("Docker-Content-Digest") != sha256Digest(blob) {
		t.Errorf("HEAD: got length %d digest %q, want %d %s", resp.ContentLength,
			resp.Header.Get("Docker-Content-Digest"), len(blob), sha256Digest(blob))
	}
	resp = env.do(t, "GET", path, nil, nil)
	wantStatus(t, resp, http.StatusOK)
	if got, _ := io.ReadAll(resp.Body); !bytes.Equal(got, blob) {
		t.Errorf("GET returned %d bytes that differ from the %d uploaded", len(got), len(blob))
	}
	if len(blob) < 20 {
		return
	}
	resp = env.do(t, "GET", path, nil, http.Header{"Range": {"bytes=10-19"}})
	wantStatus(t, resp, http.StatusPartialContent)
	if got, _ := io.ReadAll(resp.Body); !bytes.Equal(got, blob[10:20]) {
		t.Errorf("range GET returned %x, want %x", got, blob[10:20])
	}
}

func TestMonolithicUploads(t *testing.T) {
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{})

	t.Run("POST with digest", func(t *testing.T) {
		blob := randomBytes(t, 5000)
		resp := env.do(t, "POST", "/v2/dev/orders/blobs/uploads/?digest="+sha256Digest(blob), blob, nil)
		wantStatus(t, resp, http.StatusCreated)
		checkBlob(t, env, "dev/orders", blob)
	})
	t.Run("POST then PUT with the body", func(t *testing.T) {
		blob := randomBytes(t, 5000)
		resp := env.do(t, "POST", "/v2/dev/orders/blobs/uploads/", nil, nil)
		wantStatus(t, resp, http.StatusAccepted)
		resp = env.do(t, "PUT", resp.Header.Get("Location")+"?digest="+sha256Digest(blob), blob,
			http.Header{"Content-Type": {"application/octet-stream"}})
		wantStatus(t, resp, http.StatusCreated)
		checkBlob(t, env, "dev/orders", blob)
	})
	t.Run("streamed PATCH without Content-Range", func(t *testing.T) {
		blob := randomBytes(t, 70_000)
		resp := env.do(t, "POST", "/v2/dev/orders/blobs/uploads/", nil, nil)
		loc := resp.Header.Get("Location")
		wantStatus(t, env.do(t, "PATCH", loc, blob[:30_000], nil), http.StatusAccepted)
		wantStatus(t, env.do(t, "PATCH", loc, blob[30_000:], nil), http.StatusAccepted)
		wantStatus(t, env.do(t, "PUT", loc+"?digest="+sha256Digest(blob), nil, nil), http.StatusCreated)
		checkBlob(t, env, "dev/orders", blob)
	})
	t.Run("sha512 digest", func(t *testing.T) {
		blob := randomBytes(t, 3000)
		dg := sha512Digest(blob)
		resp := env.do(t, "POST", "/v2/dev/orders/blobs/uploads/?digest="+dg, blob, nil)
		wantStatus(t, resp, http.StatusCreated)
		wantStatus(t, env.do(t, "HEAD", "/v2/dev/orders/blobs/"+dg, nil, nil), http.StatusOK)
	})
	t.Run("empty blob", func(t *testing.T) {
		resp := env.do(t, "POST", "/v2/dev/orders/blobs/uploads/?digest="+sha256Digest(nil), nil, nil)
		wantStatus(t, resp, http.StatusCreated)
		checkBlob(t, env, "dev/orders", []byte{})
	})
}

func TestUploadErrors(t *testing.T) {
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{})
	env.create(t, "dev/other", RepoSettings{})
	blob := randomBytes(t, 1000)
	wrong := sha256Digest([]byte("something else"))

	start := func(t *testing.T) string {
		resp := env.do(t, "POST", "/v2/dev/orders/blobs/uploads/", nil, nil)
		wantStatus(t, resp, http.StatusAccepted)
		return resp.Header.Get("Location")
	}
	tests := []struct {
		name   string
		send   func(t *testing.T) *http.Response
		status int
		code   string
	}{
		{"digest mismatch on PUT", func(t *testing.T) *http.Response {
			return env.do(t, "PUT", start(t)+"?digest="+wrong, blob, nil)
		}, http.StatusBadRequest, codeDigestInvalid},
		{"digest mismatch on monolithic POST", func(t *testing.T) *http.Response {
			return env.do(t, "POST", "/v2/dev/orders/blobs/uploads/?digest="+wrong, blob, nil)
		}, http.StatusBadRequest, codeDigestInvalid},
		{"malformed digest", func(t *testing.T) *http.Response {
			return env.do(t, "PUT", start(t)+"?digest=sha256:xyz", blob, nil)
		}, http.StatusBadRequest, codeDigestInvalid},
		{"unsupported digest algorithm", func(t *testing.T) *http.Response {
			return env.do(t, "PUT", start(t)+"?digest=md5:d41d8cd98f00b204e9800998ecf8427e", blob, nil)
		}, http.StatusBadRequest, codeDigestInvalid},
		{"PUT without digest", func(t *testing.T) *http.Response {
			return env.do(t, "PUT", start(t), blob, nil)
		}, http.StatusBadRequest, codeDigestInvalid},
		{"Content-Range disagrees with the body", func(t *testing.T) *http.Response {
			req := env.do(t, "PATCH", start(t), blob, http.Header{"Content-Range": {"0-99"}})
			return req
		}, http.StatusBadRequest, codeSizeInvalid},
		{"garbled Content-Range", func(t *testing.T) *http.Response {
			return env.do(t, "PATCH", start(t), blob, http.Header{"Content-Range": {"ten-twenty"}})
		}, http.StatusBadRequest, codeBlobUploadInvalid},
		{"unknown upload", func(t *testing.T) *http.Response {
			return env.do(t, "PATCH", "/v2/dev/orders/blobs/uploads/no-such-upload", blob, nil)
		}, http.StatusNotFound, codeBlobUploadUnknown},
		{"upload of another repository", func(t *testing.T) *http.Response {
			loc := start(t)
			id := loc[len("/v2/dev/orders/blobs/uploads/"):]
			return env.do(t, "PATCH", "/v2/dev/other/blobs/uploads/"+id, blob, nil)
		}, http.StatusNotFound, codeBlobUploadUnknown},
		{"cancelled upload", func(t *testing.T) *http.Response {
			loc := start(t)
			wantStatus(t, env.do(t, "DELETE", loc, nil, nil), http.StatusNoContent)
			return env.do(t, "PATCH", loc, blob, nil)
		}, http.StatusNotFound, codeBlobUploadUnknown},
		{"unknown blob", func(t *testing.T) *http.Response {
			return env.do(t, "GET", "/v2/dev/orders/blobs/"+wrong, nil, nil)
		}, http.StatusNotFound, codeBlobUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := tt.send(t)
			wantStatus(t, resp, tt.status)
			if code, msg := errorCode(t, resp); code != tt.code {
				t.Errorf("got code %s (%s), want %s", code, msg, tt.code)
			}
		})
	}
	// Nothing from the failed uploads became visible.
	wantStatus(t, env.do(t, "HEAD", "/v2/dev/orders/blobs/"+sha256Digest(blob), nil, nil), http.StatusNotFound)
}

func TestRejectedChunkCanBeRetried(t *testing.T) {
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{})
	blob := randomBytes(t, 2000)
	resp := env.do(t, "POST", "/v2/dev/orders/blobs/uploads/", nil, nil)
	loc := resp.Header.Get("Location")
	wantStatus(t, env.do(t, "PATCH", loc, blob[:1000], http.Header{"Content-Range": {"0-999"}}), http.StatusAccepted)
	// A chunk whose range claims more than it carries is rolled back. It is
	// sent without Content-Length, so only counting the body can catch it ...
	req, err := http.NewRequest("PATCH", env.srv.URL+loc, io.MultiReader(bytes.NewReader(blob[1000:1500])))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Range", "1000-1999")
	short, err := env.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	short.Body.Close()
	if short.StatusCode != http.StatusBadRequest {
		t.Fatalf("short chunk: got status %d, want 400", short.StatusCode)
	}
	// ... so the upload resumes at the same offset and the digest still matches.
	wantStatus(t, env.do(t, "PATCH", loc, blob[1000:], http.Header{"Content-Range": {"1000-1999"}}), http.StatusAccepted)
	wantStatus(t, env.do(t, "PUT", loc+"?digest="+sha256Digest(blob), nil, nil), http.StatusCreated)
	checkBlob(t, env, "dev/orders", blob)
}

func TestBlobsAreScopedToRepositories(t *testing.T) {
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{})
	env.create(t, "dev/other", RepoSettings{})
	blob := randomBytes(t, 1000)
	dg := env.putBlob(t, "dev/orders", blob)
	wantStatus(t, env.do(t, "HEAD", "/v2/dev/other/blobs/"+dg, nil, nil), http.StatusNotFound)

	wantStatus(t, env.do(t, "POST", "/v2/dev/other/blobs/uploads/?mount="+dg+"&from=dev/orders", nil, nil), http.StatusCreated)
	checkBlob(t, env, "dev/other", blob)

	wantStatus(t, env.do(t, "DELETE", "/v2/dev/other/blobs/"+dg, nil, nil), http.StatusAccepted)
	wantStatus(t, env.do(t, "HEAD", "/v2/dev/other/blobs/"+dg, nil, nil), http.StatusNotFound)
	checkBlob(t, env, "dev/orders", blob) // unlinking in one repository leaves the other alone

	resp := env.do(t, "DELETE", "/v2/dev/other/blobs/"+dg, nil, nil)
	wantStatus(t, resp, http.StatusNotFound)
}
