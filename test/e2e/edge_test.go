package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/forge"
	mdns "github.com/miekg/dns"
)

func query(t *testing.T, server, name string, qtype uint16) *mdns.Msg {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), qtype)
	in, _, err := (&mdns.Client{Net: "udp", Timeout: 2 * time.Second}).Exchange(m, server)
	if err != nil {
		t.Fatalf("querying %s: %v", name, err)
	}
	return in
}

// waitDNS polls until name resolves to an A record.
func waitDNS(t *testing.T, server, name string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		in := query(t, server, name, mdns.TypeA)
		for _, rr := range in.Answer {
			if a, ok := rr.(*mdns.A); ok {
				return a.A.String()
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never resolved", name)
	return ""
}

// TestEdgeInUp checks DNS names, the dev gateway's HTTPS and the rendered files for the platform's tooling
// and for an app scaffolded from the template.
func TestEdgeInUp(t *testing.T) {
	e := start(t, startOptions{})
	tm := cast(e)
	server := e.app.DNS.Addr()
	ctx := context.Background()

	if got := waitDNS(t, server, "backstage.dev.goldenpathidp.io"); got != "127.0.0.1" {
		t.Errorf("backstage.dev resolves to %s, want the dev gateway 127.0.0.1", got)
	}
	if got := waitDNS(t, server, "anything.dev.goldenpathidp.io"); got != "127.0.0.1" {
		t.Errorf("the *.dev wildcard resolves to %s", got)
	}
	if in := query(t, server, "example.org", mdns.TypeA); in.Rcode != mdns.RcodeRefused {
		t.Errorf("a name outside the zone: rcode %s, want REFUSED", mdns.RcodeToString[in.Rcode])
	}

	// HTTPS through the gateway, trusting its CA, reaches the portal at backstage.dev.
	client := gatewayClient(t, e)
	resp, err := client.Get("https://backstage.dev.goldenpathidp.io/signin")
	if err != nil {
		t.Fatalf("HTTPS through the dev gateway: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Sign in") {
		t.Errorf("backstage.dev through the gateway: %d %.200s", resp.StatusCode, body)
	}
	if resp, err := client.Get("https://nobody.dev.goldenpathidp.io/"); err == nil {
		resp.Body.Close()
		t.Error("the gateway minted a certificate for a host no route serves")
	}
	// Plain HTTP too, through the fast path; both requests are in the access log.
	httpURL, _ := e.app.GatewayURLs()
	req, _ := http.NewRequest(http.MethodGet, httpURL+"/signin", nil)
	req.Host = "backstage.dev.goldenpathidp.io"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("plain HTTP through the dev gateway: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// The gateway writes a request's line once its response is done, which the client may see first.
	var accessLog []byte
	count := func() int {
		accessLog, _ = os.ReadFile(filepath.Join(e.app.DataDir(), "gateway", "access.log"))
		return strings.Count(string(accessLog), "host=backstage.dev.goldenpathidp.io method=GET path=/signin status=200")
	}
	for deadline := time.Now().Add(10 * time.Second); count() < 2 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := count(); n != 2 {
		t.Errorf("the gateway's access log has %d lines for the two requests to /signin, want 2:\n%s", n, accessLog)
	}

	// Rendered files land in the platform repository.
	waitFile(t, e, "gitops/kustomize/overlays/dev/platform/kong/ingress-tooling.yaml", "ingressClassName: kong")
	waitFile(t, e, "gitops/kustomize/base/cert-manager/cluster-issuer.yaml", "dns01")
	waitFile(t, e, "modules/aws_route53/main.tf", "aws_route53_record")
	waitFile(t, e, "envs/dev/route53.tf", "backstage.dev.goldenpathidp.io")

	// An app's route gets a name and an Ingress.
	id := e.task(tm.alice, "app-template", map[string]any{"name": "orders", "owner": "group:default/payments", "registry": false,
		"repoUrl": "goldenpath?owner=payments&repo=orders"}, nil)
	if status, evs := e.waitTask(tm.alice, id, 30*time.Second); status != "completed" {
		t.Fatalf("app-template: %s\n%s", status, messages(evs))
	}
	waitFile(t, e, "gitops/kustomize/overlays/dev/apps/orders/ingress.yaml", "orders.dev.goldenpathidp.io")
	// The app's own record (not just the *.dev wildcard) exists, with its ownership record.
	waitTXT(t, server, "a-orders.dev.goldenpathidp.io", "external-dns/owner=goldenpath")

	// A second app claiming the same host is reported; the first keeps its route.
	repo, _ := e.app.Forge.Repo("payments/orders")
	score, _ := repo.ReadFile(ctx, "main", "score.yaml")
	e.app.Forge.CreateRepoWithCommit(ctx, "payments/copycat", "main", forge.CommitOptions{Message: "copy", Author: forge.Signature{Name: "a", Email: "a@x"},
		Changes: []forge.Change{{Path: "score.yaml", Content: []byte(strings.Replace(string(score), "name: orders", "name: copycat", 1))}}})
	e.app.KickEdge()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := e.must(200, "GET", "/api/v1/edge", tm.alice, nil)
		if strings.Contains(string(v.body), "orders.dev.goldenpathidp.io") && strings.Contains(string(v.body), "copycat") {
			if !strings.Contains(string(v.body), "backstage.dev.goldenpathidp.io") {
				t.Errorf("the platform's routes were dropped because of a conflict: %s", v.body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the host conflict was never reported: %s", v.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// gatewayClient speaks HTTPS to the dev gateway for any host, trusting the gateway's CA.
func gatewayClient(t *testing.T, e *env) *http.Client {
	t.Helper()
	ca := e.must(200, "GET", "/api/v1/gateway/ca.pem", "", nil).body
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("the gateway CA is not PEM")
	}
	_, httpsURL := e.app.GatewayURLs()
	gwAddr := strings.TrimPrefix(httpsURL, "https://")
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, gwAddr) // like curl --resolve
		},
	}}
}

func waitFile(t *testing.T, e *env, path, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, err := e.app.Platform.ReadFile(context.Background(), "main", path)
		if err == nil && strings.Contains(string(b), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s on main: %v\n%s", path, err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitTXT(t *testing.T, server, name, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, rr := range query(t, server, name, mdns.TypeTXT).Answer {
			if txt, ok := rr.(*mdns.TXT); ok && strings.Contains(strings.Join(txt.Txt, ""), want) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no TXT %q at %s", want, name)
}
