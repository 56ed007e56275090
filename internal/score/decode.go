package score

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const manifestHeader = "# Rendered by goldenpath from the app's score.yaml (internal/score). Do not edit: change score.yaml\n" +
	"# instead.\n"

// marshalManifest renders one object as YAML with sorted keys. Status belongs to the cluster and is never
// rendered.
func marshalManifest(obj any) ([]byte, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", obj, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("encoding %T: %w", obj, err)
	}
	delete(m, "status")
	doc, err := yaml.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding %T as YAML: %w", obj, err)
	}
	return append([]byte(manifestHeader), doc...), nil
}

// decoders are the kinds Render writes, each with the typed object it must decode into.
func decoders() map[string]func() any {
	return map[string]func() any{
		"apps/v1/Deployment":               func() any { return &appsv1.Deployment{} },
		"v1/Service":                       func() any { return &corev1.Service{} },
		"v1/ConfigMap":                     func() any { return &corev1.ConfigMap{} },
		"argoproj.io/v1alpha1/Application": func() any { return &Application{} },
		"kustomize.config.k8s.io/v1beta1/Kustomization": func() any { return &Kustomization{} },
	}
}

// Decode reads every YAML document of a rendered file strictly into its typed object: the Kubernetes API
// types for built-in kinds, this package's Application and Kustomization for the others. An unknown kind, an
// unknown or duplicated field, or a value of the wrong type is an error naming the file and document.
func Decode(file string, data []byte) ([]any, error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%s: holds no YAML document", file)
	}
	objs := make([]any, 0, len(docs))
	for i, doc := range docs {
		obj, err := decodeDocument(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", file, i+1, err)
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// splitDocuments splits a multi-document YAML file, dropping documents that hold only comments.
func splitDocuments(data []byte) ([][]byte, error) {
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

func decodeDocument(doc []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, fmt.Errorf("reading apiVersion and kind: %w", err)
	}
	if tm.APIVersion == "" || tm.Kind == "" {
		return nil, errors.New("apiVersion and kind are required")
	}
	newObj, ok := decoders()[tm.APIVersion+"/"+tm.Kind]
	if !ok {
		return nil, fmt.Errorf("kind %s %s is not one goldenpath renders from score.yaml", tm.APIVersion, tm.Kind)
	}
	obj := newObj()
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s %s: %w", tm.APIVersion, tm.Kind, err)
	}
	return obj, nil
}

func onlyComments(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		if l := strings.TrimSpace(line); l != "" && l != "---" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}
