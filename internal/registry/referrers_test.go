package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// emptyJSON is the OCI empty descriptor's content, the config of artifacts.
var emptyJSON = []byte("{}")

const mediaEmptyJSON = "application/vnd.oci.empty.v1+json"

// artifact renders an OCI image manifest with a subject. artifactType "" leaves
// the field out, so the referrers API must report the config's media type.
func artifact(artifactType, configType, config, subject string, annotations map[string]string) []byte {
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     mediaOCIManifest,
		"config":        map[string]any{"mediaType": configType, "digest": config, "size": 2},
		"layers":        []any{},
		"subject":       map[string]any{"mediaType": mediaOCIManifest, "digest": subject, "size": 100},
	}
	if artifactType != "" {
		m["artifactType"] = artifactType
	}
	if annotations != nil {
		m["annotations"] = annotations
	}
	b, _ := json.Marshal(m)
	return b
}

// listReferrers GETs the referrers of subject (with an optional query) and
// decodes the index, checking what every answer must carry.
func (e *testEnv) listReferrers(t testing.TB, repo, subject, query string) (referrersList, *http.Response) {
	t.Helper()
	resp := e.do(t, "GET", "/v2/"+repo+"/referrers/"+subject+query, nil, nil)
	wantStatus(t, resp, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != mediaOCIIndex {
		t.Errorf("got Content-Type %q, want %s", ct, mediaOCIIndex)
	}
	var list referrersList
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatalf("decoding referrers: %v", err)
	}
	if list.SchemaVersion != 2 || list.MediaType != mediaOCIIndex || list.Manifests == nil {
		t.Errorf("got %+v, want an OCI index with schemaVersion 2 and a manifests array", list)
	}
	return list, resp
}

