package score

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/strictyaml"
	"go.yaml.in/yaml/v3"
)

// Kustomization is kustomize.config.k8s.io/v1beta1 Kustomization with the fields goldenpath renders.
type Kustomization struct {
	APIVersion string           `json:"apiVersion" yaml:"apiVersion"`
	Kind       string           `json:"kind" yaml:"kind"`
	Resources  []string         `json:"resources" yaml:"resources"`
	Images     []KustomizeImage `json:"images,omitempty" yaml:"images,omitempty"`
}

// KustomizeImage replaces the image called Name in the resources with NewName pinned to NewTag or Digest.
type KustomizeImage struct {
	Name    string `json:"name" yaml:"name"`
	NewName string `json:"newName,omitempty" yaml:"newName,omitempty"`
	NewTag  string `json:"newTag,omitempty" yaml:"newTag,omitempty"`
	Digest  string `json:"digest,omitempty" yaml:"digest,omitempty"`
}

const kustomizationHeader = "# Rendered by goldenpath from the app's score.yaml (internal/score). The images entry pins the\n" +
	"# app's image; a deploy or Argo CD Image Updater's git write-back edits only that entry.\n"

// kustomization lists the overlay's files and pins the app's own image.
func (r *renderer) kustomization(resources []string) ([]byte, error) {
	k := Kustomization{APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization", Resources: resources}
	if r.w.usesOwnImage() {
		k.Images = []KustomizeImage{{Name: ownImageName(r.app), NewName: r.in.Image, NewTag: r.in.Tag, Digest: r.in.Digest}}
	}
	var buf bytes.Buffer
	buf.WriteString(kustomizationHeader)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&k); err != nil {
		return nil, fmt.Errorf("encoding kustomization.yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding kustomization.yaml: %w", err)
	}
	return buf.Bytes(), nil
}

// SetImage pins the images entry called name of a kustomization.yaml to a tag or (exclusive) a digest,
// editing only that entry's newTag/digest lines so comments, order and formatting are kept: the write-back
// of a deploy. changed is false when the entry already pins exactly that.
func SetImage(kustomizationYAML []byte, name, tag, digest string) ([]byte, bool, error) {
	key, val, err := pinKey(name, tag, digest)
	if err != nil {
		return nil, false, err
	}
	item, err := findImage(kustomizationYAML, name)
	if err != nil {
		return nil, false, err
	}
	other := "digest"
	if key == "digest" {
		other = "newTag"
	}
	target, otherNode := mappingEntry(item, key), mappingEntry(item, other)
	if target != nil && otherNode == nil && target[1].Value == val {
		return kustomizationYAML, false, nil
	}
	e := newLineEditor(kustomizationYAML)
	if err := e.pin(item, target, otherNode, key, val); err != nil {
		return nil, false, fmt.Errorf("setting image %s in kustomization.yaml: %w", name, err)
	}
	out := e.bytes()
	return out, !bytes.Equal(out, kustomizationYAML), nil
}

// pinKey checks the arguments and returns the key and scalar to write.
func pinKey(name, tag, digest string) (string, string, error) {
	switch {
	case name == "":
		return "", "", errors.New("setting an image: name is empty")
	case (tag == "") == (digest == ""):
		return "", "", fmt.Errorf("setting image %s: give exactly one of tag (%q) and digest (%q)", name, tag, digest)
	case tag != "" && !tagPattern.MatchString(tag):
		return "", "", fmt.Errorf("setting image %s: %q is not a valid tag", name, tag)
	case digest != "" && !digestPattern.MatchString(digest):
		return "", "", fmt.Errorf("setting image %s: %q is not a digest such as sha256:<64 hex digits>", name, digest)
	case tag != "":
		return "newTag", tag, nil
	}
	return "digest", digest, nil
}

// findImage returns the block mapping of the images entry called name.
func findImage(data []byte, name string) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("reading kustomization.yaml: %w", err)
	}
	// kustomize refuses a repeated key; pinning the first of two newTag lines would deploy something else.
	if err := strictyaml.DuplicateKeys("kustomization.yaml", &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("kustomization.yaml is not a YAML mapping")
	}
	images := mappingEntry(doc.Content[0], "images")
	if images == nil || images[1].Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("kustomization.yaml has no images list (want an entry named %s)", name)
	}
	if images[1].Style&yaml.FlowStyle != 0 {
		return nil, errors.New("kustomization.yaml writes images in flow style ([...]): write it as a block list")
	}
	for _, item := range images[1].Content {
		if n := mappingEntry(item, "name"); n != nil && n[1].Value == name {
			if item.Style&yaml.FlowStyle != 0 {
				return nil, fmt.Errorf("kustomization.yaml writes image %s in flow style ({...}): write it as a block mapping", name)
			}
			return item, nil
		}
	}
	return nil, fmt.Errorf("kustomization.yaml has no images entry named %s", name)
}

