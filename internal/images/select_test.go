package images

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func day(d int) time.Time { return time.Date(2024, 1, d, 0, 0, 0, 0, time.UTC) }

// tags makes name-only candidates, as semver and alphabetical need.
func tags(names ...string) []Candidate {
	out := make([]Candidate, len(names))
	for i, n := range names {
		out[i] = Candidate{Tag: n, Digest: "sha256:" + strings.Repeat("0", 63) + string(rune('a'+i%6))}
	}
	return out
}

func built(tag string, created time.Time, platforms ...string) Candidate {
	c := Candidate{Tag: tag, Digest: "sha256:" + tag, Created: created}
	for _, p := range platforms {
		c.Images = append(c.Images, PlatformImage{Platform: p, Digest: "sha256:" + tag + p, Created: created})
	}
	return c
}

type selectCase struct {
	name       string
	policy     Policy
	candidates []Candidate
	want       string // selected tag; "" means none
	wantErr    string
}

var selectCases = []selectCase{
	// semver
	{name: "semver picks the highest version, numerically", policy: Policy{},
		candidates: tags("1.0.0", "1.9.0", "1.10.0", "1.2.0"), want: "1.10.0"},
	{name: "semver ignores tags that are not versions", policy: Policy{},
		candidates: tags("latest", "main", "1.0.0", "abc1234z"), want: "1.0.0"},
	{name: "semver accepts a v prefix and short versions", policy: Policy{Constraint: "1.x"},
		candidates: tags("v1.3", "1.2.9", "2.0"), want: "v1.3"},
	{name: "semver with no version tag selects nothing", policy: Policy{},
		candidates: tags("latest", "main", "feature-x"), want: ""},
	{name: "semver tilde keeps the minor", policy: Policy{Constraint: "~1.2"},
		candidates: tags("1.2.0", "1.2.9", "1.3.0", "1.1.99"), want: "1.2.9"},
	{name: "semver x range keeps the minor", policy: Policy{Constraint: "1.2.x"},
		candidates: tags("1.2.3", "1.2.10", "1.3.0"), want: "1.2.10"},
	{name: "semver caret keeps the major", policy: Policy{Constraint: "^1.0"},
		candidates: tags("1.0.0", "1.9.3", "2.0.0"), want: "1.9.3"},
	{name: "semver explicit range", policy: Policy{Constraint: ">=1.0 <1.5"},
		candidates: tags("0.9.0", "1.4.9", "1.5.0"), want: "1.4.9"},
	{name: "semver constraint excluding every tag", policy: Policy{Constraint: "~3.0"},
		candidates: tags("1.0.0", "2.0.0"), want: ""},
	{name: "semver skips pre-releases unless the constraint names one", policy: Policy{Constraint: "1.x"},
		candidates: tags("1.2.0", "1.3.0-rc.1"), want: "1.2.0"},
	{name: "semver takes pre-releases with -0", policy: Policy{Constraint: "1.x-0"},
		candidates: tags("1.2.0", "1.3.0-rc.1"), want: "1.3.0-rc.1"},
	{name: "semver with -0 still prefers the release", policy: Policy{Constraint: ">=1.0.0-0"},
		candidates: tags("1.3.0-rc.1", "1.3.0"), want: "1.3.0"},
	{name: "semver without constraint skips pre-releases", policy: Policy{},
		candidates: tags("1.0.0", "2.0.0-beta.1"), want: "1.0.0"},
	{name: "semver with only pre-releases and no constraint selects nothing", policy: Policy{},
		candidates: tags("2.0.0-alpha", "2.0.0-beta"), want: ""},
	{name: "semver tie between v1.2.3 and 1.2.3 goes to the greater tag", policy: Policy{},
		candidates: tags("1.2.3", "v1.2.3"), want: "v1.2.3"},
	{name: "semver ignores build metadata, tie to the greater tag", policy: Policy{},
		candidates: tags("1.2.3+b2", "1.2.3+b10"), want: "1.2.3+b2"},
	{name: "semver with allowTags", policy: Policy{AllowTags: "regexp:^v"},
		candidates: tags("v1.0.0", "2.0.0"), want: "v1.0.0"},
	{name: "semver with ignoreTags", policy: Policy{IgnoreTags: []string{"2.*"}},
		candidates: tags("1.0.0", "2.0.0", "2.1.0"), want: "1.0.0"},

	// newest-build
	{name: "newest-build picks the newest build date", policy: Policy{Strategy: StrategyNewestBuild},
		candidates: []Candidate{built("a1", day(1)), built("c3", day(3)), built("b2", day(2))}, want: "c3"},
	{name: "newest-build ignores names and versions", policy: Policy{Strategy: StrategyNewestBuild},
		candidates: []Candidate{built("9.9.9", day(1)), built("0.0.1", day(2))}, want: "0.0.1"},
	{name: "newest-build tie goes to the lexically greatest tag (Image Updater's example)",
		policy:     Policy{Strategy: "latest"},
		candidates: []Candidate{built("f33bacd", day(5)), built("dev", day(5)), built("latest", day(5))}, want: "latest"},
	{name: "newest-build with allowTags for commit SHAs",
		policy:     Policy{Strategy: StrategyNewestBuild, AllowTags: "regexp:^[0-9a-f]{7}$"},
		candidates: []Candidate{built("f33bacd", day(5)), built("dev", day(6)), built("latest", day(6)), built("a5fb3d3", day(4))}, want: "f33bacd"},
	{name: "newest-build with ignoreTags",
		policy:     Policy{Strategy: StrategyNewestBuild, IgnoreTags: []string{"latest", "master"}},
		candidates: []Candidate{built("abc", day(1)), built("latest", day(9)), built("master", day(8))}, want: "abc"},
	{name: "newest-build ignoring everything selects nothing",
		policy:     Policy{Strategy: StrategyNewestBuild, IgnoreTags: []string{"*"}},
		candidates: []Candidate{built("abc", day(1))}, want: ""},
	{name: "newest-build reads dates from images when Created is zero",
		policy: Policy{Strategy: StrategyNewestBuild},
		candidates: []Candidate{
			{Tag: "old", Digest: "sha256:1", Images: []PlatformImage{{Platform: "linux/amd64", Created: day(2)}}},
			{Tag: "new", Digest: "sha256:2", Images: []PlatformImage{{Platform: "linux/amd64", Created: day(3)}}},
		}, want: "new"},
	{name: "newest-build compares only the asked platform's images",
		policy: Policy{Strategy: StrategyNewestBuild, Platforms: []string{"linux/amd64"}},
		candidates: []Candidate{
			{Tag: "multi", Digest: "sha256:m", Created: day(9), Images: []PlatformImage{
				{Platform: "linux/amd64", Created: day(1)}, {Platform: "linux/arm64", Created: day(9)}}},
			built("amd", day(5), "linux/amd64"),
		}, want: "amd"},
	{name: "newest-build without platforms uses any image's date",
		policy: Policy{Strategy: StrategyNewestBuild},
		candidates: []Candidate{
			{Tag: "multi", Digest: "sha256:m", Images: []PlatformImage{
				{Platform: "linux/amd64", Created: day(1)}, {Platform: "linux/arm64", Created: day(9)}}},
			built("amd", day(5), "linux/amd64"),
		}, want: "multi"},
	{name: "newest-build with platforms skips tags without that platform",
		policy:     Policy{Strategy: StrategyNewestBuild, Platforms: []string{"linux/arm64"}},
		candidates: []Candidate{built("amd", day(9), "linux/amd64"), built("arm", day(1), "linux/arm64/v8")}, want: "arm"},
	{name: "newest-build with platforms skips candidates whose images are unknown",
		policy:     Policy{Strategy: StrategyNewestBuild, Platforms: []string{"linux/amd64"}},
		candidates: []Candidate{built("unknown", day(9)), built("amd", day(1), "linux/amd64")}, want: "amd"},
	{name: "newest-build: an image that names no platform never satisfies one",
		policy:     Policy{Strategy: StrategyNewestBuild, Platforms: []string{"linux/amd64"}},
		candidates: []Candidate{built("noplatform", day(9), "")}, want: ""},
	{name: "newest-build accepts any of several platforms",
		policy:     Policy{Strategy: StrategyNewestBuild, Platforms: []string{"linux/arm/v7", "linux/amd64"}},
		candidates: []Candidate{built("arm6", day(9), "linux/arm/v6"), built("arm7", day(3), "linux/arm/v7"), built("amd", day(2), "linux/amd64")}, want: "arm7"},

	// digest
	{name: "digest follows the named tag", policy: Policy{Strategy: StrategyDigest, Tag: "latest"},
		candidates: []Candidate{built("1.0.0", day(9)), built("latest", day(1)), built("dev", day(5))}, want: "latest"},
	{name: "digest selects nothing when the tag is absent", policy: Policy{Strategy: StrategyDigest, Tag: "prod"},
		candidates: []Candidate{built("latest", day(1))}, want: ""},
	{name: "digest needs the tag's digest", policy: Policy{Strategy: StrategyDigest, Tag: "latest"},
		candidates: []Candidate{{Tag: "latest"}}, wantErr: `candidate "latest" has no digest`},
	{name: "digest honours platforms", policy: Policy{Strategy: StrategyDigest, Tag: "latest", Platforms: []string{"linux/arm64"}},
		candidates: []Candidate{built("latest", day(1), "linux/amd64")}, want: ""},
	{name: "digest with a matching platform", policy: Policy{Strategy: StrategyDigest, Tag: "latest", Platforms: []string{"linux/arm64"}},
		candidates: []Candidate{built("latest", day(1), "linux/amd64", "linux/arm64")}, want: "latest"},
	{name: "digest paused by ignoreTags", policy: Policy{Strategy: StrategyDigest, Tag: "latest", IgnoreTags: []string{"*"}},
		candidates: []Candidate{built("latest", day(1))}, want: ""},

	// alphabetical
	{name: "alphabetical picks the greatest calendar version", policy: Policy{Strategy: StrategyAlphabetical},
		candidates: tags("2024-01-02", "2024-10-01", "2023-12-31"), want: "2024-10-01"},
	{name: "alphabetical is lexical, not numeric", policy: Policy{Strategy: "name"},
		candidates: tags("9", "10", "100"), want: "9"},
	{name: "alphabetical is case sensitive (bytes)", policy: Policy{Strategy: StrategyAlphabetical},
		candidates: tags("Zeta", "alpha"), want: "alpha"},
	{name: "alphabetical with a date filter",
		policy:     Policy{Strategy: StrategyAlphabetical, AllowTags: `regexp:^[0-9]{4}-[0-9]{2}-[0-9]{2}$`},
		candidates: tags("2024-01-02", "latest", "zz-top", "2024-03-01"), want: "2024-03-01"},
	{name: "alphabetical with platforms", policy: Policy{Strategy: StrategyAlphabetical, Platforms: []string{"linux/amd64"}},
		candidates: []Candidate{built("b", day(1), "linux/arm64"), built("a", day(1), "linux/amd64")}, want: "a"},

	// common
	{name: "no candidates", policy: Policy{}, candidates: nil, want: ""},
	{name: "invalid policy", policy: Policy{Strategy: "bogus"}, candidates: tags("1.0.0"), wantErr: "policy: strategy"},
}