func digestsOf(list referrersList) []string {
	var out []string
	for _, d := range list.Manifests {
		out = append(out, d.Digest)
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// referrersFixture is an image with three referrers: an SBOM with
// artifactType and annotations, a signature without artifactType (reported
// as its config's type) and an index of attestations.
type referrersFixture struct {
	subject, sbom, sig, index string
	sbomBody                  []byte
}

func pushReferrersFixture(t *testing.T, env *testEnv, repo string) referrersFixture {
	t.Helper()
	config := env.putBlob(t, repo, emptyJSON)
	image := imageManifest(mediaOCIManifest, config)
	var f referrersFixture
	f.subject = sha256Digest(image)
	env.putManifest(t, repo, "v1", mediaOCIManifest, image)

	f.sbomBody = artifact("application/vnd.example.sbom.v1", mediaEmptyJSON, config, f.subject,
		map[string]string{"org.example.format": "spdx"})
	f.sbom = sha256Digest(f.sbomBody)
	sig := artifact("", "application/vnd.example.signature.config.v1+json", config, f.subject, nil)
	f.sig = sha256Digest(sig)
	idx := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"artifactType":"application/vnd.example.attestations.v1",`+
		`"manifests":[{"mediaType":%q,"digest":%q,"size":%d}],"subject":{"mediaType":%q,"digest":%q,"size":%d},`+
		`"annotations":{"org.example.kind":"bundle"}}`,
		mediaOCIIndex, mediaOCIManifest, f.sbom, len(f.sbomBody), mediaOCIManifest, f.subject, len(image)))
	f.index = sha256Digest(idx)

	for _, p := range []struct {
		ref, mediaType string
		body           []byte
	}{{f.sbom, mediaOCIManifest, f.sbomBody}, {"signature", mediaOCIManifest, sig}, {f.index, mediaOCIIndex, idx}} {
		resp := env.putManifest(t, repo, p.ref, p.mediaType, p.body)
		if got := resp.Header.Get("OCI-Subject"); got != f.subject {
			t.Errorf("PUT %s: got OCI-Subject %q, want %s", p.ref, got, f.subject)
		}
	}
	return f
}

func TestReferrersList(t *testing.T) {
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{})
	f := pushReferrersFixture(t, env, "dev/orders")

	list, resp := env.listReferrers(t, "dev/orders", f.subject, "")
	if got := resp.Header.Get("OCI-Filters-Applied"); got != "" {
		t.Errorf("unfiltered list: got OCI-Filters-Applied %q, want none", got)
	}
	if got, want := digestsOf(list), sorted(f.sbom, f.sig, f.index); !slices.Equal(got, want) {
		t.Fatalf("got referrers %v, want %v", got, want)
	}
	want := map[string]referrerDescriptor{
		f.sbom: {MediaType: mediaOCIManifest, Digest: f.sbom, Size: int64(len(f.sbomBody)),
			ArtifactType: "application/vnd.example.sbom.v1", Annotations: map[string]string{"org.example.format": "spdx"}},
		f.sig:   {MediaType: mediaOCIManifest, Digest: f.sig, ArtifactType: "application/vnd.example.signature.config.v1+json"},
		f.index: {MediaType: mediaOCIIndex, Digest: f.index, ArtifactType: "application/vnd.example.attestations.v1", Annotations: map[string]string{"org.example.kind": "bundle"}},
	}
	for _, got := range list.Manifests {
		w := want[got.Digest]
		if got.MediaType != w.MediaType || got.ArtifactType != w.ArtifactType || fmt.Sprint(got.Annotations) != fmt.Sprint(w.Annotations) {
			t.Errorf("referrer %s: got %+v, want %+v", got.Digest, got, w)
		}
		if got.Size <= 0 || (w.Size != 0 && got.Size != w.Size) {
			t.Errorf("referrer %s: got size %d, want the manifest's size", got.Digest, got.Size)
		}
	}

	t.Run("artifactType filter", func(t *testing.T) {
		list, resp := env.listReferrers(t, "dev/orders", f.subject, "?artifactType=application/vnd.example.sbom.v1")
		if got := resp.Header.Get("OCI-Filters-Applied"); got != "artifactType" {
			t.Errorf("got OCI-Filters-Applied %q, want artifactType", got)
		}
		if got := digestsOf(list); !slices.Equal(got, []string{f.sbom}) {
			t.Errorf("got %v, want only the SBOM %s", got, f.sbom)
		}
		list, _ = env.listReferrers(t, "dev/orders", f.subject, "?artifactType=application/vnd.example.none")
		if len(list.Manifests) != 0 {
			t.Errorf("filter matching nothing: got %v, want an empty list", digestsOf(list))
		}
	})
	t.Run("unknown subject is an empty list", func(t *testing.T) {
		list, _ := env.listReferrers(t, "dev/orders", sha256Digest([]byte("nothing refers to me")), "")
		if len(list.Manifests) != 0 {
			t.Errorf("got %v, want an empty list", digestsOf(list))
		}
	})
	t.Run("another repository's referrers are not listed", func(t *testing.T) {
		env.create(t, "dev/other", RepoSettings{})
		list, _ := env.listReferrers(t, "dev/other", f.subject, "")
		if len(list.Manifests) != 0 {
			t.Errorf("got %v, want an empty list", digestsOf(list))
		}
	})
	for _, tt := range []struct {
		name, path string
		status     int
		code       string
	}{
		{"malformed digest", "/v2/dev/orders/referrers/sha256:abc", http.StatusBadRequest, codeDigestInvalid},
		{"a tag is not a digest", "/v2/dev/orders/referrers/v1", http.StatusBadRequest, codeDigestInvalid},
		{"unknown repository", "/v2/dev/nope/referrers/" + f.subject, http.StatusNotFound, codeNameUnknown},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := env.do(t, "GET", tt.path, nil, nil)
			wantStatus(t, resp, tt.status)
			if code, _ := errorCode(t, resp); code != tt.code {
				t.Errorf("got %s, want %s", code, tt.code)
			}
		})
	}
}

// A referrer may be pushed before its subject, and a subject's deletion does
// not hide its referrers (clients delete them, or push the subject again).
func TestReferrersOfMissingSubject(t *testing.T) {
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{})
	config := env.putBlob(t, "dev/orders", emptyJSON)
	missing := sha256Digest([]byte("not pushed yet"))
	body := artifact("application/vnd.example.sbom.v1", mediaEmptyJSON, config, missing, nil)
	resp := env.putManifest(t, "dev/orders", sha256Digest(body), mediaOCIManifest, body)
	if got := resp.Header.Get("OCI-Subject"); got != missing {
		t.Errorf("got OCI-Subject %q, want %s", got, missing)
	}
	list, _ := env.listReferrers(t, "dev/orders", missing, "")
	if got := digestsOf(list); !slices.Equal(got, []string{sha256Digest(body)}) {
		t.Errorf("got %v, want the referrer of the missing subject", got)
	}
}

func TestReferrersSurviveRestartAndFollowDeletes(t *testing.T) {
	dir := t.TempDir()
	env := openEnv(t, dir, Options{})
	env.create(t, "dev/orders", RepoSettings{})
	f := pushReferrersFixture(t, env, "dev/orders")
	env.srv.Close()

	env = openEnv(t, dir, Options{})
	list, _ := env.listReferrers(t, "dev/orders", f.subject, "")
	if got, want := digestsOf(list), sorted(f.sbom, f.sig, f.index); !slices.Equal(got, want) {
		t.Fatalf("after a restart: got %v, want %v", got, want)
	}

	// Deleting a referrer's tag keeps the manifest, so it stays listed.
	wantStatus(t, env.do(t, "DELETE", "/v2/dev/orders/manifests/signature", nil, nil), http.StatusAccepted)
	list, _ = env.listReferrers(t, "dev/orders", f.subject, "")
	if got := digestsOf(list); !slices.Contains(got, f.sig) {
		t.Errorf("after deleting its tag: got %v, want the signature still listed", got)
	}
	// Deleting the manifest removes it from the list; the index that holds
	// the SBOM goes first, as a client must.
	for _, d := range []string{f.sig, f.index} {
		wantStatus(t, env.do(t, "DELETE", "/v2/dev/orders/manifests/"+d, nil, nil), http.StatusAccepted)
	}
	list, _ = env.listReferrers(t, "dev/orders", f.subject, "")
	if got := digestsOf(list); !slices.Equal(got, []string{f.sbom}) {
		t.Errorf("after deleting two referrers: got %v, want only %s", got, f.sbom)
	}
	subject, _ := parseDigest(f.subject)
	for _, s := range []string{f.sig, f.index} {
		d, _ := parseDigest(s)
		if ok, err := fileExists(env.reg.referrerLink("dev/orders", subject, d)); err != nil || ok {
			t.Errorf("the entry of deleted referrer %s is still on disk (err %v)", s, err)
		}
	}
	// Deleting the subject leaves its referrers listed.
	wantStatus(t, env.do(t, "DELETE", "/v2/dev/orders/manifests/"+f.subject, nil, nil), http.StatusAccepted)
	list, _ = env.listReferrers(t, "dev/orders", f.subject, "")
	if got := digestsOf(list); !slices.Equal(got, []string{f.sbom}) {
		t.Errorf("after deleting the subject: got %v, want %s still listed", got, f.sbom)
	}
	// A deleted and re-created repository starts empty.
	ctx := context.Background()
	if err := env.reg.DeleteRepository(ctx, "dev/orders"); err != nil {
		t.Fatal(err)
	}
	env.create(t, "dev/orders", RepoSettings{})
	list, _ = env.listReferrers(t, "dev/orders", f.subject, "")
	if len(list.Manifests) != 0 {
		t.Errorf("after re-creating the repository: got %v, want an empty list", digestsOf(list))
	}
	env.srv.Close()
	env = openEnv(t, dir, Options{})
	list, _ = env.listReferrers(t, "dev/orders", f.subject, "")
	if len(list.Manifests) != 0 {
		t.Errorf("after re-creating the repository and a restart: got %v, want an empty list", digestsOf(list))
	}
}

// Manifests with a subject pushed before the registry had the referrers API
// (their entries missing) are listed after the first start with it.
func TestReferrersIndexesOlderManifests(t *testing.T) {
	dir := t.TempDir()
	env := openEnv(t, dir, Options{})
	env.create(t, "dev/orders", RepoSettings{})
	f := pushReferrersFixture(t, env, "dev/orders")
	env.srv.Close()
	// What an older version left on disk: no entries, no marker.
	if err := os.RemoveAll(filepath.Join(dir, "repositories", "dev", "orders", manifestsDir, referrersDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, referrersIndexedFile)); err != nil {
		t.Fatal(err)
	}
	env = openEnv(t, dir, Options{})
	list, _ := env.listReferrers(t, "dev/orders", f.subject, "")
	if got, want := digestsOf(list), sorted(f.sbom, f.sig, f.index); !slices.Equal(got, want) {
		t.Fatalf("after upgrading: got %v, want %v", got, want)
	}
	if ok, err := fileExists(filepath.Join(dir, referrersIndexedFile)); err != nil || !ok {
		t.Errorf("the indexed marker was not written (ok=%v, err=%v): every start would re-read every manifest", ok, err)
	}
}

// A list larger than one index may be is paged with Link headers, each page
// within the manifest size limit, filters carried along.
func TestReferrersPaging(t *testing.T) {
	const limit = 2048
	env := newEnv(t, Options{MaxManifestBytes: limit})
	env.create(t, "dev/orders", RepoSettings{})
	config := env.putBlob(t, "dev/orders", emptyJSON)
	subject := sha256Digest([]byte("subject"))
	var want []string
	for i := range 12 {
		body := artifact("application/vnd.example.sig.v1", mediaEmptyJSON, config, subject,
			map[string]string{"org.example.note": fmt.Sprintf("%03d %s", i, strings.Repeat("x", 200))})
		env.putManifest(t, "dev/orders", sha256Digest(body), mediaOCIManifest, body)
		want = append(want, sha256Digest(body))
	}
	slices.Sort(want)
	var got []string
	next := "/v2/dev/orders/referrers/" + subject + "?artifactType=application/vnd.example.sig.v1"
	for pages := 0; next != ""; pages++ {
		if pages > len(want) {
			t.Fatalf("more than %d pages: the Link headers loop", len(want))
		}
		resp := env.do(t, "GET", next, nil, nil)
		wantStatus(t, resp, http.StatusOK)
		if resp.ContentLength > limit {
			t.Errorf("page %d is %d bytes, over the %d-byte manifest limit", pages, resp.ContentLength, limit)
		}
		if resp.Header.Get("OCI-Filters-Applied") != "artifactType" {
			t.Errorf("page %d: the filter was not applied (%q)", pages, next)
		}
		var list referrersList
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
			t.Fatal(err)
		}
		for _, d := range list.Manifests {
			got = append(got, d.Digest)
		}
		next = ""
		if link := resp.Header.Get("Link"); link != "" {
			next = strings.TrimPrefix(strings.Split(link, ">")[0], "<")
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged through %d referrers %v, want each of the %d once: %v", len(got), got, len(want), want)
	}
}

// The subject of a Docker manifest is not a field of its format: it is not
// indexed and no OCI-Subject is sent, which tells clients to use the tag schema.
func TestReferrersIgnoreDockerManifests(t *testing.T) {
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{})
	config := env.putBlob(t, "dev/orders", emptyJSON)
	subject := sha256Digest([]byte("subject"))
	var m map[string]any
	_ = json.Unmarshal(artifact("", mediaEmptyJSON, config, subject, nil), &m)
	m["mediaType"] = mediaDockerManifest
	body, _ := json.Marshal(m)
	resp := env.putManifest(t, "dev/orders", "docker", mediaDockerManifest, body)
	if got := resp.Header.Get("OCI-Subject"); got != "" {
		t.Errorf("got OCI-Subject %q for a Docker manifest, want none", got)
	}
	if list, _ := env.listReferrers(t, "dev/orders", subject, ""); len(list.Manifests) != 0 {
		t.Errorf("got %v, want no referrers", digestsOf(list))
	}
}

func TestReferrersBadSubject(t *testing.T) {
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{})
	config := env.putBlob(t, "dev/orders", emptyJSON)
	body := artifact("application/vnd.example.sbom.v1", mediaEmptyJSON, config, "sha256:1234", nil)
	resp := env.do(t, "PUT", "/v2/dev/orders/manifests/v1", body, http.Header{"Content-Type": {mediaOCIManifest}})
	wantStatus(t, resp, http.StatusBadRequest)
	if code, msg := errorCode(t, resp); code != codeManifestInvalid || !strings.Contains(msg, "subject.digest") {
		t.Errorf("got %s %q, want %s naming subject.digest", code, msg, codeManifestInvalid)
	}
}

// The referrers list is a read: it needs pull access to the repository, and
// someone who may not pull gets the Authorizer's refusal.
func TestReferrersNeedPull(t *testing.T) {
	var asked []Access
	env := newEnv(t, Options{Authorize: func(r *http.Request, repo string, access Access) (string, error) {
		if r.URL.Path != "/v2/" && strings.Contains(r.URL.Path, "/referrers/") {
			asked = append(asked, access)
			if r.Header.Get("Authorization") == "" {
				return "", fmt.Errorf("%w: log in", ErrUnauthenticated)
			}
		}
		return "someone", nil
	}})
	env.create(t, "dev/orders", RepoSettings{})
	path := "/v2/dev/orders/referrers/" + sha256Digest(nil)
	wantStatus(t, env.do(t, "GET", path, nil, nil), http.StatusUnauthorized)
	wantStatus(t, env.do(t, "GET", path, nil, http.Header{"Authorization": {"Basic eDp5"}}), http.StatusOK)
	if !slices.Equal(asked, []Access{Pull, Pull}) {
		t.Errorf("the Authorizer was asked for %v, want pull access each time", asked)
	}
	wantStatus(t, env.do(t, "DELETE", path, nil, http.Header{"Authorization": {"Basic eDp5"}}), http.StatusMethodNotAllowed)
}
