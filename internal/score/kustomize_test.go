package score

import (
	"path"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const handWritten = `# Overlay for orders in dev.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- deployment.yaml   # the app
- service.yaml
images:
# the sidecar stays on its own schedule
- name: envoy
  newTag: v1.31.0
- newName: 127.0.0.1:7070/dev/orders
  name: orders
  newTag: "3f9c2ab"  # pinned by the last deploy
  # nothing below here matters
commonLabels:
  team: payments
`

func TestSetImage(t *testing.T) {
	sha := "sha256:" + strings.Repeat("0123abcd", 8)
	tests := []struct {
		name        string
		in          string
		image       string
		tag, digest string
		want        string
		changed     bool
	}{
		{"new tag, everything else kept", handWritten, "orders", "4e01d9b", "",
			strings.Replace(handWritten, `newTag: "3f9c2ab"  # pinned`, `newTag: 4e01d9b  # pinned`, 1), true},
		{"same tag", handWritten, "orders", "3f9c2ab", "", handWritten, false},
		{"tag to digest", handWritten, "orders", "", sha,
			strings.Replace(handWritten, `newTag: "3f9c2ab"  # pinned by the last deploy`, "digest: "+sha, 1), true},
		{"a tag that reads as a number is quoted", handWritten, "envoy", "1.10", "",
			strings.Replace(handWritten, "newTag: v1.31.0", `newTag: "1.10"`, 1), true},
		{"digest to tag", "images:\n  - name: app\n    newName: r/app\n    digest: " + sha + "\n", "app", "v2", "",
			"images:\n  - name: app\n    newName: r/app\n    newTag: v2\n", true},
		{"same digest", "images:\n- name: app\n  digest: " + sha + "\n", "app", "", sha, "images:\n- name: app\n  digest: " + sha + "\n", false},
		{"pin added after the entry's last key", "images:\n  - name: app\n    newName: r/app\nresources: [a.yaml]\n", "app", "v2", "",
			"images:\n  - name: app\n    newName: r/app\n    newTag: v2\nresources: [a.yaml]\n", true},
		{"both pins, digest on the item's first line", "images:\n- digest: " + sha + "\n  name: app\n  newTag: old\n", "app", "v3", "",
			"images:\n- newTag: v3\n  name: app\n", true},
		{"single-quoted value", "images:\n- name: app\n  newTag: 'v1' # x\n", "app", "v2", "", "images:\n- name: app\n  newTag: v2 # x\n", true},
		{"windows line endings", "images:\r\n- name: app\r\n  newTag: v1\r\n", "app", "v2", "", "images:\r\n- name: app\r\n  newTag: v2\r\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := SetImage([]byte(tt.in), tt.image, tt.tag, tt.digest)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want || changed != tt.changed {
				t.Errorf("got changed=%v\n%s\nwant changed=%v\n%s", changed, got, tt.changed, tt.want)
			}
			checkPinned(t, got, tt.image, tt.tag, tt.digest)
		})
	}
}

// checkPinned reads the result back as kustomize would.
func checkPinned(t *testing.T, data []byte, name, tag, digest string) {
	t.Helper()
	var k struct {
		Images []KustomizeImage `json:"images"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatalf("result is not YAML: %v\n%s", err, data)
	}
	for _, img := range k.Images {
		if img.Name == name {
			if img.NewTag != tag || img.Digest != digest {
				t.Errorf("image %s: got tag %q digest %q, want %q %q", name, img.NewTag, img.Digest, tag, digest)
			}
			return
		}
	}
	t.Errorf("image %s is gone:\n%s", name, data)
}

// TestSetImageOnRenderedKustomization is the write-back of a deploy on what Render wrote: one line changes.
func TestSetImageOnRenderedKustomization(t *testing.T) {
	sc := scenarios()[0]
	p := path.Join(OverlayDir("dev", "orders"), KustomizationFile)
	before := sc.render(t)[p]
	after, changed, err := SetImage(before, ownImageName("orders"), "9d8e7f6", "")
	if err != nil || !changed {
		t.Fatalf("got changed=%v, %v; want a change", changed, err)
	}
	b, a := strings.Split(string(before), "\n"), strings.Split(string(after), "\n")
	if len(a) != len(b) {
		t.Fatalf("got %d lines, want %d:\n%s", len(a), len(b), after)
	}
	var diff []string
	for i := range b {
		if a[i] != b[i] {
			diff = append(diff, b[i]+" → "+a[i])
		}
	}
	if len(diff) != 1 || diff[0] != "    newTag: 3f9c2ab →     newTag: 9d8e7f6" {
		t.Errorf("got changed lines %q, want only the newTag line", diff)
	}
	if _, err := Decode(p, after); err != nil {
		t.Errorf("the edited kustomization no longer decodes strictly: %v", err)
	}
}

func TestSetImageErrors(t *testing.T) {
	sha := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		name, in, image, tag, digest, want string
	}{
		{"no name", handWritten, "", "v1", "", "name is empty"},
		{"neither tag nor digest", handWritten, "orders", "", "", "exactly one of tag"},
		{"both tag and digest", handWritten, "orders", "v1", sha, "exactly one of tag"},
		{"bad tag", handWritten, "orders", "v1:2", "", `"v1:2" is not a valid tag`},
		{"bad digest", handWritten, "orders", "", "sha256:xyz", "is not a digest"},
		{"unknown image", handWritten, "billing", "v1", "", "no images entry named billing"},
		{"no images list", "resources: [a.yaml]\n", "orders", "v1", "", "has no images list"},
		{"flow-style list", "images: [{name: orders, newTag: v1}]\n", "orders", "v2", "", "flow style"},
		{"flow-style entry", "images:\n- {name: orders, newTag: v1}\n", "orders", "v2", "", "flow style"},
		{"malformed YAML", "images: [\n", "orders", "v1", "", "reading kustomization.yaml"},
		{"not a mapping", "- a\n", "orders", "v1", "", "not a YAML mapping"},
		{"duplicate key", "images:\n- name: orders\n  newTag: v1\n  newTag: v0\n", "orders", "v2", "", `kustomization.yaml:4: images[0].newTag: key "newTag" at line 4 repeats line 3`},
		{"value on its own line", "images:\n- name: orders\n  newTag:\n    v1\n", "orders", "v2", "", "on one line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := SetImage([]byte(tt.in), tt.image, tt.tag, tt.digest)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %q, %v; want an error containing %q", out, err, tt.want)
			}
		})
	}
}
