package images

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/problem"
)

// MaxWebhookBytes bounds a webhook body; distribution batches stay far below.
const MaxWebhookBytes = 1 << 20

// Secret is a shared webhook secret. It never prints itself.
type Secret string

func (Secret) String() string             { return "[redacted]" }
func (Secret) GoString() string           { return "[redacted]" }
func (Secret) LogValue() slog.Value       { return slog.StringValue("[redacted]") }
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("[redacted]")) }

// Handler serves the registry webhooks:
//
//	POST /webhooks/registry  CNCF distribution notifications (envelope of events)
//	POST /webhooks/ecr       Amazon EventBridge "ECR Image Action" events
//
// Both answer 202 with how many pushes were accepted and ignored, 400 naming
// the field of a payload that cannot be read, 401 without the shared secret
// (or its signature of the body), 403 when no secret is configured and
// Options.AnonymousWebhooks is not set. Accepted pushes go through Notify, so
// the answer never waits for a registry; each event's tag and digest are
// confirmed with the registry before anything is reported (see confirm).
func (w *Watcher) Handler() http.Handler {
	mux := http.NewServeMux()
	for pattern, parse := range w.webhooks() {
		mux.Handle(pattern, w.webhook(parse))
	}
	return mux
}

// webhooks are the webhook endpoints and their payloads' parsers.
func (w *Watcher) webhooks() map[string]parser {
	return map[string]parser{"POST /webhooks/registry": parseDistribution, "POST /webhooks/ecr": w.parseECR}
}

// Routes lists the webhook endpoints Handler serves ("METHOD /path"), for the security matrix's test.
func (w *Watcher) Routes() []string { return slices.Sorted(maps.Keys(w.webhooks())) }

// parser turns a webhook body into push events; ignored counts the events
// that are not pushes of tagged manifests. Errors are *problem.Error.
type parser func(body []byte) (events []Event, ignored int, err error)

// webhookResult is the body of a 202 answer.
type webhookResult struct {
	Accepted int `json:"accepted"`
	Ignored  int `json:"ignored"`
}

func (w *Watcher) webhook(parse parser) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if w.secret == "" && !w.open {
			writeProblem(rw, problem.New(problem.Forbidden,
				"registry webhooks are refused: no webhook secret is configured where goldenpath runs, and the listener is reachable beyond this machine"))
			return
		}
		body, err := readBody(rw, r)
		if err != nil {
			writeProblem(rw, problem.From(err))
			return
		}
		if !w.authorized(r, body) {
			writeProblem(rw, problem.New(problem.Unauthenticated,
				"webhook secret missing or wrong: send it as X-Webhook-Secret or Authorization: Bearer, or sign the body (X-Hub-Signature-256: sha256=<HMAC-SHA256>)"))
			return
		}
		events, ignored, err := parse(body)
		if err != nil {
			writeProblem(rw, problem.From(err))
			return
		}
		for _, ev := range events {
			w.Notify(r.Context(), ev)
		}
		writeJSON(rw, http.StatusAccepted, webhookResult{Accepted: len(events), Ignored: ignored})
	})
}

// authorized checks the shared secret, or the body's signature made with it,
// in constant time; hashing first makes the comparison independent of the
// lengths too.
func (w *Watcher) authorized(r *http.Request, body []byte) bool {
	if w.secret == "" {
		return w.open
	}
	if sig, ok := strings.CutPrefix(r.Header.Get("X-Hub-Signature-256"), "sha256="); ok {
		got, err := hex.DecodeString(sig)
		mac := hmac.New(sha256.New, []byte(w.secret))
		mac.Write(body)
		return err == nil && hmac.Equal(got, mac.Sum(nil))
	}
	got := r.Header.Get("X-Webhook-Secret")
	if got == "" {
		got, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(w.secret))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func readBody(rw http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, MaxWebhookBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, problem.New(problem.TooLarge, "webhook body is over %d bytes", MaxWebhookBytes)
	}
	if err != nil {
		return nil, problem.New(problem.Invalid, "reading the webhook body: %v", err)
	}
	return body, nil
}

func writeProblem(rw http.ResponseWriter, p *problem.Error) {
	writeJSON(rw, p.Code.Status(), p)
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(v)
}

// decodeJSON reads a third-party payload. Unknown fields are allowed: these
// formats are not ours, and senders add fields over time.
func decodeJSON(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return problem.Field(typeErr.Field, "must be a JSON %s", typeErr.Type)
		}
		return problem.New(problem.Invalid, "body is not JSON: %v", err)
	}
	return nil
}

