package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// user is a test account: its password and the repository prefixes it may
// pull and push.
type user struct {
	password   string
	pull, push []string
}

// basicAuthorizer is a small Authorizer like goldenpath's: Basic credentials,
// per-prefix grants. Delete is granted with push.
func basicAuthorizer(users map[string]user) Authorizer {
	return func(r *http.Request, repo string, access Access) (string, error) {
		name, pass, ok := r.BasicAuth()
		if !ok {
			return "", fmt.Errorf("%w: log in with your goldenpath token", ErrUnauthenticated)
		}
		u, found := users[name]
		if !found || u.password != pass {
			return "", fmt.Errorf("%w: unknown user or wrong token", ErrUnauthenticated)
		}
		grants := u.pull
		if access != Pull {
			grants = u.push
		}
		if repo == "" || slices.ContainsFunc(grants, func(p string) bool { return strings.HasPrefix(repo, p) }) {
			return name, nil
		}
		return "", fmt.Errorf("%w: %s may not %s %s", ErrDenied, name, access, repo)
	}
}

func authEnv(t *testing.T) *testEnv {
	t.Helper()
	env := newEnv(t, Options{Authorize: basicAuthorizer(map[string]user{
		"alice": {password: "a-secret", pull: []string{"team-a/", "team-b/", "team-c/"}, push: []string{"team-a/", "team-c/"}},
		"bob":   {password: "b-secret", pull: []string{"team-a/"}},
		"carol": {password: "c-secret", pull: []string{"team-c/"}, push: []string{"team-c/"}},
	})})
	for _, repo := range []string{"team-a/api", "team-a/web", "team-b/db"} {
		env.create(t, repo, RepoSettings{})
	}
	return env
}

func TestAuthorization(t *testing.T) {
	env := authEnv(t)
	alice := remote.WithAuth(&authn.Basic{Username: "alice", Password: "a-secret"})
	bob := remote.WithAuth(&authn.Basic{Username: "bob", Password: "b-secret"})
	img := randomImage(t)
	if err := remote.Write(env.ref(t, "team-a/api:v1"), img, alice); err != nil {
		t.Fatalf("alice pushes to team-a/api: %v", err)
	}

	tests := []struct {
		name   string
		op     func() error
		status int
		code   string
	}{
		{"anonymous pull", func() error { _, err := remote.Image(env.ref(t, "team-a/api:v1"), noRetry); return err },
			http.StatusUnauthorized, codeUnauthorized},
		// The first request of a push is a HEAD, whose 401 has no body to carry a code.
		{"anonymous push", func() error { return remote.Write(env.ref(t, "team-a/api:v2"), img, noRetry) },
			http.StatusUnauthorized, ""},
		{"wrong password", func() error {
			_, err := remote.Image(env.ref(t, "team-a/api:v1"), noRetry,
				remote.WithAuth(&authn.Basic{Username: "bob", Password: "nope"}))
			return err
		}, http.StatusUnauthorized, codeUnauthorized},
		{"pull-only user pushes", func() error { return remote.Write(env.ref(t, "team-a/api:v2"), img, bob, noRetry) },
			http.StatusForbidden, codeDenied},
		{"pull outside grants", func() error { _, err := remote.Image(env.ref(t, "team-b/db:v1"), bob, noRetry); return err },
			http.StatusForbidden, codeDenied},
		{"pull-only user deletes", func() error { return remote.Delete(env.ref(t, "team-a/api:v1"), bob, noRetry) },
			http.StatusForbidden, codeDenied},
		{"granted pull", func() error { _, err := remote.Image(env.ref(t, "team-a/api:v1"), bob); return err }, 0, ""},
		{"crane with basic credentials", func() error {
			_, err := crane.Pull(env.host+"/team-a/api:v1", crane.Insecure,
				crane.WithAuth(&authn.Basic{Username: "bob", Password: "b-secret"}))
			return err
		}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op()
			if tt.status == 0 {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				return
			}
			wantRegistryError(t, err, tt.status, tt.code)
		})
	}
}

func TestAuthChallengeAndMessages(t *testing.T) {
	env := authEnv(t)
	resp := env.do(t, "GET", "/v2/", nil, nil)
	wantStatus(t, resp, http.StatusUnauthorized)
	if got, want := resp.Header.Get("WWW-Authenticate"), `Basic realm="goldenpath"`; got != want {
		t.Errorf("got WWW-Authenticate %q, want %q", got, want)
	}
	code, msg := errorCode(t, resp)
	if code != codeUnauthorized || !strings.Contains(msg, "log in with your goldenpath token") {
		t.Errorf("got %s %q, want UNAUTHORIZED with the Authorizer's message", code, msg)
	}

	hdr := http.Header{"Authorization": {basicHeader("bob", "b-secret")}}
	resp = env.do(t, "GET", "/v2/team-b/db/tags/list", nil, hdr)
	wantStatus(t, resp, http.StatusForbidden)
	if code, msg := errorCode(t, resp); code != codeDenied || !strings.Contains(msg, "bob may not pull team-b/db") {
		t.Errorf("got %s %q, want DENIED with the Authorizer's message", code, msg)
	}

	// Authorization comes before existence, so outsiders cannot probe names.
	resp = env.do(t, "GET", "/v2/no/such/tags/list", nil, nil)
	wantStatus(t, resp, http.StatusUnauthorized)

	resp = env.do(t, "GET", "/v2/", nil, hdr)
	wantStatus(t, resp, http.StatusOK)
}

