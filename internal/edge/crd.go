package edge

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The custom resources goldenpath renders, typed with only the fields it uses, so that rendering is checked by
// the compiler and decoding refuses anything else (Decode). Field names follow the upstream CRDs.

// ClusterIssuer is cert-manager.io/v1 ClusterIssuer with the ACME issuer only.
type ClusterIssuer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              IssuerSpec `json:"spec"`
}

// IssuerSpec holds the ACME issuer.
type IssuerSpec struct {
	ACME *ACMEIssuer `json:"acme"`
}

// ACMEIssuer is an ACME account and how its challenges are solved.
type ACMEIssuer struct {
	Server              string            `json:"server"`
	Email               string            `json:"email,omitempty"`
	PrivateKeySecretRef SecretKeySelector `json:"privateKeySecretRef"`
	Solvers             []ACMESolver      `json:"solvers"`
}

// SecretKeySelector names a Secret (and optionally one of its keys).
type SecretKeySelector struct {
	Name string `json:"name"`
	Key  string `json:"key,omitempty"`
}

// ACMESolver solves the challenges of the names its selector picks (every name, without a selector).
type ACMESolver struct {
	Selector *SolverSelector `json:"selector,omitempty"`
	HTTP01   *HTTP01Solver   `json:"http01,omitempty"`
	DNS01    *DNS01Solver    `json:"dns01,omitempty"`
}

// SolverSelector picks names by exact DNS name ("*.dev.example.com" for a wildcard) or by zone.
type SolverSelector struct {
	DNSNames []string `json:"dnsNames,omitempty"`
	DNSZones []string `json:"dnsZones,omitempty"`
}

// HTTP01Solver answers http-01 challenges through an Ingress of the given class.
type HTTP01Solver struct {
	Ingress *HTTP01Ingress `json:"ingress"`
}

// HTTP01Ingress is the ingress class of the solver's temporary Ingress.
type HTTP01Ingress struct {
	IngressClassName string `json:"ingressClassName"`
}

// DNS01Solver answers dns-01 challenges through a DNS provider.
type DNS01Solver struct {
	Route53 *Route53Solver `json:"route53"`
}

// Route53Solver writes the challenge records to Route53 with the controller's ambient credentials (IRSA).
type Route53Solver struct {
	Region       string `json:"region,omitempty"`
	HostedZoneID string `json:"hostedZoneID,omitempty"`
}

// KongPlugin is configuration.konghq.com/v1 KongPlugin, for the openid-connect plugin.
type KongPlugin struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Plugin            string               `json:"plugin"`
	Config            *OpenIDConnectConfig `json:"config,omitempty"`
	ConfigPatches     []KongConfigPatch    `json:"configPatches,omitempty"`
}

// OpenIDConnectConfig is the part of Kong Enterprise's openid-connect configuration goldenpath sets.
type OpenIDConnectConfig struct {
	Issuer      string   `json:"issuer"`
	ClientID    []string `json:"client_id"`
	AuthMethods []string `json:"auth_methods"`
	Scopes      []string `json:"scopes,omitempty"`
}

// KongConfigPatch adds a value read from a Secret at a JSON pointer of the plugin's configuration.
type KongConfigPatch struct {
	Path      string           `json:"path"`
	ValueFrom KongConfigSource `json:"valueFrom"`
}

// KongConfigSource is where a patched value comes from.
type KongConfigSource struct {
	SecretKeyRef SecretKeySelector `json:"secretKeyRef"`
}

// Kustomization is kustomize.config.k8s.io/v1beta1 Kustomization listing resources.
type Kustomization struct {
	metav1.TypeMeta `json:",inline"`
	Resources       []string `json:"resources"`
}
