package build

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// PushError is a push the registry refused (a 4xx answer: no or wrong credentials, no permission,
// an immutable tag, ...), with the registry's own explanation.
type PushError struct {
	Ref        string
	StatusCode int
	// Message is what the registry said, "CODE: message" per error it listed.
	Message string
	Err     error
}

func (e *PushError) Error() string {
	return fmt.Sprintf("pushing %s: refused by the registry (%d %s): %s", e.Ref, e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

func (e *PushError) Unwrap() error { return e.Err }

func remoteOptions(ctx context.Context, auth authn.Authenticator) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithAuth(auth), remote.WithUserAgent("goldenpath")}
}

// checkPush asks the registry, before anything is compiled, whether the image may be pushed: a
// repository that does not exist (no ECRRequest yet) or credentials that may not push fail in a
// second, not after the build. The registry is asked to start an upload, which is then cancelled.
func checkPush(ctx context.Context, j *job) error {
	if err := remote.CheckPushPermission(j.tag, staticKeychain{j.auth}, http.DefaultTransport); err != nil {
		return pushError(ctx, j.tag.String(), j.auth, err)
	}
	return nil
}

// staticKeychain gives one authenticator for every registry (anonymous if nil).
type staticKeychain struct{ auth authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	if k.auth == nil {
		return authn.Anonymous, nil
	}
	return k.auth, nil
}

// push writes the image under its tag and the extra tags and describes what was stored.
func push(ctx context.Context, j *job, img v1.Image) (Result, error) {
	opts := remoteOptions(ctx, j.auth)
	if err := remote.Write(j.tag, img, opts...); err != nil {
		return Result{}, pushError(ctx, j.tag.String(), j.auth, err)
	}
	for _, t := range j.extraTags {
		if err := remote.Tag(t, img, opts...); err != nil {
			return Result{}, pushError(ctx, t.String(), j.auth, err)
		}
	}
	digest, err := img.Digest()
	if err != nil {
		return Result{}, fmt.Errorf("computing the image digest: %w", err)
	}
	size, err := storedSize(img)
	if err != nil {
		return Result{}, err
	}
	return Result{Digest: digest.String(), Ref: j.tag.Digest(digest.String()).String(), Size: size}, nil
}

func storedSize(img v1.Image) (int64, error) {
	raw, err := img.RawManifest()
	if err != nil {
		return 0, fmt.Errorf("reading the manifest: %w", err)
	}
	m, err := img.Manifest()
	if err != nil {
		return 0, fmt.Errorf("reading the manifest: %w", err)
	}
	size := int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	return size, nil
}

func pushError(ctx context.Context, ref string, auth authn.Authenticator, err error) error {
	var te *transport.Error
	if !errors.As(err, &te) || te.StatusCode < 400 || te.StatusCode >= 500 {
		return fmt.Errorf("pushing %s: %w", ref, err)
	}
	diags := te.Errors
	if len(diags) == 0 && te.Request != nil && te.Request.Method == http.MethodHead {
		diags = explain(ctx, te.Request, auth)
	}
	msgs := make([]string, 0, len(diags))
	for _, d := range diags {
		msgs = append(msgs, string(d.Code)+": "+d.Message)
	}
	msg := strings.Join(msgs, "; ")
	if msg == "" {
		msg = http.StatusText(te.StatusCode)
	}
	return &PushError{Ref: ref, StatusCode: te.StatusCode, Message: msg, Err: err}
}

// explain asks the registry why it refused a HEAD request, since HEAD answers have no body: the same
// request as a GET, with the same credentials, is refused the same way and says why. Best effort:
// registries that want a bearer token exchange give no explanation.
func explain(ctx context.Context, head *http.Request, auth authn.Authenticator) []transport.Diagnostic {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, head.URL.String(), nil)
	if err != nil {
		return nil
	}
	if cfg, err := authn.Authorization(ctx, auth); err == nil && cfg.Username != "" {
		req.SetBasicAuth(cfg.Username, cfg.Password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var te *transport.Error
	if resp.StatusCode >= 400 && errors.As(transport.CheckError(resp, http.StatusOK), &te) {
		return te.Errors
	}
	return nil
}