func TestSelect(t *testing.T) {
	for _, tt := range selectCases {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := Select(tt.policy, tt.candidates)
			checkSelection(t, got, ok, err, tt)
		})
	}
}

// TestSelectIgnoresOrder: the registry lists tags in whatever order it likes;
// the selection must not depend on it.
func TestSelectIgnoresOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tt := range selectCases {
		if tt.wantErr != "" {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			for range 20 {
				cands := append([]Candidate(nil), tt.candidates...)
				rng.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
				got, ok, err := Select(tt.policy, cands)
				checkSelection(t, got, ok, err, tt)
			}
		})
	}
}

func checkSelection(t *testing.T, got Candidate, ok bool, err error, tt selectCase) {
	t.Helper()
	if tt.wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Fatalf("Select() error = %v, want one containing %q", err, tt.wantErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("Select() error = %v", err)
	}
	if tt.want == "" {
		if ok {
			t.Fatalf("Select() = %q, want no selection", got.Tag)
		}
		return
	}
	if !ok || got.Tag != tt.want {
		t.Fatalf("Select() = %q (ok %v), want %q", got.Tag, ok, tt.want)
	}
	for _, c := range tt.candidates {
		if c.Tag == got.Tag && c.Digest != got.Digest {
			t.Fatalf("Select() digest = %q, want the candidate's %q", got.Digest, c.Digest)
		}
	}
}

