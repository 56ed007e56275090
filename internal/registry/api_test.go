package registry

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestValidateRepositoryName(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string // substring of the error; "" means valid
	}{
		{"dev/orders", ""},
		{"a", ""},
		{"team-a/api/v2", ""},
		{"a.b_c__d---e", ""},
		{"0123", ""},
		{"", "empty"},
		{"Dev/orders", `component "Dev"`},
		{"dev//orders", "empty component"},
		{"/dev", "empty component"},
		{"dev/", "empty component"},
		{"-dev", `component "-dev"`},
		{"dev-", `component "dev-"`},
		{"a..b", `component "a..b"`},
		{"a___b", `component "a___b"`},
		{"_catalog", `component "_catalog"`},
		{"dev/orders:v1", `component "orders:v1"`},
		{strings.Repeat("a", 256), "limit is 255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateRepositoryName(tt.name)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want valid", err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("got valid, want an error mentioning %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("got %q, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{})
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/v2/", http.StatusOK, ""},
		{"GET", "/v2", http.StatusOK, ""},
		{"GET", "/v2/dev/orders/tags/list", http.StatusOK, ""},
		{"GET", "/v2/dev/orders/unknown", http.StatusNotFound, codeNotFound},
		{"GET", "/v3/", http.StatusNotFound, codeNotFound},
		{"GET", "/v2/dev/orders/manifests/", http.StatusNotFound, codeNotFound},
		{"POST", "/v2/", http.StatusMethodNotAllowed, codeUnsupported},
		{"PUT", "/v2/dev/orders/blobs/" + sha256Digest(nil), http.StatusMethodNotAllowed, codeUnsupported},
		{"GET", "/v2/Dev/Orders/tags/list", http.StatusBadRequest, codeNameInvalid},
		{"GET", "/v2/dev/missing/tags/list", http.StatusNotFound, codeNameUnknown},
		{"GET", "/v2/dev/orders/blobs/sha256:abc", http.StatusBadRequest, codeDigestInvalid},
		{"GET", "/v2/dev/orders/tags/list?n=-1", http.StatusBadRequest, codePaginationInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			resp := env.do(t, tt.method, tt.path, nil, nil)
			wantStatus(t, resp, tt.status)
			if got := resp.Header.Get("Docker-Distribution-API-Version"); got != "registry/2.0" {
				t.Errorf("got Docker-Distribution-API-Version %q, want registry/2.0", got)
			}
			if tt.code == "" {
				return
			}
			if code, msg := errorCode(t, resp); code != tt.code {
				t.Errorf("got code %s (%s), want %s", code, msg, tt.code)
			}
		})
	}
}

func TestTagsPagination(t *testing.T) {
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{})
	img := randomImage(t)
	want := []string{"a", "b", "c", "d", "e"}
	for _, tag := range want {
		if err := remote.Write(env.ref(t, "dev/orders:"+tag), img); err != nil {
			t.Fatal(err)
		}
	}
	var got [][]string
	next := "/v2/dev/orders/tags/list?n=2"
	for next != "" && len(got) < 10 {
		resp := env.do(t, "GET", next, nil, nil)
		wantStatus(t, resp, http.StatusOK)
		var page tagList
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
			t.Fatal(err)
		}
		got = append(got, page.Tags)
		next = ""
		if link := resp.Header.Get("Link"); link != "" {
			next = strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
		}
	}
	if g := strings.Join(flatten(got), ","); g != "a,b,c,d,e" || len(got) != 3 {
		t.Errorf("got pages %v, want [a b] [c d] [e]", got)
	}

	// go-containerregistry follows the same Link headers.
	all, err := remote.List(env.repo(t, "dev/orders"), remote.WithPageSize(2))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(all, want) {
		t.Errorf("remote.List = %v, want %v", all, want)
	}

	resp := env.do(t, "GET", "/v2/dev/orders/tags/list?last=c", nil, nil)
	var page tagList
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(page.Tags, []string{"d", "e"}) || page.Name != "dev/orders" {
		t.Errorf("after last=c got %+v, want dev/orders [d e]", page)
	}
}