var digestPattern = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`)

// manifestTypes are the media types of manifests; distribution also reports
// blob (layer, config) pushes, which move no tag.
var manifestTypes = map[string]bool{
	"application/vnd.docker.distribution.manifest.v2+json":      true,
	"application/vnd.docker.distribution.manifest.list.v2+json": true,
	"application/vnd.docker.distribution.manifest.v1+json":      true,
	"application/vnd.docker.distribution.manifest.v1+prettyjws": true,
	"application/vnd.oci.image.manifest.v1+json":                true,
	"application/vnd.oci.image.index.v1+json":                   true,
}

// distributionEnvelope is the body CNCF distribution (and registries that
// copy its notifications, such as Harbor's and GitLab's) posts.
type distributionEnvelope struct {
	Events *[]distributionEvent `json:"events"`
}

type distributionEvent struct {
	Action string `json:"action"`
	Target struct {
		MediaType  string `json:"mediaType"`
		Digest     string `json:"digest"`
		Repository string `json:"repository"`
		URL        string `json:"url"`
		Tag        string `json:"tag"`
	} `json:"target"`
	Request struct {
		Host string `json:"host"`
	} `json:"request"`
}

func parseDistribution(body []byte) ([]Event, int, error) {
	var env distributionEnvelope
	if err := decodeJSON(body, &env); err != nil {
		return nil, 0, err
	}
	if env.Events == nil {
		return nil, 0, problem.Field("events", "is missing: expected {\"events\": [...]}")
	}
	var events []Event
	ignored := 0
	for i, e := range *env.Events {
		ev, ok, err := distributionPush(fmt.Sprintf("events[%d]", i), e)
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			ignored++
			continue
		}
		events = append(events, ev)
	}
	return events, ignored, nil
}

// distributionPush converts a manifest push with a tag; pulls, deletes, blob
// pushes and pushes by digest are ignored.
func distributionPush(field string, e distributionEvent) (Event, bool, error) {
	if e.Action == "" {
		return Event{}, false, problem.Field(field+".action", "is missing")
	}
	if e.Action != "push" {
		return Event{}, false, nil
	}
	t := e.Target
	if t.MediaType == "" {
		return Event{}, false, problem.Field(field+".target.mediaType", "is missing")
	}
	if !manifestTypes[t.MediaType] || t.Tag == "" {
		return Event{}, false, nil
	}
	if t.Repository == "" {
		return Event{}, false, problem.Field(field+".target.repository", "is missing")
	}
	if !digestPattern.MatchString(t.Digest) {
		return Event{}, false, problem.Field(field+".target.digest", "%q is not a digest like sha256:<hex>", t.Digest)
	}
	host := e.Request.Host
	if host == "" {
		if u, err := url.Parse(t.URL); err == nil {
			host = u.Host
		}
	}
	if host == "" {
		return Event{}, false, problem.Field(field+".request.host", "is missing (and target.url names no host): the registry host is needed")
	}
	return Event{Registry: host, Repository: t.Repository, Tag: t.Tag, Digest: t.Digest}, true, nil
}

// ecrEvent is an EventBridge event as an API destination receives it.
type ecrEvent struct {
	DetailType string `json:"detail-type"`
	Account    string `json:"account"`
	Region     string `json:"region"`
	Detail     struct {
		ActionType     string `json:"action-type"`
		Result         string `json:"result"`
		RepositoryName string `json:"repository-name"`
		ImageTag       string `json:"image-tag"`
		ImageDigest    string `json:"image-digest"`
	} `json:"detail"`
}

var (
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

func (w *Watcher) parseECR(body []byte) ([]Event, int, error) {
	var e ecrEvent
	if err := decodeJSON(body, &e); err != nil {
		return nil, 0, err
	}
	if e.DetailType == "" {
		return nil, 0, problem.Field("detail-type", "is missing: expected an EventBridge event")
	}
	d := e.Detail
	if e.DetailType != "ECR Image Action" || d.ActionType != "PUSH" || d.Result != "SUCCESS" || d.ImageTag == "" {
		return nil, 1, nil // scans, deletes, failed pushes, pushes by digest
	}
	if err := checkECR(e); err != nil {
		return nil, 0, err
	}
	ev := Event{Registry: w.ecrHost(e.Account, e.Region), Repository: d.RepositoryName,
		Tag: d.ImageTag, Digest: d.ImageDigest}
	return []Event{ev}, 0, nil
}

func checkECR(e ecrEvent) error {
	switch {
	case !accountPattern.MatchString(e.Account):
		return problem.Field("account", "%q is not a 12-digit AWS account ID", e.Account)
	case !regionPattern.MatchString(e.Region):
		return problem.Field("region", "%q is not an AWS region such as us-east-1", e.Region)
	case e.Detail.RepositoryName == "":
		return problem.Field("detail.repository-name", "is missing")
	case !digestPattern.MatchString(e.Detail.ImageDigest):
		return problem.Field("detail.image-digest", "%q is not a digest like sha256:<hex>", e.Detail.ImageDigest)
	}
	return nil
}

// ecrHost is the private registry of an account in a region.
func ecrHost(account, region string) string {
	suffix := ".amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		suffix = ".amazonaws.com.cn"
	}
	return account + ".dkr.ecr." + region + suffix
}
