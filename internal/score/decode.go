package score

import (
	"encoding/json"
	"fmt"

	"github.com/goldenpathidp/goldenpath/internal/manifest"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
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

// kinds are the kinds Render writes, each with the typed object it must decode into.
var kinds = manifest.Kinds{
	"apps/v1/Deployment":               func() any { return &appsv1.Deployment{} },
	"v1/Service":                       func() any { return &corev1.Service{} },
	"v1/ConfigMap":                     func() any { return &corev1.ConfigMap{} },
	"argoproj.io/v1alpha1/Application": func() any { return &Application{} },
	"kustomize.config.k8s.io/v1beta1/Kustomization": func() any { return &Kustomization{} },
}

// Decode reads every YAML document of a rendered file strictly into its typed object: the Kubernetes API
// types for built-in kinds, this package's Application and Kustomization for the others. An unknown kind, an
// unknown or duplicated field, or a value of the wrong type is an error naming the file and document.
func Decode(file string, data []byte) ([]any, error) {
	return manifest.Decode(file, data, kinds, "goldenpath renders from score.yaml")
}
