// Package manifest decodes the Kubernetes manifests goldenpath renders strictly into typed objects, so a
// renderer's tests catch a field the API server would drop or refuse.
package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Kinds maps "apiVersion/kind" to a constructor of the typed object that kind decodes into.
type Kinds map[string]func() any

// Decode reads every YAML document of a rendered file strictly into the typed object its kind maps to.
// An unknown kind, an unknown or duplicated field, or a value of the wrong type is an error naming the
// file, the document and the field's path. source says who renders these kinds, for the error about a
// kind that is not one of them ("goldenpath renders from score.yaml").
func Decode(file string, data []byte, kinds Kinds, source string) ([]any, error) {
	docs, err := SplitDocuments(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%s: holds no YAML document", file)
	}
	objs := make([]any, 0, len(docs))
	for i, doc := range docs {
		obj, err := decodeDocument(doc, kinds, source)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", file, i+1, err)
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// SplitDocuments splits a multi-document YAML file, dropping documents that hold only comments.
func SplitDocuments(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading document %d: %w", i, err)
		}
		if !onlyComments(doc) {
			docs = append(docs, doc)
		}
	}
}

func decodeDocument(doc []byte, kinds Kinds, source string) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, fmt.Errorf("reading apiVersion and kind: %w", err)
	}
	if tm.APIVersion == "" || tm.Kind == "" {
		return nil, errors.New("apiVersion and kind are required")
	}
	newObj, ok := kinds[tm.APIVersion+"/"+tm.Kind]
	if !ok {
		return nil, fmt.Errorf("kind %s %s is not one %s", tm.APIVersion, tm.Kind, source)
	}
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", tm.APIVersion, tm.Kind, err)
	}
	obj := newObj()
	// sigs.k8s.io/json is the API server's own strict decoder: its errors give the field's full path.
	strictErrs, err := kjson.UnmarshalStrict(js, obj)
	if err == nil {
		err = errors.Join(strictErrs...)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", tm.APIVersion, tm.Kind, err)
	}
	return obj, nil
}

// onlyComments reports whether a document holds only comments and blank lines.
func onlyComments(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") && l != "---" {
			return false
		}
	}
	return true
}
