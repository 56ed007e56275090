package edge

import (
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/goldenpathidp/goldenpath/internal/platform"
)

// Sign-in on open-source Kong: Kong's openid-connect plugin is Enterprise-only ("enabled but not installed"
// on OSS), so each host that needs sign-in is routed to an oauth2-proxy, which signs the user in with the
// platform's OIDC issuer and then proxies to the tool's service. One proxy per host (its upstreams chosen by
// path), all of an environment sharing one client, one cookie name and domain and one cookie secret: signing
// in on one tool signs you in on all of them. On Kong Enterprise the openid-connect KongPlugin does the same
// inside Kong.

const oauth2ProxyPort = 4180

// oauth2Proxy is one oauth2-proxy in front of the sso routes of one host.
type oauth2Proxy struct {
	name, namespace, host, env string
	upstreams                  []string
}

// objects renders the proxy's Deployment and Service. Secrets come from the OAuth2ProxySecret Secret and are
// never rendered.
func (p *oauth2Proxy) objects(cfg *platform.Config) (*appsv1.Deployment, *corev1.Service) {
	sel := map[string]string{"app.kubernetes.io/name": "oauth2-proxy", "app.kubernetes.io/instance": p.name}
	lbl := labels()
	for k, v := range sel {
		lbl[k] = v
	}
	meta := metav1.ObjectMeta{Name: p.name, Namespace: p.namespace, Labels: lbl}
	replicas := int32(1)
	dep := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType},
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec: corev1.PodSpec{
					AutomountServiceAccountToken: ptr(false),
					Containers:                   []corev1.Container{p.container(cfg)},
				},
			},
		},
	}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta,
		Spec: corev1.ServiceSpec{
			Selector: sel,
			Ports: []corev1.ServicePort{{
				Name: "http", Port: oauth2ProxyPort, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP,
			}},
		},
	}
	return dep, svc
}

func (p *oauth2Proxy) container(cfg *platform.Config) corev1.Container {
	domain := cfg.EnvironmentDomain(p.env)
	args := []string{
		"--http-address=0.0.0.0:4180",
		"--provider=oidc",
		"--oidc-issuer-url=" + cfg.SSO.Issuer,
		"--client-id=" + cfg.SSO.ClientID,
		"--code-challenge-method=S256",
		// Who may sign in is decided by the issuer (the platform realm), not by e-mail domain here.
		"--email-domain=*",
		"--reverse-proxy=true",
		"--skip-provider-button=true",
		"--cookie-name=_goldenpath_sso_" + p.env,
		"--cookie-domain=." + domain,
		"--cookie-secure=true",
		"--whitelist-domain=." + domain,
	}
	ups := slices.Clone(p.upstreams)
	slices.Sort(ups)
	for _, u := range ups {
		args = append(args, "--upstream="+u)
	}
	probe := func(path string) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("http")}}}
	}
	return corev1.Container{
		Name:  "oauth2-proxy",
		Image: OAuth2ProxyImage,
		Args:  args,
		Env: []corev1.EnvVar{
			secretEnv("OAUTH2_PROXY_CLIENT_SECRET", OAuth2ProxySecret, OAuth2ProxyClientSecretKey),
			secretEnv("OAUTH2_PROXY_COOKIE_SECRET", OAuth2ProxySecret, OAuth2ProxyCookieSecretKey),
		},
		Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: oauth2ProxyPort, Protocol: corev1.ProtocolTCP}},
		LivenessProbe:  probe("/ping"),
		ReadinessProbe: probe("/ready"),
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
		},
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             ptr(true),
			ReadOnlyRootFilesystem:   ptr(true),
			AllowPrivilegeEscalation: ptr(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
}

func secretEnv(name, secret, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key,
	}}}
}

// newOIDCPlugin is the openid-connect KongPlugin of Kong Enterprise for one namespace; the client secret is
// patched in by the ingress controller from OIDCPluginSecret.
func newOIDCPlugin(cfg *platform.Config, ns string) *KongPlugin {
	return &KongPlugin{
		TypeMeta:   metav1.TypeMeta{APIVersion: "configuration.konghq.com/v1", Kind: "KongPlugin"},
		ObjectMeta: metav1.ObjectMeta{Name: OIDCPluginName, Namespace: ns, Labels: labels()},
		Plugin:     "openid-connect",
		Config: &OpenIDConnectConfig{
			Issuer:      cfg.SSO.Issuer,
			ClientID:    []string{cfg.SSO.ClientID},
			AuthMethods: []string{"authorization_code", "session"},
			Scopes:      []string{"openid", "email", "profile"},
		},
		ConfigPatches: []KongConfigPatch{{
			Path:      "/client_secret",
			ValueFrom: KongConfigSource{SecretKeyRef: SecretKeySelector{Name: OIDCPluginSecret, Key: OIDCPluginSecretKey}},
		}},
	}
}

func ptr[T any](v T) *T { return &v }
