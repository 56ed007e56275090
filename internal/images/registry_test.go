package images

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/goldenpathidp/goldenpath/internal/registry"
)

func date(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 12, 0, 0, 0, time.UTC) }

// fixture is what pushFixture stored: tag → digest.
type fixture map[string]string

// pushFixture pushes the same set of tags to a backend:
//
//	1.0.0        index linux/amd64 + linux/arm64, 2024-01-01, plus a 2030 attestation
//	1.2.0        linux/amd64 2024-03-01 (latest is the same image)
//	1.2.5        linux/amd64 2024-02-01 (a higher version built earlier)
//	1.3.0-rc.1   linux/amd64 2024-04-01
//	v2.0.0       linux/amd64 2024-01-15
//	latest       = 1.2.0
//	sha-abc1234  linux/amd64 2024-05-01
//	multi        index linux/amd64 2024-01-01 + linux/arm64 2024-06-01
func pushFixture(t *testing.T, b *backend, path string) fixture {
	t.Helper()
	b.create(t, path)
	f := fixture{}
	f["1.0.0"] = b.pushIndex(t, path, "1.0.0", entry{"linux/amd64", date(2024, 1, 1)},
		entry{"linux/arm64", date(2024, 1, 1)}, entry{"unknown/unknown", date(2030, 1, 1)})
	img120 := image(t, date(2024, 3, 1), "linux/amd64")
	f["1.2.0"] = b.push(t, path, "1.2.0", img120)
	f["latest"] = b.push(t, path, "latest", img120)
	f["1.2.5"] = b.pushImage(t, path, "1.2.5", date(2024, 2, 1), "linux/amd64")
	f["1.3.0-rc.1"] = b.pushImage(t, path, "1.3.0-rc.1", date(2024, 4, 1), "linux/amd64")
	f["v2.0.0"] = b.pushImage(t, path, "v2.0.0", date(2024, 1, 15), "linux/amd64")
	f["sha-abc1234"] = b.pushImage(t, path, "sha-abc1234", date(2024, 5, 1), "linux/amd64")
	f["multi"] = b.pushIndex(t, path, "multi", entry{"linux/amd64", date(2024, 1, 1)}, entry{"linux/arm64", date(2024, 6, 1)})
	return f
}

// strategyCases run against every backend with the fixture above.
var strategyCases = []struct {
	name   string
	policy Policy
	want   string // "" means no selection
}{
	{"semver default takes the highest release", Policy{}, "v2.0.0"},
	{"semver tilde", Policy{Constraint: "~1.2"}, "1.2.5"},
	{"semver x range skips the pre-release", Policy{Constraint: "1.x"}, "1.2.5"},
	{"semver with -0 takes the pre-release", Policy{Constraint: "1.x-0"}, "1.3.0-rc.1"},
	{"semver with a platform only an index has", Policy{Platforms: []string{"linux/arm64"}}, "1.0.0"},
	{"semver excluding everything", Policy{Constraint: "~9.0"}, ""},
	{"newest-build ignores attestations' dates", Policy{Strategy: StrategyNewestBuild}, "multi"},
	{"newest-build for linux/amd64", Policy{Strategy: StrategyNewestBuild, Platforms: []string{"linux/amd64"}}, "sha-abc1234"},
	{"newest-build for linux/arm64/v8", Policy{Strategy: StrategyNewestBuild, Platforms: []string{"linux/arm64/v8"}}, "multi"},
	{"newest-build (alias latest) with allowTags", Policy{Strategy: "latest", AllowTags: "regexp:^sha-"}, "sha-abc1234"},
	{"newest-build with ignoreTags", Policy{Strategy: StrategyNewestBuild, IgnoreTags: []string{"sha-*", "multi"}}, "1.3.0-rc.1"},
	{"newest-build ignoring every tag", Policy{Strategy: StrategyNewestBuild, IgnoreTags: []string{"*"}}, ""},
	{"alphabetical", Policy{Strategy: StrategyAlphabetical}, "v2.0.0"},
	{"alphabetical with allowTags", Policy{Strategy: StrategyAlphabetical, AllowTags: "regexp:^[0-9]"}, "1.3.0-rc.1"},
	{"alphabetical (alias name) with ignoreTags", Policy{Strategy: "name", IgnoreTags: []string{"v*"}}, "sha-abc1234"},
	{"digest follows latest", Policy{Strategy: StrategyDigest, Tag: "latest"}, "latest"},
	{"digest of a multi-platform tag", Policy{Strategy: StrategyDigest, Tag: "multi", Platforms: []string{"linux/arm64"}}, "multi"},
	{"digest on a platform the tag lacks", Policy{Strategy: StrategyDigest, Tag: "latest", Platforms: []string{"linux/arm64"}}, ""},
	{"digest of an absent tag", Policy{Strategy: StrategyDigest, Tag: "prod"}, ""},
}

