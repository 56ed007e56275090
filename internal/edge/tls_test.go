package edge

import (
	"maps"
	"slices"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
)

// solverFor picks the solver cert-manager would use for a DNS name: a solver whose selector lists the name
// beats one without a selector; http01 can never answer for a wildcard.
func solverFor(iss *ClusterIssuer, name string) *ACMESolver {
	var fallback *ACMESolver
	for i := range iss.Spec.ACME.Solvers {
		s := &iss.Spec.ACME.Solvers[i]
		if strings.HasPrefix(name, "*.") && s.HTTP01 != nil {
			continue
		}
		if s.Selector == nil && fallback == nil {
			fallback = s
		}
		if s.Selector != nil && slices.Contains(s.Selector.DNSNames, name) {
			return s
		}
	}
	return fallback
}

// TestEveryTLSHostCanBeIssued checks the plan's bug cannot come back: every name an Ingress asks a
// certificate for, and every environment wildcard, has a solver that can answer for it.
func TestEveryTLSHostCanBeIssued(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			cfg := loadPlatform(t, sc.platform)
			table, err := Build(cfg, sampleApps())
			if err != nil {
				t.Fatal(err)
			}
			files, err := Render(cfg, table)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := Decode(IssuerPath, files[IssuerPath])
			if err != nil {
				t.Fatal(err)
			}
			iss := objs[0].(*ClusterIssuer)
			names := WildcardNames(cfg, table)
			for _, p := range slices.Sorted(maps.Keys(files)) {
				objs, err := Decode(p, files[p])
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range objs {
					if ing, ok := o.(*networkingv1.Ingress); ok {
						for _, tls := range ing.Spec.TLS {
							names = append(names, tls.Hosts...)
						}
					}
				}
			}
			for _, name := range names {
				s := solverFor(iss, name)
				switch {
				case s == nil:
					t.Errorf("%s: no configured challenge solver can be used", name)
				case strings.HasPrefix(name, "*.") && s.DNS01 == nil:
					t.Errorf("%s: got solver %+v, want dns01 for a wildcard", name, s)
				case !strings.HasPrefix(name, "*.") && (s.HTTP01 == nil || s.HTTP01.Ingress.IngressClassName != "kong"):
					t.Errorf("%s: got solver %+v, want http01 through the kong ingress class", name, s)
				}
			}
			if !slices.Contains(names, "*.dev.goldenpathidp.io") || !slices.Contains(names, "*.preview.dev.goldenpathidp.io") {
				t.Errorf("got names %v, want the dev wildcard and the wildcard route host among them", names)
			}
		})
	}
}
