package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/atomicfile"
)

const (
	caCertFile   = "ca.crt"
	caKeyFile    = "ca.key"
	caName       = "goldenpath local CA"
	caLifetime   = 10 * 365 * 24 * time.Hour
	leafLifetime = 30 * 24 * time.Hour
	// clockSkew backdates certificates so that a client whose clock runs a little behind accepts them.
	clockSkew = time.Hour
	// maxLeaves bounds the cache: a wildcard route lets clients ask for any number of names.
	maxLeaves = 4096
)

// authority is the local root CA and its cache of leaf certificates, one per host name.
type authority struct {
	cert     *x509.Certificate
	certPEM  []byte
	key      *ecdsa.PrivateKey
	lifetime time.Duration
	now      func() time.Time

	mu     sync.RWMutex
	leaves map[string]*tls.Certificate
}

// loadOrCreateCA reads the CA from dir, or creates one if dir holds none. A certificate without its
// key is an error (whoever trusts it would be left with a root nobody can sign for); a key without
// its certificate is what an interrupted first start leaves, and is replaced.
func loadOrCreateCA(dir string, log *slog.Logger) (*authority, error) {
	certPath, keyPath := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
		return parseCA(certPEM, keyPEM, certPath, keyPath, log)
	case certErr == nil && errors.Is(keyErr, fs.ErrNotExist):
		return nil, fmt.Errorf("local CA: %s exists but its key %s does not; delete %s to create a new CA (and trust it again)", certPath, keyPath, certPath)
	case errors.Is(certErr, fs.ErrNotExist) && (keyErr == nil || errors.Is(keyErr, fs.ErrNotExist)):
		return createCA(dir, certPath, keyPath, log)
	case certErr != nil && !errors.Is(certErr, fs.ErrNotExist):
		return nil, fmt.Errorf("local CA: reading certificate: %w", certErr)
	}
	return nil, fmt.Errorf("local CA: reading key: %w", keyErr)
}

func newAuthority(cert *x509.Certificate, certPEM []byte, key *ecdsa.PrivateKey) *authority {
	return &authority{cert: cert, certPEM: certPEM, key: key, lifetime: leafLifetime, now: time.Now, leaves: map[string]*tls.Certificate{}}
}

func parseCA(certPEM, keyPEM []byte, certPath, keyPath string, log *slog.Logger) (*authority, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("local CA: %s: no PEM CERTIFICATE block", certPath)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("local CA: parsing %s: %w", certPath, err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil || kb.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("local CA: %s: no PEM PRIVATE KEY block", keyPath)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("local CA: parsing %s: %w", keyPath, err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("local CA: %s is not the ECDSA key of %s", keyPath, certPath)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("local CA: %s is not a CA certificate", certPath)
	}
	if time.Now().After(cert.NotAfter) {
		return nil, fmt.Errorf("local CA: %s expired on %s; delete %s and %s to create a new one", certPath, cert.NotAfter.Format(time.DateOnly), certPath, keyPath)
	}
	if fi, err := os.Stat(keyPath); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("local CA key is readable by others; chmod 600 it", "path", keyPath, "mode", fi.Mode().Perm().String())
	}
	return newAuthority(cert, certPEM, key), nil
}

func createCA(dir, certPath, keyPath string, log *slog.Logger) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("local CA: generating key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: caName, Organization: []string{"goldenpath"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(caLifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true, // it signs leaves only, never another CA
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("local CA: creating certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("local CA: parsing new certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("local CA: encoding key: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("local CA: creating %s: %w", dir, err)
	}
	// The key goes first: a start interrupted between the two writes leaves a key alone, which
	// the next start replaces, never a certificate someone may trust without its key.
	if err := atomicfile.Write(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, fmt.Errorf("local CA: writing key: %w", err)
	}
	if err := atomicfile.Write(certPath, certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("local CA: writing certificate: %w", err)
	}
	log.Info("created local CA; trust its certificate for HTTPS without warnings", "cert", certPath)
	return newAuthority(cert, certPEM, key), nil
}

func randomSerial() *big.Int {
	// crypto/rand.Int does not fail on the system reader.
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n.Add(n, big.NewInt(1))
}

// leaf returns a certificate for host, from the cache while it has more than a third of its
// validity left, freshly minted otherwise.
func (a *authority) leaf(host string) (*tls.Certificate, error) {
	now := a.now()
	a.mu.RLock()
	c := a.leaves[host]
	a.mu.RUnlock()
	if fresh(c, now) {
		return c, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.leaves[host]; fresh(c, now) {
		return c, nil // minted by a concurrent handshake
	}
	c, err := a.mint(host, now)
	if err != nil {
		return nil, err
	}
	if len(a.leaves) >= maxLeaves {
		clear(a.leaves)
	}
	a.leaves[host] = c
	return c, nil
}

// fresh measures against the leaf's own validity, which is shorter than a.lifetime when the CA
// ends first: a fixed margin would then re-mint on every handshake.
func fresh(c *tls.Certificate, now time.Time) bool {
	if c == nil {
		return false
	}
	validity := c.Leaf.NotAfter.Sub(c.Leaf.NotBefore)
	return now.Before(c.Leaf.NotAfter.Add(-validity / 3))
}

func (a *authority) mint(host string, now time.Time) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating key for %q: %w", host, err)
	}
	notAfter := now.Add(a.lifetime)
	if notAfter.After(a.cert.NotAfter) {
		notAfter = a.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: host},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return nil, fmt.Errorf("signing certificate for %q: %w", host, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing certificate for %q: %w", host, err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// getCertificate serves SNI: a leaf for a routed host, a handshake failure for anything else, so
// that the gateway does not sign arbitrary names for whoever asks.
func (g *Gateway) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	host := normalizeHost(hello.ServerName)
	if host == "" {
		return nil, errors.New("no server name (SNI) in the TLS handshake: connect by a routed host name")
	}
	if !g.routes.Load().serves(host) {
		g.log.Info("refused certificate for a host no route serves", "host", host)
		return nil, fmt.Errorf("host %q is not routed by the gateway", host)
	}
	c, err := g.ca.leaf(host)
	if err != nil {
		g.log.Error("minting certificate", "host", host, "err", err)
		return nil, err
	}
	return c, nil
}
