package images

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/goldenpathidp/goldenpath/internal/registry"
)

// backend is a real registry served over loopback HTTP.
type backend struct {
	name string
	host string
	// create makes a repository where the registry needs it (goldenpath's
	// registry only accepts pushes to repositories its provisioner created).
	create func(t testing.TB, repo string)
	// auth is the credential pushes use; nil means anonymous.
	auth authn.Authenticator
}

// embeddedOptions configure goldenpath's registry in a test.
type embeddedOptions struct {
	onPush    func(ctx context.Context, ev registry.PushEvent)
	authorize registry.Authorizer
}

// embedded serves goldenpath's own registry.
func embedded(t testing.TB, o embeddedOptions) *backend {
	t.Helper()
	reg, err := registry.New(t.TempDir(), registry.Options{OnPush: o.onPush, Authorize: o.authorize})
	if err != nil {
		t.Fatalf("registry.New: %v", err)
	}
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	return &backend{name: "embedded", host: hostOf(t, srv.URL), create: func(t testing.TB, repo string) {
		t.Helper()
		if _, err := reg.CreateRepository(context.Background(), repo, registry.RepoSettings{}); err != nil {
			t.Fatalf("CreateRepository(%q): %v", repo, err)
		}
	}}
}

// external serves go-containerregistry's in-process registry, standing in for
// any other OCI registry (one without push events).
func external(t testing.TB) *backend {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return &backend{name: "external", host: hostOf(t, srv.URL), create: func(testing.TB, string) {}}
}

func hostOf(t testing.TB, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// repo is the full repository name on this backend.
func (b *backend) repo(path string) string { return b.host + "/" + path }

// image is a small random image with a build date and, unless "", a platform
// in its config.
func image(t testing.TB, created time.Time, platform string) v1.Image {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: created}
	if platform != "" {
		p := mustPlatform(t, platform)
		cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func mustPlatform(t testing.TB, s string) *v1.Platform {
	t.Helper()
	parts := strings.Split(s, "/")
	p := &v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p
}

func (b *backend) ref(t testing.TB, path, tag string) name.Reference {
	t.Helper()
	ref, err := name.NewTag(b.repo(path)+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// push pushes img as path:tag and returns its digest.
func (b *backend) push(t testing.TB, path, tag string, img v1.Image) string {
	t.Helper()
	if err := remote.Write(b.ref(t, path, tag), img, b.options()...); err != nil {
		t.Fatalf("pushing %s:%s to the %s registry: %v", path, tag, b.name, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func (b *backend) options() []remote.Option {
	if b.auth == nil {
		return nil
	}
	return []remote.Option{remote.WithAuth(b.auth)}
}

// pushImage pushes a fresh image built at created for platform.
func (b *backend) pushImage(t testing.TB, path, tag string, created time.Time, platform string) string {
	t.Helper()
	return b.push(t, path, tag, image(t, created, platform))
}

// entry is one image of a multi-platform index.
type entry struct {
	platform string
	created  time.Time
}

// pushIndex pushes an OCI index with one image per entry (an entry with
// platform "unknown/unknown" is an attestation, as BuildKit writes them).
func (b *backend) pushIndex(t testing.TB, path, tag string, entries ...entry) string {
	t.Helper()
	var idx v1.ImageIndex = empty.Index
	idx = mutate.IndexMediaType(idx, types.OCIImageIndex)
	for _, e := range entries {
		img := image(t, e.created, "")
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img,
			Descriptor: v1.Descriptor{Platform: mustPlatform(t, e.platform)}})
	}
	if err := remote.WriteIndex(b.ref(t, path, tag), idx, b.options()...); err != nil {
		t.Fatalf("pushing index %s:%s to the %s registry: %v", path, tag, b.name, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// counting counts the requests a Registry sends.
type counting struct {
	n    atomic.Int64
	base http.RoundTripper
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// lister is a Registry for tests: no rate limit worth the name on the test
// hosts unless rates says otherwise.
func lister(t testing.TB, opts RegistryOptions, hosts ...string) *Registry {
	t.Helper()
	if opts.Rates == nil {
		opts.Rates = map[string]float64{}
		for _, h := range hosts {
			opts.Rates[h] = 10000
		}
	}
	r, err := NewRegistry(opts)
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	return r
}

// fmtAll prints v every way fmt can.
func fmtAll(v any) string { return fmt.Sprintf("%v %+v %#v %s", v, v, v, v) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
