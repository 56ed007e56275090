package score

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseImagePolicy(t *testing.T) {
	a := func(k string) string { return AnnotationPrefix + k }
	tests := []struct {
		name string
		in   map[string]string
		want []ImageUpdate
	}{
		{"none", map[string]string{"example.com/owner": "x"}, nil},
		{"defaults to semver", map[string]string{a("image-list"): "app=."},
			[]ImageUpdate{{Alias: "app", Image: ".", Strategy: StrategySemver}}},
		{"semver constraint after a registry port", map[string]string{a("image-list"): "app=127.0.0.1:7070/dev/orders:~1.2"},
			[]ImageUpdate{{Alias: "app", Image: "127.0.0.1:7070/dev/orders", Constraint: "~1.2", Strategy: StrategySemver}}},
		{"old strategy names", map[string]string{
			a("image-list"): "a=., b=nginx", a("a.update-strategy"): "latest", a("b.update-strategy"): "name",
		}, []ImageUpdate{
			{Alias: "a", Image: ".", Strategy: StrategyNewestBuild},
			{Alias: "b", Image: "nginx", Strategy: StrategyAlphabetical},
		}},
		{"every option", map[string]string{
			a("image-list"):        "app=.:>=1.0 <2.0 || ^3",
			a("app.allow-tags"):    `regexp:^v\d+`,
			a("app.ignore-tags"):   "*-rc*, latest",
			a("app.platforms"):     "linux/amd64,linux/arm64/v8",
			a("write-back-method"): "git",
			a("write-back-target"): "kustomization",
		}, []ImageUpdate{{Alias: "app", Image: ".", Constraint: ">=1.0 <2.0 || ^3", Strategy: StrategySemver,
			AllowTags: `regexp:^v\d+`, IgnoreTags: []string{"*-rc*", "latest"}, Platforms: []string{"linux/amd64", "linux/arm64/v8"}}}},
		{"digest follows a tag", map[string]string{a("image-list"): "app=.:main", a("app.update-strategy"): "digest"},
			[]ImageUpdate{{Alias: "app", Image: ".", Constraint: "main", Strategy: StrategyDigest}}},
		{"allow any tag", map[string]string{a("image-list"): "app=.", a("app.allow-tags"): "any"},
			[]ImageUpdate{{Alias: "app", Image: ".", Strategy: StrategySemver, AllowTags: "any"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseImagePolicy(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if p != nil {
					t.Errorf("got %+v, want no policy", p)
				}
				return
			}
			if p == nil || !reflect.DeepEqual(p.Images, tt.want) {
				t.Errorf("got %+v, want %+v", p, tt.want)
			}
		})
	}
}

func TestParseImagePolicyErrors(t *testing.T) {
	a := func(k string) string { return AnnotationPrefix + k }
	tests := []struct {
		name       string
		in         map[string]string
		annotation string
		rule       string
	}{
		{"no alias", map[string]string{a("image-list"): "nginx"}, a("image-list"), `entry "nginx" has no alias`},
		{"empty entry", map[string]string{a("image-list"): "app=.,"}, a("image-list"), "empty entry"},
		{"bad alias", map[string]string{a("image-list"): "my app=."}, a("image-list"), `alias "my app"`},
		{"duplicate alias", map[string]string{a("image-list"): "app=., app=nginx"}, a("image-list"), "listed twice"},
		{"digest in the list", map[string]string{a("image-list"): "app=nginx@sha256:abc"}, a("image-list"), "names a digest"},
		{"no image", map[string]string{a("image-list"): "app="}, a("image-list"), "names no image"},
		{"bad semver constraint", map[string]string{a("image-list"): "app=.:~one"}, a("image-list"), `"~one" is not a version`},
		{"digest without a tag", map[string]string{a("image-list"): "app=.", a("app.update-strategy"): "digest"}, a("image-list"), "follows one tag"},
		{"constraint with newest-build", map[string]string{a("image-list"): "app=.:1.x", a("app.update-strategy"): "newest-build"},
			a("image-list"), "applies to the semver and digest strategies only"},
		{"unknown strategy", map[string]string{a("image-list"): "app=.", a("app.update-strategy"): "random"}, a("app.update-strategy"), `"random" is not one of`},
		{"allow-tags without regexp:", map[string]string{a("image-list"): "app=.", a("app.allow-tags"): "^v1"}, a("app.allow-tags"), `"any" or "regexp:<expression>"`},
		{"allow-tags bad expression", map[string]string{a("image-list"): "app=.", a("app.allow-tags"): "regexp:(["}, a("app.allow-tags"), "does not compile"},
		{"ignore-tags bad glob", map[string]string{a("image-list"): "app=.", a("app.ignore-tags"): "v1, [x"}, a("app.ignore-tags"), `"[x"`},
		{"bad platform", map[string]string{a("image-list"): "app=.", a("app.platforms"): "amd64"}, a("app.platforms"), "os/arch"},
		{"option for an unknown alias", map[string]string{a("image-list"): "app=.", a("web.update-strategy"): "semver"}, a("web.update-strategy"), `alias "web" is not in`},
		{"option without image-list", map[string]string{a("app.update-strategy"): "semver"}, a("app.update-strategy"), "needs " + AnnotationImageList},
		{"unknown option", map[string]string{a("image-list"): "app=.", a("app.force-update"): "true"}, a("app.force-update"), `option "force-update" is not supported`},
		{"kustomize name set by hand", map[string]string{a("image-list"): "app=.", a("app.kustomize.image-name"): "x"}, a("app.kustomize.image-name"), "set by goldenpath"},
		{"argocd write-back", map[string]string{a("image-list"): "app=.", a("write-back-method"): "argocd"}, a("write-back-method"), `must be "git"`},
		{"helm write-back target", map[string]string{a("image-list"): "app=.", a("write-back-target"): "helmvalues"}, a("write-back-target"), `must be "kustomization"`},
		{"unknown global annotation", map[string]string{a("image-list"): "app=.", a("git-branch"): "main"}, a("git-branch"), "not an annotation goldenpath supports"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseImagePolicy(tt.in)
			var es PolicyErrors
			if !errors.As(err, &es) {
				t.Fatalf("got %+v, %v; want PolicyErrors", p, err)
			}
			for _, e := range es {
				if e.Annotation == tt.annotation && strings.Contains(e.Rule, tt.rule) {
					return
				}
			}
			t.Errorf("got %v, want an error on %s containing %q", err, tt.annotation, tt.rule)
		})
	}
}

func TestCheckSemverConstraint(t *testing.T) {
	for _, ok := range []string{"1.2.3", "v1.2", "~1.2", "^2", "1.2.x", "*", ">=1.0 <2.0", ">= 1.0 < 2.0", "1.2 - 1.4", "~1.2 || ^3.0", "1.2.3-0", "=1.0.0+build.1"} {
		if err := checkSemverConstraint(ok); err != nil {
			t.Errorf("%q: got %v, want it accepted", ok, err)
		}
	}
	for _, bad := range []string{"latest", "~", "1.2.3.4", ">=1.0 ||", "1..2", "v1.2-", ">=1.0, <2.0"} {
		if err := checkSemverConstraint(bad); err == nil {
			t.Errorf("%q: got no error, want it refused", bad)
		}
	}
}
