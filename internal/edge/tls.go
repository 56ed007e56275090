package edge

import (
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/goldenpathidp/goldenpath/internal/platform"
)

// newClusterIssuer renders the seed plan's letsencrypt-prod issuer (§2.2) with the solver it lacks. The plan's
// only solver is http01, but a wildcard name (its tooling Ingress asked for *.dev.<domain>) cannot be issued
// over http01: cert-manager reports "no configured challenge solvers can be used" and the Certificate is never
// ready. So: http01 through Kong for single names (no selector: the default), and dns01 through Route53
// selected by dnsNames for each environment's wildcard and any wildcard route host (cert-manager prefers the
// solver whose selector names the certificate's name).
func newClusterIssuer(cfg *platform.Config, t *Table) *ClusterIssuer {
	route53 := &Route53Solver{Region: cfg.DNS.Route53.Region, HostedZoneID: cfg.DNS.Route53.HostedZoneID}
	return &ClusterIssuer{
		TypeMeta:   metav1.TypeMeta{APIVersion: "cert-manager.io/v1", Kind: "ClusterIssuer"},
		ObjectMeta: metav1.ObjectMeta{Name: ClusterIssuerName, Labels: labels()},
		Spec: IssuerSpec{ACME: &ACMEIssuer{
			Server:              cfg.TLS.ACMEServer,
			Email:               cfg.TLS.Email,
			PrivateKeySecretRef: SecretKeySelector{Name: ClusterIssuerName + "-key"},
			Solvers: []ACMESolver{
				{HTTP01: &HTTP01Solver{Ingress: &HTTP01Ingress{IngressClassName: IngressClass}}},
				{Selector: &SolverSelector{DNSNames: WildcardNames(cfg, t)}, DNS01: &DNS01Solver{Route53: route53}},
			},
		}},
	}
}

// WildcardNames lists the names only dns01 can issue: "*.<environment domain>" for every environment (the
// plan's DNS records) and every wildcard route host, sorted.
func WildcardNames(cfg *platform.Config, t *Table) []string {
	var names []string
	for _, env := range cfg.EnvironmentNames() {
		names = append(names, "*."+cfg.EnvironmentDomain(env))
	}
	for _, r := range t.Routes() {
		if strings.HasPrefix(r.Host, "*.") {
			names = append(names, r.Host)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}
