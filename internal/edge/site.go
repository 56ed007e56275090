package edge

import (
	"fmt"
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/goldenpathidp/goldenpath/internal/platform"
)

// oauth2Path is where oauth2-proxy serves sign-in, its callback and sign-out on every host it protects.
const oauth2Path = "/oauth2"

// envPlan is what the objects of one environment share.
type envPlan struct {
	cfg *platform.Config
	env string
	// signIn maps a host that needs sign-in and has no sso route at "/" to the route whose oauth2-proxy also
	// serves /oauth2 there. Any proxy of the environment can finish a sign-in, as they share the client, the
	// cookie and its secret, so one is enough per host.
	signIn map[string]string
	// tlsOwner maps each host to the route whose Ingress lists it under TLS. Kong's certificates are global
	// (by SNI), so one Certificate per host serves every Ingress routing it; listing a host in two Ingresses
	// would make two Certificates and two certificates for one SNI.
	tlsOwner map[string]string
}

func newEnvPlan(cfg *platform.Config, env string, routes []Route) *envPlan {
	p := &envPlan{cfg: cfg, env: env, signIn: map[string]string{}, tlsOwner: map[string]string{}}
	for _, r := range routes { // sorted by host and path: a host's root route owns its certificate
		if _, ok := p.tlsOwner[r.Host]; !ok {
			p.tlsOwner[r.Host] = r.Name
		}
	}
	if edition(cfg) != editionOSS {
		return p
	}
	rootSSO := map[string]bool{}
	for _, r := range routes {
		if r.Auth == AuthSSO && r.Path == "/" {
			rootSSO[r.Host] = true
		}
	}
	for _, r := range routes { // sorted by host and path: the shortest sso path of a host wins
		if r.Auth == AuthSSO && !rootSSO[r.Host] && p.signIn[r.Host] == "" {
			p.signIn[r.Host] = r.Name
		}
	}
	return p
}

// site collects the objects routed through the Ingresses of one directory.
type site struct {
	plan      *envPlan
	ingresses []*networkingv1.Ingress
	upstreams []*corev1.Service // ExternalName services for backends in other namespaces
	proxies   []*oauth2Proxy
	plugins   []*KongPlugin
}

// addIngress adds an Ingress in namespace ns serving routes; withPlugin puts the openid-connect plugin on it.
func (s *site) addIngress(name, ns string, routes []Route, withPlugin bool) {
	ing := newIngress(name, ns, withPlugin)
	var tlsHosts []string
	for _, r := range routes {
		if s.plan.tlsOwner[r.Host] == r.Name {
			tlsHosts = append(tlsHosts, r.Host)
		}
		svc, port := s.backend(ns, r)
		addPath(ing, r.Host, r.Path, svc, port)
		if s.plan.signIn[r.Host] == r.Name {
			addPath(ing, r.Host, oauth2Path, svc, port)
		}
	}
	finishIngress(ing, tlsHosts)
	s.ingresses = append(s.ingresses, ing)
	if withPlugin && !slices.ContainsFunc(s.plugins, func(p *KongPlugin) bool { return p.Namespace == ns }) {
		s.plugins = append(s.plugins, newOIDCPlugin(s.plan.cfg, ns))
	}
}

// backend is the Service (in the Ingress's namespace) that serves r: its oauth2-proxy when it needs sign-in on
// open-source Kong, an ExternalName alias when it lives in another namespace (an Ingress can only name
// Services of its own), else its own Service.
func (s *site) backend(ns string, r Route) (string, int32) {
	if r.Auth == AuthSSO && edition(s.plan.cfg) == editionOSS {
		p := s.proxyFor(ns, r)
		p.upstreams = append(p.upstreams, upstreamURL(r))
		return p.name, oauth2ProxyPort
	}
	if r.Service.Namespace == ns {
		return r.Service.Name, int32(r.Service.Port)
	}
	name := r.Name + "-upstream"
	s.upstreams = append(s.upstreams, newExternalName(name, ns, r.Service))
	return name, int32(r.Service.Port)
}

// proxyFor returns the oauth2-proxy of r's host in ns, creating it named after the host's first sso route.
func (s *site) proxyFor(ns string, r Route) *oauth2Proxy {
	for _, p := range s.proxies {
		if p.namespace == ns && p.host == r.Host {
			return p
		}
	}
	p := &oauth2Proxy{name: "oauth2-proxy-" + r.Name, namespace: ns, host: r.Host, env: s.plan.env}
	s.proxies = append(s.proxies, p)
	return p
}

