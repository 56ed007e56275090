package images

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// logBuffer collects a watcher's log.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitLog waits until the log contains every want.
func (l *logBuffer) waitLog(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, all := l.String(), true
		for _, w := range want {
			all = all && strings.Contains(s, w)
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log never showed %q:\n%s", want, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEventsAreConfirmedWithTheRegistry: whatever an event says (a push hook, a webhook), only what the
// registry confirms is reported: an event naming a tag the registry does not have, or a digest the tag
// does not point at, is refused and logged, and reports nothing.
func TestEventsAreConfirmedWithTheRegistry(t *testing.T) {
	b := external(t)
	d1 := b.pushImage(t, "dev/orders", "1.0.0", date(2024, 1, 1), "linux/amd64")
	d0 := b.pushImage(t, "dev/orders", "0.9.0", date(2023, 1, 1), "linux/amd64")
	b.push(t, "dev/orders", "stable", mustImageAt(t, b, "dev/orders", d1))
	rec := newRecorder()
	logs := &logBuffer{}
	w := run(t, Options{Source: lister(t, RegistryOptions{}, b.host), OnUpdate: rec.onUpdate, WebhookSecret: hookSecret,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	watch(t, w, Subscription{Key: "orders/dev", Repository: b.repo("dev/orders"), Policy: Policy{Strategy: StrategySemver}, Current: "1.0.0"})
	watch(t, w, Subscription{Key: "orders/stable", Repository: b.repo("dev/orders"), Policy: Policy{Strategy: StrategyDigest, Tag: "stable"}, Current: d1})
	rec.none(t, 200*time.Millisecond)

	// A tag the registry does not have, pointing at a real image of the repository.
	w.Notify(context.Background(), Event{Registry: b.host, Repository: "dev/orders", Tag: "9.9.9", Digest: d1})
	logs.waitLog(t, "push event refused", "tag=9.9.9")
	// A real tag, said to point at another real image of the repository.
	w.Notify(context.Background(), Event{Registry: b.host, Repository: "dev/orders", Tag: "stable", Digest: d0})
	logs.waitLog(t, "push event refused", "tag=stable", "digest="+d0)
	// The same through a webhook.
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	if status, body := post(t, srv, "/webhooks/registry", distributionNotification(b.host, "8.8.8", d1), withSecret); status != http.StatusAccepted {
		t.Fatalf("webhook: %d %v", status, body)
	}
	logs.waitLog(t, "tag=8.8.8")
	rec.none(t, 300*time.Millisecond)

	// What the registry confirms still goes through: a new tag, and the mutable tag moving, each announced
	// with the registry's own digest (or with none).
	d11 := b.pushImage(t, "dev/orders", "1.1.0", date(2024, 2, 1), "linux/amd64")
	w.Notify(context.Background(), Event{Registry: b.host, Repository: "dev/orders", Tag: "1.1.0", Digest: d11})
	if u := rec.expect(t, "orders/dev", "1.1.0"); u.c.Digest != d11 {
		t.Errorf("digest %s, want the registry's %s", u.c.Digest, d11)
	}
	b.push(t, "dev/orders", "stable", mustImageAt(t, b, "dev/orders", d11))
	w.Notify(context.Background(), Event{Registry: b.host, Repository: "dev/orders", Tag: "stable"})
	if u := rec.expect(t, "orders/stable", "stable"); u.c.Digest != d11 {
		t.Errorf("stable moved to %s, want %s", u.c.Digest, d11)
	}
}

// TestWebhooksNeedASecretUnlessAllowed: without a secret, webhooks are refused unless the caller allows
// anonymous ones (a listener only this machine reaches).
func TestWebhooksNeedASecretUnlessAllowed(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	for _, tt := range []struct {
		name   string
		opts   Options
		status int
	}{
		{"no secret", Options{}, http.StatusForbidden},
		{"no secret, anonymous allowed", Options{AnonymousWebhooks: true}, http.StatusAccepted},
		{"a secret, anonymous allowed", Options{WebhookSecret: hookSecret, AnonymousWebhooks: true}, http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Source, tt.opts.OnUpdate = lister(t, RegistryOptions{}), newRecorder().onUpdate
			w := run(t, tt.opts)
			srv := httptest.NewServer(w.Handler())
			t.Cleanup(srv.Close)
			for _, path := range []string{"/webhooks/registry", "/webhooks/ecr"} {
				body := distributionNotification("registry.example:5000", "1.0.0", digest)
				if path == "/webhooks/ecr" {
					body = ecrEventJSON("PUSH", "SUCCESS", "dev/orders", "1.0.0", digest)
				}
				status, answer := post(t, srv, path, body, nil)
				if status != tt.status {
					t.Errorf("anonymous POST %s: %d %v, want %d", path, status, answer, tt.status)
				}
				if status == http.StatusForbidden && !strings.Contains(answer["message"].(string), "no webhook secret") {
					t.Errorf("the refusal does not say why: %v", answer)
				}
			}
		})
	}
}

// TestWebhookSignatures: a body signed with the secret (HMAC-SHA256, X-Hub-Signature-256) is accepted;
// a signature of another body, with another key, or malformed, is not.
func TestWebhookSignatures(t *testing.T) {
	w := run(t, Options{Source: lister(t, RegistryOptions{}), OnUpdate: newRecorder().onUpdate, WebhookSecret: hookSecret})
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	body := distributionNotification("registry.example:5000", "1.0.0", "sha256:"+strings.Repeat("ab", 32))
	sign := func(key, body string) string {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(body))
		return "sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	for _, tt := range []struct {
		name, signature string
		status          int
	}{
		{"signed with the secret", sign(string(hookSecret), body), http.StatusAccepted},
		{"another body's signature", sign(string(hookSecret), body+" "), http.StatusUnauthorized},
		{"another key", sign("guess", body), http.StatusUnauthorized},
		{"not hex", "sha256=zz", http.StatusUnauthorized},
		{"empty", "sha256=", http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if status, answer := post(t, srv, "/webhooks/registry", body, map[string]string{"X-Hub-Signature-256": tt.signature}); status != tt.status {
				t.Errorf("%d %v, want %d", status, answer, tt.status)
			}
		})
	}
}

// mustImageAt pulls the image path@digest from the backend, to tag it again.
func mustImageAt(t *testing.T, b *backend, path, digest string) v1.Image {
	t.Helper()
	ref, err := name.NewDigest(b.repo(path)+"@"+digest, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref, b.options()...)
	if err != nil {
		t.Fatalf("pulling %s: %v", ref, err)
	}
	return img
}
