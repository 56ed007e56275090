// Package edge is goldenpath's one route table for the platform's tooling and its apps, and what is rendered
// from it for production: Kubernetes Ingresses for Kong, cert-manager's ClusterIssuer, and sign-in in front of
// the routes that need it (oauth2-proxy on open-source Kong, whose openid-connect plugin is Enterprise-only; the
// openid-connect KongPlugin on Kong Enterprise). The same table feeds goldenpath up's dev gateway.
//
// Build validates the table against platform.yaml; Render is a pure function from the table to the files of
// the GitOps tree. Rendered manifests decode strictly (Decode) and are accepted by a real kube-apiserver
// under server-side apply with dry-run (the package's tests).
package edge

// Auth values of a route.
const (
	AuthSSO    = "sso"    // sign-in through the platform's OIDC issuer first
	AuthPublic = "public" // no sign-in at the edge
)

// Names rendered into the tree that other parts of the platform must agree on.
const (
	// ClusterIssuerName is the cert-manager ClusterIssuer every Ingress names in cert-manager.io/cluster-issuer.
	ClusterIssuerName = "letsencrypt-prod"
	// ToolingNamespace is where the tooling Ingress, its oauth2-proxies and its KongPlugin live.
	ToolingNamespace = "platform"
	// IngressClass is Kong's ingress class.
	IngressClass = "kong"

	// OAuth2ProxySecret is the Secret (in each namespace with an oauth2-proxy) holding the OIDC client secret
	// and the cookie secret; it is referenced, never rendered.
	OAuth2ProxySecret = "oauth2-proxy"
	// OAuth2ProxyClientSecretKey and OAuth2ProxyCookieSecretKey are its keys. The cookie secret must be 16,
	// 24 or 32 bytes (or their URL-safe base64), the same in every namespace so one sign-in covers every host
	// of an environment.
	OAuth2ProxyClientSecretKey = "client-secret"
	OAuth2ProxyCookieSecretKey = "cookie-secret"

	// OIDCPluginName is the KongPlugin rendered for Kong Enterprise.
	OIDCPluginName = "sso-openid-connect"
	// OIDCPluginSecret and OIDCPluginSecretKey hold the OIDC client secret for that plugin, as a JSON array
	// (["..."]): Kong's openid-connect client_secret is an array and configPatches insert the value as JSON.
	OIDCPluginSecret    = "kong-openid-connect"
	OIDCPluginSecretKey = "client-secret"

	// OAuth2ProxyImage is the oauth2-proxy image rendered for open-source Kong.
	OAuth2ProxyImage = "quay.io/oauth2-proxy/oauth2-proxy:v7.15.0"
)