// upstreamURL is the cluster-internal URL of r's service; its path makes oauth2-proxy route by path prefix.
func upstreamURL(r Route) string {
	p := r.Path
	if p != "/" {
		p += "/"
	}
	return fmt.Sprintf("http://%s.%s.svc.cluster.local:%d%s", r.Service.Name, r.Service.Namespace, r.Service.Port, p)
}

// write renders the site's files into dir; with kustomize, a kustomization.yaml listing them too.
func (s *site) write(files map[string][]byte, dir, ingressFile string, kustomize bool) error {
	write := func(name string, objs []any) error {
		if len(objs) == 0 {
			return nil
		}
		data, err := marshalDocs(objs...)
		if err != nil {
			return fmt.Errorf("rendering %s: %w", path.Join(dir, name), err)
		}
		files[path.Join(dir, name)] = data
		return nil
	}
	slices.SortFunc(s.upstreams, func(a, b *corev1.Service) int { return strings.Compare(a.Name, b.Name) })
	var proxies []any
	for _, p := range s.proxies {
		dep, svc := p.objects(s.plan.cfg)
		proxies = append(proxies, dep, svc)
	}
	for _, f := range []struct {
		name string
		objs []any
	}{
		{ingressFile, asAny(s.ingresses)},
		{"upstreams.yaml", asAny(s.upstreams)},
		{"oauth2-proxy.yaml", proxies},
		{"openid-connect.yaml", asAny(s.plugins)},
	} {
		if err := write(f.name, f.objs); err != nil {
			return err
		}
	}
	if kustomize {
		return addKustomization(files, dir)
	}
	return nil
}

func asAny[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func newIngress(name, ns string, withPlugin bool) *networkingv1.Ingress {
	ann := map[string]string{
		"cert-manager.io/cluster-issuer": ClusterIssuerName,
		// The plan's routes are served at their full path: the upstream sees /api/x, not /x.
		"konghq.com/strip-path": "false",
		// Sign-in cookies are Secure; plain HTTP is redirected (cert-manager's http01 solver uses its own Ingress).
		"konghq.com/protocols":                  "https",
		"konghq.com/https-redirect-status-code": "301",
	}
	if withPlugin {
		ann["konghq.com/plugins"] = OIDCPluginName
	}
	class := IngressClass
	return &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels(), Annotations: ann},
		Spec:       networkingv1.IngressSpec{IngressClassName: &class},
	}
}

func addPath(ing *networkingv1.Ingress, host, p, svc string, port int32) {
	prefix := networkingv1.PathTypePrefix
	hp := networkingv1.HTTPIngressPath{
		Path:     p,
		PathType: &prefix,
		Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
			Name: svc, Port: networkingv1.ServiceBackendPort{Number: port},
		}},
	}
	for i := range ing.Spec.Rules {
		if rule := &ing.Spec.Rules[i]; rule.Host == host {
			rule.HTTP.Paths = append(rule.HTTP.Paths, hp)
			return
		}
	}
	ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{
		Host:             host,
		IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{hp}}},
	})
}

// finishIngress sorts rules and paths and lists the hosts it owns under TLS, so cert-manager's ingress-shim
// requests one Certificate for them (http01 for single names, dns01 for wildcards: see newClusterIssuer).
func finishIngress(ing *networkingv1.Ingress, tlsHosts []string) {
	slices.SortFunc(ing.Spec.Rules, func(a, b networkingv1.IngressRule) int { return strings.Compare(a.Host, b.Host) })
	for _, rule := range ing.Spec.Rules {
		slices.SortFunc(rule.HTTP.Paths, func(a, b networkingv1.HTTPIngressPath) int { return strings.Compare(a.Path, b.Path) })
	}
	if len(tlsHosts) > 0 {
		slices.Sort(tlsHosts)
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: slices.Compact(tlsHosts), SecretName: ing.Name + "-tls"}}
	}
}

func newExternalName(name, ns string, b Backend) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels()},
		Spec: corev1.ServiceSpec{
			Type:         corev1.ServiceTypeExternalName,
			ExternalName: fmt.Sprintf("%s.%s.svc.cluster.local", b.Name, b.Namespace),
			Ports: []corev1.ServicePort{{
				Name: "http", Port: int32(b.Port), TargetPort: intstr.FromInt32(int32(b.Port)), Protocol: corev1.ProtocolTCP,
			}},
		},
	}
}

// labels marks everything goldenpath renders, so it can be told apart from hand-written objects.
func labels() map[string]string {
	return map[string]string{"app.kubernetes.io/managed-by": "goldenpath", "app.kubernetes.io/part-of": "goldenpath-edge"}
}