func flatten(pages [][]string) []string {
	var out []string
	for _, p := range pages {
		out = append(out, p...)
	}
	return out
}

func TestGarbageCollect(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{})
	env.create(t, "dev/keep", RepoSettings{})
	shared := randomImage(t)
	for _, repo := range []string{"dev/orders", "dev/keep"} {
		if err := remote.Write(env.ref(t, repo+":v1"), shared); err != nil {
			t.Fatal(err)
		}
	}
	only := randomImage(t)
	if err := remote.Write(env.ref(t, "dev/orders:v2"), only); err != nil {
		t.Fatal(err)
	}
	before := countBlobs(t, env.dir)

	if res, err := env.reg.GarbageCollect(ctx); err != nil || res.Blobs != 0 {
		t.Fatalf("GC with everything linked removed %d blobs (err %v), want 0", res.Blobs, err)
	}
	if err := env.reg.DeleteRepository(ctx, "dev/orders"); err != nil {
		t.Fatal(err)
	}
	res, err := env.reg.GarbageCollect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The image only dev/orders had is gone: its manifest, config and 2 layers.
	if res.Blobs != 4 || res.Bytes != imageBytes(t, only) {
		t.Errorf("GC removed %d blobs / %d bytes, want 4 / %d", res.Blobs, res.Bytes, imageBytes(t, only))
	}
	if after := countBlobs(t, env.dir); after != before-4 {
		t.Errorf("%d blobs on disk after GC, want %d", after, before-4)
	}
	if _, err := remote.Image(env.ref(t, "dev/keep:v1")); err != nil {
		t.Errorf("shared image after GC: %v, want it still pullable from dev/keep", err)
	}
}

func countBlobs(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(dir, "blobs"), func(_ string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNewRejectsBadOptions(t *testing.T) {
	if _, err := New("", Options{}); err == nil {
		t.Error("New with an empty dir succeeded, want an error")
	}
	if _, err := New(t.TempDir(), Options{MaxManifestBytes: -1}); err == nil || !strings.Contains(err.Error(), "MaxManifestBytes") {
		t.Errorf("New with negative MaxManifestBytes: got %v, want an error naming MaxManifestBytes", err)
	}
}

// Repository names may contain the API's own keywords; the operation is
// always read from the end of the path.
func TestParseRoute(t *testing.T) {
	dg := sha256Digest(nil)
	tests := []struct {
		path string
		want route
		ok   bool
	}{
		{"/v2/", route{kind: routeBase}, true},
		{"/v2/_catalog", route{kind: routeCatalog}, true},
		{"/v2/a/tags/tags/list", route{kind: routeTags, name: "a/tags"}, true},
		{"/v2/x/manifests/manifests/v1", route{kind: routeManifest, name: "x/manifests", ref: "v1"}, true},
		{"/v2/x/blobs/blobs/" + dg, route{kind: routeBlob, name: "x/blobs", ref: dg}, true},
		{"/v2/x/blobs/uploads/", route{kind: routeUploadStart, name: "x"}, true},
		{"/v2/x/blobs/uploads", route{kind: routeUploadStart, name: "x"}, true},
		{"/v2/x/y/blobs/uploads/abc", route{kind: routeUpload, name: "x/y", ref: "abc"}, true},
		{"/v2/x/referrers/" + dg, route{kind: routeReferrers, name: "x", ref: dg}, true},
		{"/v2/x/referrers/referrers/" + dg, route{kind: routeReferrers, name: "x/referrers", ref: dg}, true},
		{"/v2/x/referrers/", route{}, false},
		{"/v2/tags/list", route{}, false},
		{"/v2x/", route{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, ok := parseRoute(tt.path)
			if ok != tt.ok || got != tt.want {
				t.Errorf("parseRoute(%q) = %+v, %v; want %+v, %v", tt.path, got, ok, tt.want, tt.ok)
			}
		})
	}
}
