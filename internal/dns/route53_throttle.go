package dns

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/smithy-go"
)

// throttled wraps a Route53API with a client-side rate limit (Route53 allows 5 requests a second per
// account, shared by everything in it) and retries, with exponential back-off and jitter, of the calls Route53
// throttles — Throttling, and PriorRequestNotComplete when a change to the zone is still being applied.
type throttled struct {
	api     Route53API
	lim     *limiter
	retries int
	base    time.Duration
	log     *slog.Logger
}

func newThrottled(api Route53API, cfg Route53Config, log *slog.Logger) *throttled {
	return &throttled{api: api, lim: &limiter{interval: time.Duration(float64(time.Second) / cfg.RequestsPerSecond)},
		retries: cfg.MaxRetries, base: cfg.RetryBase, log: log}
}

// isThrottle reports whether Route53 asked us to slow down or wait.
func isThrottle(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "Throttling", "ThrottlingException", "PriorRequestNotComplete", "RequestLimitExceeded", "TooManyRequestsException":
		return true
	}
	return false
}

func call[T any](ctx context.Context, t *throttled, op string, f func() (T, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		if err := t.lim.wait(ctx); err != nil {
			var zero T
			return zero, err
		}
		out, err := f()
		if err == nil || !isThrottle(err) || attempt >= t.retries {
			return out, err
		}
		d := min(t.base<<attempt, 30*time.Second)
		d = d/2 + rand.N(d/2+1) // jitter, so the account's other clients do not retry in step with us
		t.log.Warn("route53 throttled, backing off", "op", op, "attempt", attempt+1, "wait", d, "err", err)
		if err := sleep(ctx, d); err != nil {
			var zero T
			return zero, err
		}
	}
}

func (t *throttled) ListHostedZonesByName(ctx context.Context, in *route53.ListHostedZonesByNameInput, opts ...func(*route53.Options)) (*route53.ListHostedZonesByNameOutput, error) {
	return call(ctx, t, "ListHostedZonesByName", func() (*route53.ListHostedZonesByNameOutput, error) {
		return t.api.ListHostedZonesByName(ctx, in, opts...)
	})
}

func (t *throttled) GetHostedZone(ctx context.Context, in *route53.GetHostedZoneInput, opts ...func(*route53.Options)) (*route53.GetHostedZoneOutput, error) {
	return call(ctx, t, "GetHostedZone", func() (*route53.GetHostedZoneOutput, error) { return t.api.GetHostedZone(ctx, in, opts...) })
}

func (t *throttled) CreateHostedZone(ctx context.Context, in *route53.CreateHostedZoneInput, opts ...func(*route53.Options)) (*route53.CreateHostedZoneOutput, error) {
	return call(ctx, t, "CreateHostedZone", func() (*route53.CreateHostedZoneOutput, error) { return t.api.CreateHostedZone(ctx, in, opts...) })
}

func (t *throttled) ListResourceRecordSets(ctx context.Context, in *route53.ListResourceRecordSetsInput, opts ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error) {
	return call(ctx, t, "ListResourceRecordSets", func() (*route53.ListResourceRecordSetsOutput, error) {
		return t.api.ListResourceRecordSets(ctx, in, opts...)
	})
}

func (t *throttled) ChangeResourceRecordSets(ctx context.Context, in *route53.ChangeResourceRecordSetsInput, opts ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error) {
	return call(ctx, t, "ChangeResourceRecordSets", func() (*route53.ChangeResourceRecordSetsOutput, error) {
		return t.api.ChangeResourceRecordSets(ctx, in, opts...)
	})
}

func (t *throttled) GetChange(ctx context.Context, in *route53.GetChangeInput, opts ...func(*route53.Options)) (*route53.GetChangeOutput, error) {
	return call(ctx, t, "GetChange", func() (*route53.GetChangeOutput, error) { return t.api.GetChange(ctx, in, opts...) })
}

// limiter spaces calls at least interval apart, across goroutines.
type limiter struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time
}

func (l *limiter) wait(ctx context.Context) error {
	l.mu.Lock()
	now := time.Now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(l.interval)
	l.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		return sleep(ctx, d)
	}
	return nil
}
