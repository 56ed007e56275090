package images

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const hookSecret = Secret("s3cret-webhook")

// distributionNotification is a notification as CNCF distribution posts it
// for `docker push host/dev/orders:<tag>`: blob pushes, then the manifest.
func distributionNotification(host, tag, digest string) string {
	return `{
  "events": [
    {
      "id": "asdf-asdf-asdf-asdf-1",
      "timestamp": "2024-05-01T14:04:05Z",
      "action": "push",
      "target": {
        "mediaType": "application/vnd.docker.container.image.rootfs.diff+x-gtar",
        "digest": "sha256:c3b3692957d439ac1928219a83fac91e7bf96c153725526874673ae1f2023f8d",
        "length": 2,
        "repository": "dev/orders",
        "url": "http://` + host + `/v2/dev/orders/blobs/sha256:c3b3692957d439ac1928219a83fac91e7bf96c153725526874673ae1f2023f8d"
      },
      "request": {"id": "r1", "addr": "10.0.0.5:53124", "host": "` + host + `", "method": "PUT", "useragent": "docker/27.0"},
      "actor": {"name": "ci"},
      "source": {"addr": "registry-0:5000", "instanceID": "a53db899-3b4b-4a62-a067-8dd013beaca4"}
    },
    {
      "id": "asdf-asdf-asdf-asdf-2",
      "timestamp": "2024-05-01T14:04:06Z",
      "action": "push",
      "target": {
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "size": 708,
        "digest": "` + digest + `",
        "length": 708,
        "repository": "dev/orders",
        "url": "http://` + host + `/v2/dev/orders/manifests/` + digest + `",
        "tag": "` + tag + `"
      },
      "request": {"id": "r2", "addr": "10.0.0.5:53124", "host": "` + host + `", "method": "PUT", "useragent": "docker/27.0"},
      "actor": {"name": "ci"},
      "source": {"addr": "registry-0:5000", "instanceID": "a53db899-3b4b-4a62-a067-8dd013beaca4"}
    }
  ]
}`
}

// ecrEventJSON is an EventBridge event as an API destination receives it.
func ecrEventJSON(actionType, result, repo, tag, digest string) string {
	return `{
  "version": "0",
  "id": "13cde686-328b-6117-af20-0e5566167482",
  "detail-type": "ECR Image Action",
  "source": "aws.ecr",
  "account": "123456789012",
  "time": "2024-05-01T01:54:34Z",
  "region": "us-west-2",
  "resources": [],
  "detail": {
    "result": "` + result + `",
    "repository-name": "` + repo + `",
    "image-digest": "` + digest + `",
    "action-type": "` + actionType + `",
    "image-tag": "` + tag + `"
  }
}`
}

func post(t *testing.T, srv *httptest.Server, path, body string, header map[string]string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("answer %d is not JSON: %s", resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out
}

var withSecret = map[string]string{"X-Webhook-Secret": string(hookSecret)}

// TestWebhooksDeliverPushes: a push that reaches goldenpath only as a webhook
// (distribution notification, then an ECR event) selects the new tag.
func TestWebhooksDeliverPushes(t *testing.T) {
	b := external(t)
	b.pushImage(t, "dev/orders", "1.0.0", date(2024, 1, 1), "linux/amd64")
	rec := newRecorder()
	var ecrAsked string
	w := run(t, Options{Source: lister(t, RegistryOptions{}, b.host), OnUpdate: rec.onUpdate,
		WebhookSecret: hookSecret,
		ECRHost: func(account, region string) string {
			ecrAsked = account + " " + region
			return b.host // the test's registry stands in for the account's ECR
		}})
	watch(t, w, Subscription{Key: "orders/dev", Repository: b.repo("dev/orders"), Current: "1.0.0"})
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)

	d110 := b.pushImage(t, "dev/orders", "1.1.0", date(2024, 1, 2), "linux/amd64")
	status, body := post(t, srv, "/webhooks/registry", distributionNotification(b.host, "1.1.0", d110), withSecret)
	if status != http.StatusAccepted || body["accepted"] != 1.0 || body["ignored"] != 1.0 {
		t.Fatalf("distribution notification: %d %v, want 202 with 1 accepted (the manifest) and 1 ignored (the blob)", status, body)
	}
	if u := rec.expect(t, "orders/dev", "1.1.0"); u.c.Digest != d110 {
		t.Fatalf("digest %s, want %s", u.c.Digest, d110)
	}

	d120 := b.pushImage(t, "dev/orders", "1.2.0", date(2024, 1, 3), "linux/amd64")
	status, body = post(t, srv, "/webhooks/ecr", ecrEventJSON("PUSH", "SUCCESS", "dev/orders", "1.2.0", d120), withSecret)
	if status != http.StatusAccepted || body["accepted"] != 1.0 {
		t.Fatalf("ECR event: %d %v, want 202 with 1 accepted", status, body)
	}
	rec.expect(t, "orders/dev", "1.2.0")
	if ecrAsked != "123456789012 us-west-2" {
		t.Errorf("ECRHost asked for %q, want the event's account and region", ecrAsked)
	}
}

