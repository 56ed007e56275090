package images

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Request rates per registry, as Image Updater's defaults: Docker Hub enforces
// pull limits, so it gets half the rate of every other registry.
const (
	DefaultRate   = 20.0 // requests per second
	DockerHubRate = 10.0
)

// dockerHubHosts are the names Docker Hub is reached by.
var dockerHubHosts = map[string]bool{
	"docker.io": true, "index.docker.io": true, "registry-1.docker.io": true,
}

// limiter spaces requests to one registry: at most rate per second on average,
// with bursts of up to one second's worth. It reserves a slot first and then
// sleeps, so concurrent callers queue fairly without holding the lock.
type limiter struct {
	interval time.Duration
	burst    int

	mu  sync.Mutex
	tat time.Time // theoretical arrival time of the next request
}

func newLimiter(rate float64) *limiter {
	burst := int(rate)
	if burst < 1 {
		burst = 1
	}
	return &limiter{interval: time.Duration(float64(time.Second) / rate), burst: burst}
}

// reserve books the next slot and returns how long to wait for it.
func (l *limiter) reserve(now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tat.Before(now) {
		l.tat = now
	}
	wait := l.tat.Sub(now) - time.Duration(l.burst-1)*l.interval
	l.tat = l.tat.Add(l.interval)
	return max(wait, 0)
}

// wait blocks until the caller may send a request, or ctx ends.
func (l *limiter) wait(ctx context.Context) error {
	d := l.reserve(time.Now())
	if d == 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// limitedTransport waits for the registry's limiter before every request,
// retries and token exchanges included, since they all count for the registry.
type limitedTransport struct {
	base http.RoundTripper
	lim  *limiter
}

func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.lim.wait(req.Context()); err != nil {
		return nil, err
	}
	return t.base.RoundTrip(req)
}
