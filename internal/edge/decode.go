package edge

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/goldenpathidp/goldenpath/internal/manifest"
)

// kinds are the kinds Render writes, each with the typed object it must decode into.
var kinds = manifest.Kinds{
	"v1/Service":                                    func() any { return &corev1.Service{} },
	"apps/v1/Deployment":                            func() any { return &appsv1.Deployment{} },
	"networking.k8s.io/v1/Ingress":                  func() any { return &networkingv1.Ingress{} },
	"cert-manager.io/v1/ClusterIssuer":              func() any { return &ClusterIssuer{} },
	"configuration.konghq.com/v1/KongPlugin":        func() any { return &KongPlugin{} },
	"kustomize.config.k8s.io/v1beta1/Kustomization": func() any { return &Kustomization{} },
}

// Decode reads every YAML document of a rendered file strictly into its typed object: the Kubernetes API types
// for built-in kinds, this package's types for the custom resources and kustomizations. An unknown kind, an
// unknown or duplicated field, or a value of the wrong type is an error naming the file and document.
func Decode(file string, data []byte) ([]any, error) {
	return manifest.Decode(file, data, kinds, "goldenpath renders")
}