func TestWebhookAnswers(t *testing.T) {
	rec := newRecorder()
	w := run(t, Options{Source: lister(t, RegistryOptions{}), OnUpdate: rec.onUpdate, WebhookSecret: hookSecret})
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	digest := "sha256:" + strings.Repeat("ab", 32)
	dist := func(events string) string { return `{"events": [` + events + `]}` }
	manifestPush := func(target, request string) string {
		return `{"action": "push", "target": {` + target + `}, "request": {` + request + `}}`
	}
	okTarget := `"mediaType": "application/vnd.oci.image.manifest.v1+json", "repository": "dev/orders", "digest": "` + digest + `", "tag": "1.0.0"`
	okRequest := `"host": "registry.example:5000"`

	tests := []struct {
		name      string
		path      string
		body      string
		header    map[string]string
		status    int
		wantField string  // for 400s
		accepted  float64 // for 202s
		ignored   float64
	}{
		{name: "distribution push", path: "/webhooks/registry", body: dist(manifestPush(okTarget, okRequest)), header: withSecret,
			status: 202, accepted: 1},
		{name: "secret as a bearer token", path: "/webhooks/registry", body: dist(manifestPush(okTarget, okRequest)),
			header: map[string]string{"Authorization": "Bearer " + string(hookSecret)}, status: 202, accepted: 1},
		{name: "host from the target URL", path: "/webhooks/registry", header: withSecret, status: 202, accepted: 1,
			body: dist(manifestPush(okTarget+`, "url": "https://registry.example/v2/dev/orders/manifests/`+digest+`"`, ""))},
		{name: "pull ignored", path: "/webhooks/registry", header: withSecret, status: 202, ignored: 1,
			body: dist(`{"action": "pull", "target": {` + okTarget + `}, "request": {` + okRequest + `}}`)},
		{name: "delete ignored", path: "/webhooks/registry", header: withSecret, status: 202, ignored: 1,
			body: dist(`{"action": "delete", "target": {"repository": "dev/orders", "digest": "` + digest + `"}}`)},
		{name: "push by digest ignored", path: "/webhooks/registry", header: withSecret, status: 202, ignored: 1,
			body: dist(manifestPush(strings.Replace(okTarget, `, "tag": "1.0.0"`, "", 1), okRequest))},
		{name: "layer push ignored", path: "/webhooks/registry", header: withSecret, status: 202, ignored: 1,
			body: dist(manifestPush(strings.Replace(okTarget, "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.layer.v1.tar+gzip", 1), okRequest))},
		{name: "empty envelope", path: "/webhooks/registry", body: `{"events": []}`, header: withSecret, status: 202},

		{name: "no secret", path: "/webhooks/registry", body: dist(manifestPush(okTarget, okRequest)), status: 401},
		{name: "wrong secret", path: "/webhooks/registry", body: dist(manifestPush(okTarget, okRequest)),
			header: map[string]string{"X-Webhook-Secret": "s3cret-webhooK"}, status: 401},
		{name: "not JSON", path: "/webhooks/registry", body: `events: []`, header: withSecret, status: 400},
		{name: "no events", path: "/webhooks/registry", body: `{}`, header: withSecret, status: 400, wantField: "events"},
		{name: "events of the wrong type", path: "/webhooks/registry", body: `{"events": {}}`, header: withSecret, status: 400, wantField: "events"},
		{name: "no action", path: "/webhooks/registry", header: withSecret, status: 400, wantField: "events[0].action",
			body: dist(`{"target": {` + okTarget + `}}`)},
		{name: "no media type", path: "/webhooks/registry", header: withSecret, status: 400, wantField: "events[1].target.mediaType",
			body: dist(manifestPush(okTarget, okRequest) + "," + manifestPush(`"repository": "dev/orders", "tag": "x"`, okRequest))},
		{name: "no repository", path: "/webhooks/registry", header: withSecret, status: 400, wantField: "events[0].target.repository",
			body: dist(manifestPush(strings.Replace(okTarget, `"repository": "dev/orders", `, "", 1), okRequest))},
		{name: "bad digest", path: "/webhooks/registry", header: withSecret, status: 400, wantField: "events[0].target.digest",
			body: dist(manifestPush(strings.Replace(okTarget, digest, "latest", 1), okRequest))},
		{name: "no host", path: "/webhooks/registry", header: withSecret, status: 400, wantField: "events[0].request.host",
			body: dist(manifestPush(okTarget, ""))},

		{name: "ECR push", path: "/webhooks/ecr", body: ecrEventJSON("PUSH", "SUCCESS", "dev/orders", "1.0.0", digest),
			header: withSecret, status: 202, accepted: 1},
		{name: "ECR AWS documentation sample", path: "/webhooks/ecr", header: withSecret, status: 202, accepted: 1,
			body: ecrEventJSON("PUSH", "SUCCESS", "my-repository-name", "latest", "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234")},
		{name: "ECR delete ignored", path: "/webhooks/ecr", body: ecrEventJSON("DELETE", "SUCCESS", "dev/orders", "1.0.0", digest),
			header: withSecret, status: 202, ignored: 1},
		{name: "ECR failed push ignored", path: "/webhooks/ecr", body: ecrEventJSON("PUSH", "FAILURE", "dev/orders", "1.0.0", digest),
			header: withSecret, status: 202, ignored: 1},
		{name: "ECR scan ignored", path: "/webhooks/ecr", header: withSecret, status: 202, ignored: 1,
			body: strings.Replace(ecrEventJSON("PUSH", "SUCCESS", "dev/orders", "1.0.0", digest), "ECR Image Action", "ECR Image Scan", 1)},
		{name: "ECR without secret", path: "/webhooks/ecr", body: ecrEventJSON("PUSH", "SUCCESS", "dev/orders", "1.0.0", digest), status: 401},
		{name: "ECR not an EventBridge event", path: "/webhooks/ecr", body: `{"repository": "x"}`, header: withSecret,
			status: 400, wantField: "detail-type"},
		{name: "ECR bad account", path: "/webhooks/ecr", header: withSecret, status: 400, wantField: "account",
			body: strings.Replace(ecrEventJSON("PUSH", "SUCCESS", "dev/orders", "1.0.0", digest), "123456789012", "12345", 1)},
		{name: "ECR bad region", path: "/webhooks/ecr", header: withSecret, status: 400, wantField: "region",
			body: strings.Replace(ecrEventJSON("PUSH", "SUCCESS", "dev/orders", "1.0.0", digest), "us-west-2", "westeros", 1)},
		{name: "ECR no repository", path: "/webhooks/ecr", header: withSecret, status: 400, wantField: "detail.repository-name",
			body: ecrEventJSON("PUSH", "SUCCESS", "", "1.0.0", digest)},
		{name: "ECR bad digest", path: "/webhooks/ecr", header: withSecret, status: 400, wantField: "detail.image-digest",
			body: ecrEventJSON("PUSH", "SUCCESS", "dev/orders", "1.0.0", "")},
		{name: "ECR tag of the wrong type", path: "/webhooks/ecr", header: withSecret, status: 400, wantField: "detail.image-tag",
			body: strings.Replace(ecrEventJSON("PUSH", "SUCCESS", "dev/orders", "1.0.0", digest), `"1.0.0"`, "7", 1)},

		{name: "too large", path: "/webhooks/registry", header: withSecret, status: 413,
			body: `{"events": [], "padding": "` + strings.Repeat("x", MaxWebhookBytes) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, srv, tt.path, tt.body, tt.header)
			if status != tt.status {
				t.Fatalf("status %d (%v), want %d", status, body, tt.status)
			}
			switch {
			case status == http.StatusAccepted:
				if body["accepted"] != tt.accepted || body["ignored"] != tt.ignored {
					t.Fatalf("answer %v, want %v accepted and %v ignored", body, tt.accepted, tt.ignored)
				}
			case tt.wantField != "":
				if body["field"] != tt.wantField || !strings.Contains(body["message"].(string), tt.wantField) {
					t.Fatalf("answer %v, want one naming the field %s", body, tt.wantField)
				}
			}
		})
	}
}