func TestRegistryLatest(t *testing.T) {
	for _, b := range []*backend{embedded(t, embeddedOptions{}), external(t)} {
		t.Run(b.name, func(t *testing.T) {
			f := pushFixture(t, b, "dev/orders")
			r := lister(t, RegistryOptions{}, b.host)
			for _, tt := range strategyCases {
				t.Run(tt.name, func(t *testing.T) {
					got, ok, err := r.Latest(context.Background(), b.repo("dev/orders"), tt.policy)
					if err != nil {
						t.Fatalf("Latest: %v", err)
					}
					switch {
					case tt.want == "" && ok:
						t.Fatalf("Latest = %s, want no selection", got.Tag)
					case tt.want == "":
					case !ok || got.Tag != tt.want:
						t.Fatalf("Latest = %q (ok %v), want %q", got.Tag, ok, tt.want)
					case got.Digest != f[tt.want]:
						t.Fatalf("Latest digest = %s, want %s, the digest pushed as %s", got.Digest, f[tt.want], tt.want)
					}
				})
			}
		})
	}
}

func TestRegistryCandidatesOrderAndDates(t *testing.T) {
	for _, b := range []*backend{embedded(t, embeddedOptions{}), external(t)} {
		t.Run(b.name, func(t *testing.T) {
			f := pushFixture(t, b, "dev/orders")
			r := lister(t, RegistryOptions{}, b.host)
			got, err := r.Candidates(context.Background(), b.repo("dev/orders"),
				Policy{Strategy: StrategyNewestBuild, Platforms: []string{"linux/amd64"}})
			if err != nil {
				t.Fatalf("Candidates: %v", err)
			}
			// Newest amd64 build first; equal dates by the greater tag.
			want := []string{"sha-abc1234", "1.3.0-rc.1", "latest", "1.2.0", "1.2.5", "v2.0.0", "multi", "1.0.0"}
			var tags []string
			for _, c := range got {
				tags = append(tags, c.Tag)
				if c.Digest != f[c.Tag] {
					t.Errorf("%s digest = %s, want %s", c.Tag, c.Digest, f[c.Tag])
				}
			}
			if !slices.Equal(tags, want) {
				t.Fatalf("Candidates order = %v, want %v", tags, want)
			}
			multi := got[slices.Index(tags, "multi")]
			if len(multi.Images) != 2 || !multi.Created.Equal(date(2024, 6, 1)) {
				t.Errorf("multi: %d images created %v, want 2 images, newest 2024-06-01", len(multi.Images), multi.Created)
			}
			idx := got[slices.Index(tags, "1.0.0")]
			for _, img := range idx.Images {
				if img.Platform == "unknown/unknown" {
					t.Errorf("1.0.0 lists its attestation as a platform image: %+v", img)
				}
			}
		})
	}
}

func TestRegistryBasicAuthWithToken(t *testing.T) {
	const token = "gp_0123456789abcdef"
	authorize := func(r *http.Request, _ string, access registry.Access) (string, error) {
		user, pass, ok := r.BasicAuth()
		switch {
		case !ok:
			return "", registry.ErrUnauthenticated
		case access == registry.Pull && pass == token:
			return user, nil
		case user == "ci" && pass == "ci-token":
			return user, nil
		}
		return "", registry.ErrUnauthenticated
	}
	b := embedded(t, embeddedOptions{authorize: authorize})
	b.auth = &authn.Basic{Username: "ci", Password: "ci-token"}
	b.create(t, "dev/orders")
	want := b.pushImage(t, "dev/orders", "1.0.0", date(2024, 1, 1), "linux/amd64")

	tests := []struct {
		name     string
		keychain authn.Keychain
		wantErr  bool
	}{
		{"token for this host", BasicKeychain(b.host, "goldenpath", token), false},
		{"token for another host", BasicKeychain("elsewhere.example:5000", "goldenpath", token), true},
		{"wrong token", BasicKeychain(b.host, "goldenpath", "gp_wrong"), true},
		{"anonymous", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := lister(t, RegistryOptions{Keychain: tt.keychain}, b.host)
			got, _, err := r.Latest(context.Background(), b.repo("dev/orders"), Policy{})
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Latest succeeded (%s), want an authentication error", got.Tag)
				}
				return
			}
			if err != nil || got.Digest != want {
				t.Fatalf("Latest = %+v, %v; want 1.0.0 at %s", got, err, want)
			}
		})
	}
}

func TestBasicKeychainNeverPrintsThePassword(t *testing.T) {
	k := BasicKeychain("127.0.0.1:5000", "goldenpath", "gp_secret_token")
	for _, s := range []string{fmtAll(k), k.(basicKeychain).LogValue().String()} {
		if contains(s, "gp_secret_token") {
			t.Errorf("keychain printed its password: %s", s)
		}
	}
}