// mappingEntry returns the key and value nodes of key in a mapping node, or nil.
func mappingEntry(m *yaml.Node, key string) []*yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i : i+2]
		}
	}
	return nil
}

// lineEditor edits a file line by line, keeping its line endings.
type lineEditor struct {
	lines []string
	eol   string
}

func newLineEditor(data []byte) *lineEditor {
	eol := "\n"
	if bytes.Contains(data, []byte("\r\n")) {
		eol = "\r\n"
	}
	return &lineEditor{lines: strings.Split(string(data), eol), eol: eol}
}

func (e *lineEditor) bytes() []byte { return []byte(strings.Join(e.lines, e.eol)) }

// pin writes key: val into the item, dropping the other pin (newTag or digest) so exactly one is left.
func (e *lineEditor) pin(item *yaml.Node, target, other []*yaml.Node, key, val string) error {
	scalar, err := encodeScalar(val)
	if err != nil {
		return err
	}
	for _, kv := range [][]*yaml.Node{target, other} {
		if kv != nil && !singleLine(kv) {
			return fmt.Errorf("%s must be written on one line with its key", kv[0].Value)
		}
	}
	switch {
	case target != nil && other == nil:
		return e.replaceValue(target[1], scalar)
	case target == nil && other != nil:
		e.rewrite(other[0], key, scalar)
	case target != nil && other != nil:
		first, second := target, other
		if other[0].Line < target[0].Line {
			first, second = other, target
		}
		// Rewriting the earlier line keeps a "- " that starts the list item.
		e.rewrite(first[0], key, scalar)
		e.lines = append(e.lines[:second[0].Line-1], e.lines[second[0].Line:]...)
	default:
		last := item.Content[len(item.Content)-1]
		indent := strings.Repeat(" ", item.Content[0].Column-1)
		at := lastLine(last)
		e.lines = append(e.lines[:at], append([]string{indent + key + ": " + scalar}, e.lines[at:]...)...)
	}
	return nil
}

// rewrite replaces a whole "key: value" line, from the key on, with key: scalar.
func (e *lineEditor) rewrite(k *yaml.Node, key, scalar string) {
	line := e.lines[k.Line-1]
	e.lines[k.Line-1] = line[:k.Column-1] + key + ": " + scalar + trailingCR(line)
}

// replaceValue replaces a scalar value in place, keeping what follows it (a comment).
func (e *lineEditor) replaceValue(v *yaml.Node, scalar string) error {
	line := e.lines[v.Line-1]
	start := v.Column - 1
	n, err := rawScalarLen(line[start:], v)
	if err != nil {
		return err
	}
	e.lines[v.Line-1] = line[:start] + scalar + line[start+n:]
	return nil
}

// rawScalarLen is the length of a one-line scalar as written at the start of s.
func rawScalarLen(s string, v *yaml.Node) (int, error) {
	switch {
	case v.Style&yaml.DoubleQuotedStyle != 0:
		for i := 1; i < len(s); i++ {
			if s[i] == '\\' {
				i++
			} else if s[i] == '"' {
				return i + 1, nil
			}
		}
	case v.Style&yaml.SingleQuotedStyle != 0:
		for i := 1; i < len(s); i++ {
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					i++
					continue
				}
				return i + 1, nil
			}
		}
	case strings.HasPrefix(s, v.Value):
		return len(v.Value), nil
	}
	return 0, fmt.Errorf("cannot find the value of %q on line %d", v.Value, v.Line)
}

// singleLine reports whether a key and its scalar value share one line.
func singleLine(kv []*yaml.Node) bool {
	v := kv[1]
	return v.Kind == yaml.ScalarNode && v.Line == kv[0].Line &&
		v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0
}

// lastLine is the last line number (1-based) a node's content is on, for one-line scalars at the leaves.
func lastLine(n *yaml.Node) int {
	if len(n.Content) == 0 {
		return n.Line
	}
	return lastLine(n.Content[len(n.Content)-1])
}

func trailingCR(line string) string {
	if strings.HasSuffix(line, "\r") {
		return "\r"
	}
	return ""
}

// encodeScalar writes s as YAML reads it back as the same string: plain when it can, quoted otherwise (a
// tag such as 1.10 would otherwise read as a number).
func encodeScalar(s string) (string, error) {
	out, err := yaml.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("encoding %q: %w", s, err)
	}
	return strings.TrimSuffix(string(out), "\n"), nil
}