func TestWebhookRoutes(t *testing.T) {
	w := run(t, Options{Source: lister(t, RegistryOptions{}), OnUpdate: newRecorder().onUpdate, AnonymousWebhooks: true})
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	tests := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/webhooks/registry", http.StatusMethodNotAllowed},
		{http.MethodGet, "/webhooks/ecr", http.StatusMethodNotAllowed},
		{http.MethodPost, "/webhooks/unknown", http.StatusNotFound},
		// Without a configured secret, webhooks are open where the caller allows it (loopback).
		{http.MethodPost, "/webhooks/registry", http.StatusAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(`{"events": []}`))
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
}

func TestECRHost(t *testing.T) {
	tests := []struct{ account, region, want string }{
		{"123456789012", "us-west-2", "123456789012.dkr.ecr.us-west-2.amazonaws.com"},
		{"123456789012", "eu-central-1", "123456789012.dkr.ecr.eu-central-1.amazonaws.com"},
		{"123456789012", "cn-north-1", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"},
	}
	for _, tt := range tests {
		if got := ecrHost(tt.account, tt.region); got != tt.want {
			t.Errorf("ecrHost(%s, %s) = %s, want %s", tt.account, tt.region, got, tt.want)
		}
	}
}

// TestECREventNamesTheAccountRegistry: without ECRHost, an event becomes a
// push to the account's registry in the event's region.
func TestECREventNamesTheAccountRegistry(t *testing.T) {
	w, err := NewWatcher(Options{Source: lister(t, RegistryOptions{}), OnUpdate: newRecorder().onUpdate})
	if err != nil {
		t.Fatal(err)
	}
	digest := "sha256:" + strings.Repeat("cd", 32)
	events, _, err := w.parseECR([]byte(ecrEventJSON("PUSH", "SUCCESS", "team/orders", "1.4.0", digest)))
	if err != nil {
		t.Fatal(err)
	}
	want := Event{Registry: "123456789012.dkr.ecr.us-west-2.amazonaws.com", Repository: "team/orders", Tag: "1.4.0", Digest: digest}
	if len(events) != 1 || events[0] != want {
		t.Fatalf("events %+v, want [%+v]", events, want)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	if s := fmtAll(hookSecret) + fmtAll(Options{WebhookSecret: hookSecret}); strings.Contains(s, string(hookSecret)) {
		t.Fatalf("the secret printed itself: %s", s)
	}
}