func TestRegistryRateLimit(t *testing.T) {
	b := external(t)
	b.pushImage(t, "dev/orders", "1.0.0", date(2024, 1, 1), "linux/amd64")
	count := &counting{base: http.DefaultTransport}
	const rate = 20.0
	r := lister(t, RegistryOptions{Transport: count, Rates: map[string]float64{b.host: rate}})
	start := time.Now()
	for range 30 {
		if _, err := r.Resolve(context.Background(), b.repo("dev/orders"), "1.0.0"); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	n := count.n.Load()
	// A burst of one second's worth, then one request every 1/rate.
	least := time.Duration(float64(n-int64(rate)) / rate * float64(time.Second))
	if elapsed < least-20*time.Millisecond {
		t.Fatalf("%d requests took %v, want at least %v at %v requests per second", n, elapsed, least, rate)
	}
}

func TestRegistryDefaultRates(t *testing.T) {
	r := lister(t, RegistryOptions{Rates: map[string]float64{"ghcr.io": 5}})
	tests := []struct {
		host string
		want float64
	}{
		{"index.docker.io", DockerHubRate},
		{"registry-1.docker.io", DockerHubRate},
		{"quay.io", DefaultRate},
		{"ghcr.io", 5},
	}
	for _, tt := range tests {
		if got := r.rate(tt.host); got != tt.want {
			t.Errorf("rate(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestRegistryCachesByDigest(t *testing.T) {
	b := external(t)
	f := pushFixture(t, b, "dev/orders")
	count := &counting{base: http.DefaultTransport}
	r := lister(t, RegistryOptions{Transport: count}, b.host)
	ctx := context.Background()
	policy := Policy{Strategy: StrategyNewestBuild}
	if _, _, err := r.Latest(ctx, b.repo("dev/orders"), policy); err != nil {
		t.Fatal(err)
	}
	first := count.n.Swap(0)
	got, _, err := r.Latest(ctx, b.repo("dev/orders"), policy)
	if err != nil {
		t.Fatal(err)
	}
	second := count.n.Load()
	// Again: one listing and one HEAD per tag, no manifest or config fetch.
	if want := int64(1 + len(f)); second != want {
		t.Errorf("second evaluation sent %d requests, want %d (first sent %d)", second, want, first)
	}
	if got.Tag != "multi" {
		t.Errorf("second evaluation selected %s, want multi", got.Tag)
	}
	count.n.Store(0)
	if _, err := r.Describe(ctx, b.repo("dev/orders"), f["multi"]); err != nil {
		t.Fatal(err)
	}
	if n := count.n.Load(); n != 0 {
		t.Errorf("Describe of a cached digest sent %d requests, want 0", n)
	}
}

func TestRegistryNotFound(t *testing.T) {
	for _, b := range []*backend{embedded(t, embeddedOptions{}), external(t)} {
		t.Run(b.name, func(t *testing.T) {
			b.create(t, "dev/orders")
			b.pushImage(t, "dev/orders", "1.0.0", date(2024, 1, 1), "linux/amd64")
			r := lister(t, RegistryOptions{}, b.host)
			ctx := context.Background()
			if _, err := r.Resolve(ctx, b.repo("dev/orders"), "9.9.9"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Resolve of a missing tag = %v, want ErrNotFound", err)
			}
			if _, err := r.Tags(ctx, b.repo("dev/missing")); !errors.Is(err, ErrNotFound) {
				t.Errorf("Tags of a missing repository = %v, want ErrNotFound", err)
			}
		})
	}
}

// countingKeychain counts how often credentials are asked for.
type countingKeychain struct{ n atomic.Int64 }

func (k *countingKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	k.n.Add(1)
	return authn.Anonymous, nil
}

func TestRegistryAsksForCredentialsAgainAfterTTL(t *testing.T) {
	b := external(t)
	b.pushImage(t, "dev/orders", "1.0.0", date(2024, 1, 1), "linux/amd64")
	tests := []struct {
		name string
		ttl  time.Duration
		want int64
	}{
		{"within the TTL credentials are reused", 0, 1},
		{"past the TTL they are asked for again", time.Nanosecond, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kc := &countingKeychain{}
			r := lister(t, RegistryOptions{Keychain: kc, CredentialTTL: tt.ttl}, b.host)
			for range 3 {
				if _, err := r.Tags(context.Background(), b.repo("dev/orders")); err != nil {
					t.Fatal(err)
				}
			}
			if got := kc.n.Load(); got != tt.want {
				t.Errorf("keychain asked %d times for 3 listings, want %d", got, tt.want)
			}
		})
	}
}

func TestRegistryOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    RegistryOptions
		wantErr string
	}{
		{"zero", RegistryOptions{}, ""},
		{"zero rate", RegistryOptions{Rates: map[string]float64{"ghcr.io": 0}}, `rates["ghcr.io"] is 0`},
		{"empty host", RegistryOptions{Rates: map[string]float64{"": 1}}, "rates: a registry host must not be empty"},
		{"negative cache", RegistryOptions{CacheSize: -1}, "cacheSize is -1"},
		{"negative TTL", RegistryOptions{CredentialTTL: -time.Second}, "credentialTTL is -1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
