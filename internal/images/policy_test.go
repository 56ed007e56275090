package images

import (
	"strings"
	"testing"
)

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name    string
		policy  Policy
		wantErr string // "" means valid; else a substring naming the field and rule
	}{
		{name: "zero value is semver", policy: Policy{}},
		{name: "semver with tilde", policy: Policy{Strategy: StrategySemver, Constraint: "~1.2"}},
		{name: "semver with x range", policy: Policy{Constraint: "1.2.x"}},
		{name: "semver with pre-releases", policy: Policy{Constraint: "2.x-0"}},
		{name: "semver with range", policy: Policy{Constraint: ">=1.0 <2"}},
		{name: "newest-build", policy: Policy{Strategy: StrategyNewestBuild, AllowTags: "regexp:^[0-9a-f]{7}$"}},
		{name: "alias latest", policy: Policy{Strategy: "latest"}},
		{name: "alias name", policy: Policy{Strategy: "name", IgnoreTags: []string{"latest", "*-rc*"}}},
		{name: "digest", policy: Policy{Strategy: StrategyDigest, Tag: "latest", Platforms: []string{"linux/amd64"}}},
		{name: "allow any", policy: Policy{AllowTags: "any"}},
		{name: "platform with variant", policy: Policy{Platforms: []string{"linux/arm/v7", "linux/arm64"}}},

		{name: "unknown strategy", policy: Policy{Strategy: "newest"}, wantErr: `strategy "newest" is not one of`},
		{name: "bad constraint", policy: Policy{Constraint: "one point two"}, wantErr: `constraint "one point two" is not a semver constraint`},
		{name: "constraint without semver", policy: Policy{Strategy: StrategyNewestBuild, Constraint: "1.x"}, wantErr: "only the semver strategy uses a constraint"},
		{name: "constraint with alias of alphabetical", policy: Policy{Strategy: "name", Constraint: "1.x"}, wantErr: "strategy is alphabetical"},
		{name: "allowTags without prefix", policy: Policy{AllowTags: "^v1"}, wantErr: `allowTags "^v1" must be "any" or "regexp:<expression>"`},
		{name: "allowTags bad regexp", policy: Policy{AllowTags: "regexp:v1(["}, wantErr: "allowTags: \"v1([\" is not a valid regular expression"},
		{name: "ignoreTags empty pattern", policy: Policy{IgnoreTags: []string{"latest", ""}}, wantErr: "ignoreTags[1] is empty"},
		{name: "ignoreTags bad glob", policy: Policy{IgnoreTags: []string{"[a-"}}, wantErr: `ignoreTags[0] "[a-" is not a glob pattern`},
		{name: "platform without arch", policy: Policy{Platforms: []string{"linux"}}, wantErr: `platforms[0]: "linux" is not os/arch[/variant]`},
		{name: "platform with empty part", policy: Policy{Platforms: []string{"linux/amd64", "linux//v7"}}, wantErr: "platforms[1]"},
		{name: "platform too long", policy: Policy{Platforms: []string{"linux/arm/v7/x"}}, wantErr: "platforms[0]"},
		{name: "digest without tag", policy: Policy{Strategy: StrategyDigest}, wantErr: "tag is required with the digest strategy"},
		{name: "digest with bad tag", policy: Policy{Strategy: StrategyDigest, Tag: "-latest"}, wantErr: `tag "-latest" is not a valid tag`},
		{name: "tag without digest", policy: Policy{Tag: "latest"}, wantErr: "only the digest strategy follows a tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Validate() = nil, want an error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("Validate() = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestStrategyCanonical(t *testing.T) {
	tests := []struct{ in, want Strategy }{
		{"", StrategySemver},
		{"latest", StrategyNewestBuild},
		{"name", StrategyAlphabetical},
		{"semver", StrategySemver},
		{"digest", StrategyDigest},
		{"bogus", "bogus"},
	}
	for _, tt := range tests {
		t.Run(string(tt.in), func(t *testing.T) {
			if got := tt.in.Canonical(); got != tt.want {
				t.Errorf("Strategy(%q).Canonical() = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPlatformSatisfies(t *testing.T) {
	tests := []struct {
		want, have string
		ok         bool
	}{
		{"linux/amd64", "linux/amd64", true},
		{"linux/amd64", "linux/arm64", false},
		{"linux/amd64", "windows/amd64", false},
		{"linux/arm64", "linux/arm64/v8", true}, // v8 is arm64's implied variant
		{"linux/arm64/v8", "linux/arm64", true},
		{"linux/arm", "linux/arm/v7", true}, // no variant asked: any variant
		{"linux/arm/v7", "linux/arm/v6", false},
		{"linux/arm/v7", "linux/arm", false},
	}
	for _, tt := range tests {
		t.Run(tt.want+" on "+tt.have, func(t *testing.T) {
			w, err := parsePlatform(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			h, err := parsePlatform(tt.have)
			if err != nil {
				t.Fatal(err)
			}
			if got := w.satisfies(h); got != tt.ok {
				t.Errorf("%s satisfied by %s = %v, want %v", tt.want, tt.have, got, tt.ok)
			}
		})
	}
}
