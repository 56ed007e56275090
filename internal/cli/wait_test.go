package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/request"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// requestSequence serves the request rds.dev.orders as each of states in turn, then the last one forever.
func requestSequence(t *testing.T, states ...store.Request) *httptest.Server {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != "/api/v1/requests/rds.dev.orders" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(states[min(n, len(states)-1)])
		n++
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestWaitKeepsWaitingWhileRetrying(t *testing.T) {
	failed := func(retrying bool, attempt string) store.Request {
		r := store.Request{ID: "rds.dev.orders", Phase: store.PhaseFailed, Conditions: []store.Condition{
			{Type: "Ready", Status: "False", Reason: "ProvisioningError", Message: "connection refused (attempt " + attempt + ")"}}}
		if retrying {
			r.Conditions = append(r.Conditions, store.Condition{Type: request.ConditionRetrying, Status: "True", Reason: "ProvisioningError",
				Message: "attempt " + attempt + " failed; the next one is at 2026-12-08T04:00:00Z"})
		}
		return r
	}
	ready := store.Request{ID: "rds.dev.orders", Phase: store.PhaseReady}

	srv := requestSequence(t, failed(true, "5"), failed(true, "5"), failed(true, "6"), ready)
	c := cliEnv{t: t, server: srv.URL, dir: t.TempDir()}
	out, errs, code := c.run("", "request", "wait", "rds.dev.orders", "--timeout", "30s")
	if code != 0 || !strings.Contains(out, "rds.dev.orders is Ready") {
		t.Errorf("a failed request being retried: exit %d, %q %q; want it waited on until Ready", code, out, errs)
	}
	if strings.Count(errs, "keeps trying") != 2 {
		t.Errorf("want one note per failed attempt on stderr, got:\n%s", errs)
	}

	srv = requestSequence(t, failed(false, "1"), ready)
	c = cliEnv{t: t, server: srv.URL, dir: t.TempDir()}
	if _, errs, code := c.run("", "request", "wait", "rds.dev.orders", "--timeout", "30s"); code != 6 || !strings.Contains(errs, "rds.dev.orders failed: ProvisioningError") {
		t.Errorf("a request failed for good: exit %d, %q; want exit 6 at once", code, errs)
	}
}
