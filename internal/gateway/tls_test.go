package gateway_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/gateway"
)

func TestLocalCA(t *testing.T) {
	g := start(t, gateway.Options{})
	block, _ := pem.Decode(g.CACertPEM())
	if block == nil {
		t.Fatal("CACertPEM: no PEM block")
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("parsing CA: %v", err)
	}
	if ca.Subject.CommonName != "goldenpath local CA" || !ca.IsCA {
		t.Errorf("got CA %q (IsCA %v), want CA named goldenpath local CA", ca.Subject.CommonName, ca.IsCA)
	}
	if pub, ok := ca.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("got CA key %T, want ECDSA P-256", ca.PublicKey)
	}
	if years := ca.NotAfter.Sub(time.Now()).Hours() / 24 / 365; years < 9.9 || years > 10.1 {
		t.Errorf("got CA valid for %.1f more years, want 10", years)
	}
	fi, err := os.Stat(filepath.Join(g.dir, "ca.key"))
	if err != nil {
		t.Fatalf("CA key file: %v", err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("got CA key mode %o, want 600", perm)
	}
	onDisk, err := os.ReadFile(filepath.Join(g.dir, "ca.crt"))
	if err != nil || !bytes.Equal(onDisk, g.CACertPEM()) {
		t.Errorf("ca.crt on disk differs from CACertPEM (err %v)", err)
	}
}

func TestHTTPSTrustAndSNI(t *testing.T) {
	g := start(t, gateway.Options{})
	up := upstream(t, "svc")
	g.setRoutes(t,
		gateway.Route{Name: "a", Host: "a.test", Upstream: up},
		gateway.Route{Name: "b", Host: "b.test", PathPrefix: "/only", Upstream: up},
		gateway.Route{Name: "apps", Host: "*.apps.test", Upstream: up},
	)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(g.CACertPEM())

	t.Run("client without the CA refuses the gateway", func(t *testing.T) {
		_, err := client(t, g.httpsAddr, nil).Get("https://a.test/")
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Fatalf("GET https://a.test/ without the CA: got error %v, want unknown authority", err)
		}
	})
	t.Run("client with the CA is served", func(t *testing.T) {
		if got := get(t, g.https(t), "https://a.test/").Name; got != "svc" {
			t.Errorf("got upstream %q, want svc", got)
		}
	})
	for _, host := range []string{"a.test", "b.test", "shop.apps.test"} {
		t.Run("leaf for "+host, func(t *testing.T) {
			leaf := handshake(t, g.httpsAddr, host, roots)
			if !slices.Equal(leaf.DNSNames, []string{host}) {
				t.Errorf("got certificate for %q, want exactly [%s]", leaf.DNSNames, host)
			}
			if leaf.Issuer.CommonName != "goldenpath local CA" {
				t.Errorf("got issuer %q, want goldenpath local CA", leaf.Issuer.CommonName)
			}
			if days := leaf.NotAfter.Sub(time.Now()).Hours() / 24; days < 29 || days > 31 {
				t.Errorf("got leaf valid for %.1f more days, want about 30", days)
			}
			again := handshake(t, g.httpsAddr, host, roots)
			if again.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
				t.Errorf("second handshake got a new certificate (serial %s, first %s), want the cached one", again.SerialNumber, leaf.SerialNumber)
			}
		})
	}
	for _, host := range []string{"nope.test", "apps.test", "a.test.evil", ""} {
		t.Run("no leaf for unrouted "+strings.TrimSpace(host+" (no SNI)"), func(t *testing.T) {
			// Even a client that verifies nothing gets no certificate.
			conn, err := tls.Dial("tcp", g.httpsAddr, &tls.Config{ServerName: host, InsecureSkipVerify: true})
			if err == nil {
				cert := conn.ConnectionState().PeerCertificates[0]
				conn.Close()
				t.Fatalf("handshake for %q: got a certificate for %q, want the handshake refused", host, cert.DNSNames)
			}
		})
	}
}

// handshake connects with SNI host, verifying against roots, and returns the server's leaf.
func handshake(t *testing.T, addr, host string, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: host, RootCAs: roots})
	if err != nil {
		t.Fatalf("TLS handshake for %s: %v", host, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

func TestCAPersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	first, err := gateway.New(gateway.Options{DataDir: dir})
	if err != nil {
		t.Fatalf("first New: %v", err)
	}
	trusted := first.CACertPEM()
	g := start(t, gateway.Options{DataDir: dir})
	if !bytes.Equal(g.CACertPEM(), trusted) {
		t.Fatal("after a restart: got a different root CA, want the one created on first start")
	}
	g.setRoutes(t, gateway.Route{Name: "a", Host: "a.test", Upstream: upstream(t, "svc")})
	if got := get(t, client(t, g.httpsAddr, trusted), "https://a.test/").Name; got != "svc" {
		t.Errorf("got upstream %q, want svc", got)
	}
}

func TestCAFilesOnDisk(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		wantErr string // empty: New succeeds
	}{
		{
			name:    "certificate without its key",
			prepare: func(t *testing.T, dir string) { remove(t, dir, "ca.key") },
			wantErr: "exists but its key",
		},
		{
			name:    "key without its certificate (interrupted first start) is replaced",
			prepare: func(t *testing.T, dir string) { remove(t, dir, "ca.crt") },
		},
		{
			name:    "garbage certificate",
			prepare: func(t *testing.T, dir string) { write(t, dir, "ca.crt", "not a certificate") },
			wantErr: "no PEM CERTIFICATE block",
		},
		{
			name: "key of another CA",
			prepare: func(t *testing.T, dir string) {
				other := t.TempDir()
				if _, err := gateway.New(gateway.Options{DataDir: other}); err != nil {
					t.Fatal(err)
				}
				key, _ := os.ReadFile(filepath.Join(other, "ca.key"))
				write(t, dir, "ca.key", string(key))
			},
			wantErr: "is not the ECDSA key of",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := gateway.New(gateway.Options{DataDir: dir}); err != nil {
				t.Fatal(err)
			}
			tt.prepare(t, dir)
			g, err := gateway.New(gateway.Options{DataDir: dir})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: got %v, want a new CA", err)
				}
				if _, err := os.Stat(filepath.Join(dir, "ca.crt")); err != nil || len(g.CACertPEM()) == 0 {
					t.Errorf("got no CA certificate on disk (%v), want a new one", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New: got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewRequiresDataDir(t *testing.T) {
	_, err := gateway.New(gateway.Options{})
	if err == nil || !strings.Contains(err.Error(), "DataDir is required") {
		t.Fatalf("New without DataDir: got %v, want an error naming DataDir", err)
	}
}

func remove(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
