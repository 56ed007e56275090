package registry

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// imageManifest renders a manifest JSON referencing config and layers.
func imageManifest(mediaType, config string, layers ...string) []byte {
	type desc struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int    `json:"size"`
	}
	m := struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType,omitempty"`
		Config        desc   `json:"config"`
		Layers        []desc `json:"layers"`
	}{SchemaVersion: 2, MediaType: mediaType, Config: desc{"application/vnd.oci.image.config.v1+json", config, 2}, Layers: []desc{}}
	for _, l := range layers {
		m.Layers = append(m.Layers, desc{"application/vnd.oci.image.layer.v1.tar+gzip", l, 10})
	}
	b, _ := json.Marshal(m)
	return b
}

func sha512Digest(b []byte) string {
	s := sha512.Sum512(b)
	return "sha512:" + hex.EncodeToString(s[:])
}

func indexManifest(children ...string) []byte {
	var parts []string
	for _, c := range children {
		parts = append(parts, fmt.Sprintf(`{"mediaType":%q,"digest":%q,"size":100}`, mediaOCIManifest, c))
	}
	return []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[%s]}`, mediaOCIIndex, strings.Join(parts, ",")))
}

func TestManifestValidation(t *testing.T) {
	env := newEnv(t, Options{MaxManifestBytes: 4096})
	env.create(t, "dev/orders", RepoSettings{})
	env.create(t, "dev/other", RepoSettings{})
	config := env.putBlob(t, "dev/orders", []byte("{}"))
	layer := env.putBlob(t, "dev/orders", []byte("layer bytes"))
	foreign := env.putBlob(t, "dev/other", []byte("only in dev/other"))
	missing := sha256Digest([]byte("never pushed"))
	good := imageManifest(mediaOCIManifest, config, layer)

	tests := []struct {
		name        string
		ref         string
		contentType string
		body        []byte
		status      int
		code        string
		msgHas      string
	}{
		{"valid by tag", "v1", mediaOCIManifest, good, http.StatusCreated, "", ""},
		{"valid by digest", sha256Digest(good), mediaOCIManifest, good, http.StatusCreated, "", ""},
		{"valid by sha512 digest", sha512Digest(good), mediaOCIManifest, good, http.StatusCreated, "", ""},
		{"type from mediaType field", "v2", "", good, http.StatusCreated, "", ""},
		{"not JSON", "bad", mediaOCIManifest, []byte("{not json"), http.StatusBadRequest, codeManifestInvalid, "not valid JSON"},
		{"unsupported type", "bad", "application/vnd.docker.distribution.manifest.v1+json",
			imageManifest("", config, layer), http.StatusBadRequest, codeManifestInvalid, "not supported"},
		{"content type disagrees", "bad", mediaDockerManifest, good, http.StatusBadRequest, codeManifestInvalid, "does not match"},
		{"schema version 1", "bad", mediaOCIManifest,
			[]byte(strings.Replace(string(good), `"schemaVersion":2`, `"schemaVersion":1`, 1)),
			http.StatusBadRequest, codeManifestInvalid, "schemaVersion"},
		{"malformed layer digest", "bad", mediaOCIManifest, imageManifest(mediaOCIManifest, config, "sha256:1234"),
			http.StatusBadRequest, codeManifestInvalid, "layers[0].digest"},
		{"no config", "bad", mediaOCIManifest, []byte(`{"schemaVersion":2,"layers":[]}`),
			http.StatusBadRequest, codeManifestInvalid, "config"},
		{"missing layer", "bad", mediaOCIManifest, imageManifest(mediaOCIManifest, config, layer, missing),
			http.StatusBadRequest, codeManifestBlobUnknown, "layers[1]"},
		{"layer of another repository", "bad", mediaOCIManifest, imageManifest(mediaOCIManifest, config, foreign),
			http.StatusBadRequest, codeManifestBlobUnknown, "dev/orders"},
		{"missing config blob", "bad", mediaOCIManifest, imageManifest(mediaOCIManifest, missing),
			http.StatusBadRequest, codeManifestBlobUnknown, "config"},
		{"index with missing child", "bad", mediaOCIIndex, indexManifest(sha256Digest(good), missing),
			http.StatusBadRequest, codeManifestBlobUnknown, "manifests[1]"},
		{"index of pushed children", "multi", mediaOCIIndex, indexManifest(sha256Digest(good)), http.StatusCreated, "", ""},
		{"digest in URL does not match", missing, mediaOCIManifest, good, http.StatusBadRequest, codeDigestInvalid, "not " + missing},
		{"invalid tag", "-bad", mediaOCIManifest, good, http.StatusBadRequest, codeManifestInvalid, "-bad"},
		{"too large", "big", mediaOCIManifest, []byte(`{"pad":"` + strings.Repeat("x", 5000) + `"}`),
			http.StatusRequestEntityTooLarge, codeSizeInvalid, "4096"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := http.Header{}
			if tt.contentType != "" {
				hdr.Set("Content-Type", tt.contentType)
			}
			resp := env.do(t, "PUT", "/v2/dev/orders/manifests/"+tt.ref, tt.body, hdr)
			wantStatus(t, resp, tt.status)
			if tt.code == "" {
				want := sha256Digest(tt.body)
				if strings.HasPrefix(tt.ref, "sha512:") {
					want = tt.ref
				}
				if got := resp.Header.Get("Docker-Content-Digest"); got != want {
					t.Errorf("got Docker-Content-Digest %q, want %s", got, want)
				}
				wantStatus(t, env.do(t, "HEAD", resp.Header.Get("Location"), nil, nil), http.StatusOK)
				return
			}
			code, msg := errorCode(t, resp)
			if code != tt.code || !strings.Contains(msg, tt.msgHas) {
				t.Errorf("got %s %q, want %s mentioning %q", code, msg, tt.code, tt.msgHas)
			}
		})
	}
	// Rejected manifests left nothing behind.
	if tags := listTags(t, env, "dev/orders"); strings.Join(tags, ",") != "multi,v1,v2" {
		t.Errorf("tags %v, want only the accepted multi, v1, v2", tags)
	}
}

func TestGetManifest(t *testing.T) {
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{})
	config := env.putBlob(t, "dev/orders", []byte("{}"))
	body := imageManifest(mediaDockerManifest, config)
	wantStatus(t, env.do(t, "PUT", "/v2/dev/orders/manifests/v1", body,
		http.Header{"Content-Type": {mediaDockerManifest}}), http.StatusCreated)

	for _, ref := range []string{"v1", sha256Digest(body)} {
		for _, method := range []string{"GET", "HEAD"} {
			t.Run(method+" "+ref, func(t *testing.T) {
				resp := env.do(t, method, "/v2/dev/orders/manifests/"+ref, nil, nil)
				wantStatus(t, resp, http.StatusOK)
				if got := resp.Header.Get("Content-Type"); got != mediaDockerManifest {
					t.Errorf("got Content-Type %q, want the pushed %s", got, mediaDockerManifest)
				}
				if got := resp.Header.Get("Docker-Content-Digest"); got != sha256Digest(body) {
					t.Errorf("got Docker-Content-Digest %q, want %s", got, sha256Digest(body))
				}
				if resp.ContentLength != int64(len(body)) {
					t.Errorf("got Content-Length %d, want %d", resp.ContentLength, len(body))
				}
				got, _ := io.ReadAll(resp.Body)
				if method == "GET" && string(got) != string(body) {
					t.Errorf("got body %s, want the pushed bytes %s", got, body)
				}
			})
		}
	}
	resp := env.do(t, "GET", "/v2/dev/orders/manifests/v9", nil, nil)
	wantStatus(t, resp, http.StatusNotFound)
	if code, _ := errorCode(t, resp); code != codeManifestUnknown {
		t.Errorf("unknown tag: got %s, want %s", code, codeManifestUnknown)
	}
}

// A push by digest may set tags with ?tag= parameters; each is confirmed in
// OCI-Tag, each push event names its tag, and a refused tag refuses them all.
func TestManifestTagParameters(t *testing.T) {
	var events []PushEvent
	env := newEnv(t, Options{OnPush: func(_ context.Context, ev PushEvent) { events = append(events, ev) }})
	env.create(t, "dev/orders", RepoSettings{TagImmutability: true})
	config := env.putBlob(t, "dev/orders", []byte("{}"))
	first := imageManifest(mediaOCIManifest, config)
	d := sha256Digest(first)
	resp := env.putManifest(t, "dev/orders", d+"?tag=1.2.3&tag=1.2&tag=latest&tag=1.2", mediaOCIManifest, first)
	if got := resp.Header.Values("OCI-Tag"); strings.Join(got, "|") != "1.2.3, 1.2, latest" {
		t.Errorf("got OCI-Tag %q, want one header listing 1.2.3, 1.2, latest", got)
	}
	if tags := listTags(t, env, "dev/orders"); strings.Join(tags, ",") != "1.2,1.2.3,latest" {
		t.Errorf("got tags %v, want 1.2, 1.2.3, latest", tags)
	}
	var evTags []string
	for _, ev := range events {
		if ev.Digest != d {
			t.Errorf("push event for %s, want %s", ev.Digest, d)
		}
		evTags = append(evTags, ev.Tag)
	}
	if strings.Join(evTags, ",") != "1.2.3,1.2,latest" {
		t.Errorf("push events for tags %v, want one per tag", evTags)
	}

	second := imageManifest(mediaOCIManifest, config, env.putBlob(t, "dev/orders", []byte("layer")))
	many := strings.Repeat("&tag=t", maxTagParams+1)
	for _, tt := range []struct {
		name, query string
		status      int
		code, msg   string
	}{
		{"immutable tag among new ones", "?tag=2.0&tag=latest", http.StatusBadRequest, codeDenied, "latest"},
		{"invalid tag", "?tag=2.0&tag=-bad", http.StatusBadRequest, codeManifestInvalid, "query parameter tag"},
		{"too many tags", "?" + many[1:], http.StatusRequestURITooLong, codeUnsupported, fmt.Sprint(maxTagParams)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := env.do(t, "PUT", "/v2/dev/orders/manifests/"+sha256Digest(second)+tt.query, second,
				http.Header{"Content-Type": {mediaOCIManifest}})
			wantStatus(t, resp, tt.status)
			if code, msg := errorCode(t, resp); code != tt.code || !strings.Contains(msg, tt.msg) {
				t.Errorf("got %s %q, want %s mentioning %q", code, msg, tt.code, tt.msg)
			}
			if tags := listTags(t, env, "dev/orders"); strings.Join(tags, ",") != "1.2,1.2.3,latest" {
				t.Errorf("got tags %v after a refused push, want them unchanged", tags)
			}
		})
	}
}

// A tag that cannot exist names no manifest: 404 MANIFEST_UNKNOWN as the
// spec says, for every method that reads or deletes by tag.
func TestInvalidTagIsUnknown(t *testing.T) {
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{})
	for _, method := range []string{"GET", "HEAD", "DELETE"} {
		for _, tag := range []string{".INVALID_MANIFEST_NAME", "-bad", strings.Repeat("a", 129)} {
			t.Run(method+" "+tag, func(t *testing.T) {
				resp := env.do(t, method, "/v2/dev/orders/manifests/"+tag, nil, nil)
				wantStatus(t, resp, http.StatusNotFound)
				if method == "HEAD" {
					return
				}
				if code, msg := errorCode(t, resp); code != codeManifestUnknown || !strings.Contains(msg, "must match") {
					t.Errorf("got %s %q, want %s saying what a tag must match", code, msg, codeManifestUnknown)
				}
			})
		}
	}
}
