package edge

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// decoders are the kinds Render writes, each with the typed object it must decode into.
func decoders() map[string]func() any {
	return map[string]func() any{
		"v1/Service":                                    func() any { return &corev1.Service{} },
		"apps/v1/Deployment":                            func() any { return &appsv1.Deployment{} },
		"networking.k8s.io/v1/Ingress":                  func() any { return &networkingv1.Ingress{} },
		"cert-manager.io/v1/ClusterIssuer":              func() any { return &ClusterIssuer{} },
		"configuration.konghq.com/v1/KongPlugin":        func() any { return &KongPlugin{} },
		"kustomize.config.k8s.io/v1beta1/Kustomization": func() any { return &Kustomization{} },
	}
}

// Decode reads every YAML document of a rendered file strictly into its typed object: the Kubernetes API types
// for built-in kinds, this package's types for the custom resources and kustomizations. An unknown kind, an
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
		obj, err := decodeDoc(doc)
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
		if !isEmptyDoc(doc) {
			docs = append(docs, doc)
		}
	}
}

func decodeDoc(doc []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, fmt.Errorf("reading apiVersion and kind: %w", err)
	}
	if tm.APIVersion == "" || tm.Kind == "" {
		return nil, fmt.Errorf("apiVersion and kind are required")
	}
	newObj, ok := decoders()[tm.APIVersion+"/"+tm.Kind]
	if !ok {
		return nil, fmt.Errorf("kind %s %s is not one goldenpath renders", tm.APIVersion, tm.Kind)
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

// isEmptyDoc reports whether a document holds only comments and blank lines.
func isEmptyDoc(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") && l != "---" {
			return false
		}
	}
	return true
}