func TestLimiterSpacesRequests(t *testing.T) {
	l := newLimiter(10) // 100 ms apart, bursts of 10
	now := time.Unix(0, 0)
	for i := range 10 {
		if d := l.reserve(now); d != 0 {
			t.Fatalf("request %d of the burst waits %v, want 0", i+1, d)
		}
	}
	for i, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond} {
		if d := l.reserve(now); d != want {
			t.Fatalf("request %d after the burst waits %v, want %v", i+11, d, want)
		}
	}
	// After a quiet second and more, a full burst is available again.
	later := now.Add(2 * time.Second)
	if d := l.reserve(later); d != 0 {
		t.Fatalf("first request after a pause waits %v, want 0", d)
	}
}

func TestImageCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := newImageCache(2)
	c.add("a", []PlatformImage{{Digest: "a"}})
	c.add("b", []PlatformImage{{Digest: "b"}})
	c.get("a") // a is now the most recently used
	c.add("c", []PlatformImage{{Digest: "c"}})
	if _, ok := c.get("b"); ok {
		t.Errorf("b is still cached, want it evicted as least recently used")
	}
	for _, d := range []string{"a", "c"} {
		if got, ok := c.get(d); !ok || got[0].Digest != d {
			t.Errorf("get(%q) = %v, %v; want it cached", d, got, ok)
		}
	}
	if c.len() != 2 {
		t.Errorf("cache holds %d entries, want 2", c.len())
	}
}