func basicHeader(user, pass string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, pass)
	return req.Header.Get("Authorization")
}

func TestCatalogIsFiltered(t *testing.T) {
	env := authEnv(t)
	reg, err := name.NewRegistry(env.host, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, pass string
		want       []string
	}{
		{"bob", "b-secret", []string{"team-a/api", "team-a/web"}},
		{"alice", "a-secret", []string{"team-a/api", "team-a/web", "team-b/db"}},
	}
	for _, tt := range tests {
		for _, pageSize := range []int{1, 2, 100} {
			t.Run(fmt.Sprintf("%s page %d", tt.user, pageSize), func(t *testing.T) {
				got, err := remote.Catalog(context.Background(), reg, remote.WithPageSize(pageSize),
					remote.WithAuth(&authn.Basic{Username: tt.user, Password: tt.pass}))
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("got catalog %v, want %v", got, tt.want)
				}
			})
		}
	}
	_, err = remote.Catalog(context.Background(), reg, noRetry)
	wantRegistryError(t, err, http.StatusUnauthorized, codeUnauthorized)
}

func TestAuthorizerFailureIsInternal(t *testing.T) {
	env := newEnv(t, Options{Authorize: func(*http.Request, string, Access) (string, error) {
		return "", errors.New("secret store unreachable at 10.0.0.7")
	}})
	resp := env.do(t, "GET", "/v2/", nil, nil)
	wantStatus(t, resp, http.StatusInternalServerError)
	if code, msg := errorCode(t, resp); code != codeUnknown || strings.Contains(msg, "10.0.0.7") {
		t.Errorf("got %s %q, want UNKNOWN without internal detail", code, msg)
	}
}

func TestMountNeedsPullOnSource(t *testing.T) {
	env := authEnv(t)
	alice := remote.WithAuth(&authn.Basic{Username: "alice", Password: "a-secret"})
	img := randomImage(t)
	if err := remote.Write(env.ref(t, "team-a/api:v1"), img, alice); err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	layer := digestString(t, layers[0])
	// carol may push to team-c but not pull from team-a; alice may do both.
	env.create(t, "team-c/app", RepoSettings{})
	tests := []struct {
		user, pass string
		want       int
	}{
		{"carol", "c-secret", http.StatusAccepted}, // falls back to an upload
		{"alice", "a-secret", http.StatusCreated},  // mounted
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			resp := env.do(t, "POST", "/v2/team-c/app/blobs/uploads/?mount="+layer+"&from=team-a/api", nil,
				http.Header{"Authorization": {basicHeader(tt.user, tt.pass)}})
			wantStatus(t, resp, tt.want)
			if tt.want == http.StatusCreated && resp.Header.Get("Docker-Content-Digest") != layer {
				t.Errorf("got Docker-Content-Digest %q, want %s", resp.Header.Get("Docker-Content-Digest"), layer)
			}
			head := env.do(t, "HEAD", "/v2/team-c/app/blobs/"+layer, nil,
				http.Header{"Authorization": {basicHeader("alice", "a-secret")}})
			if linked := head.StatusCode == http.StatusOK; linked != (tt.want == http.StatusCreated) {
				t.Errorf("after %s's mount the blob HEAD is %d: a mount must link the blob only when allowed", tt.user, head.StatusCode)
			}
		})
	}
}

// A mount without from (automatic content discovery) takes the blob from a
// repository the subject may pull, and from no other.
func TestMountWithoutFrom(t *testing.T) {
	env := authEnv(t)
	alice := remote.WithAuth(&authn.Basic{Username: "alice", Password: "a-secret"})
	img := randomImage(t)
	if err := remote.Write(env.ref(t, "team-a/api:v1"), img, alice); err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	layer := digestString(t, layers[0])
	env.create(t, "team-c/app", RepoSettings{})
	tests := []struct {
		name, user, pass, digest string
		want                     int
	}{
		{"carol may not pull team-a", "carol", "c-secret", layer, http.StatusAccepted},
		{"no repository has it", "alice", "a-secret", sha256Digest([]byte("nowhere")), http.StatusAccepted},
		{"malformed digest", "alice", "a-secret", "sha256:12", http.StatusAccepted},
		{"alice may pull team-a", "alice", "a-secret", layer, http.StatusCreated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := env.do(t, "POST", "/v2/team-c/app/blobs/uploads/?mount="+tt.digest, nil,
				http.Header{"Authorization": {basicHeader(tt.user, tt.pass)}})
			wantStatus(t, resp, tt.want)
			if tt.want == http.StatusAccepted && !strings.HasPrefix(resp.Header.Get("Location"), "/v2/team-c/app/blobs/uploads/") {
				t.Errorf("got Location %q, want an upload session to fall back to", resp.Header.Get("Location"))
			}
			if tt.want == http.StatusCreated && resp.Header.Get("Location") != "/v2/team-c/app/blobs/"+layer {
				t.Errorf("got Location %q, want the mounted blob", resp.Header.Get("Location"))
			}
			head := env.do(t, "HEAD", "/v2/team-c/app/blobs/"+layer, nil,
				http.Header{"Authorization": {basicHeader("alice", "a-secret")}})
			if linked := head.StatusCode == http.StatusOK; linked != (tt.want == http.StatusCreated) {
				t.Errorf("after %s's mount the blob HEAD is %d: a mount must link the blob only when allowed", tt.user, head.StatusCode)
			}
		})
	}
}
