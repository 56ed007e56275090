package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/actions"
)

// selfAPI serves http:backstage:request: goldenpath's own API, called in-process (nothing is dialled) as
// the task's user. The request carries a token of that user's, issued for this one request, expiring in
// two minutes and deleted once answered: the request has exactly the user's rights, audited as theirs.
type selfAPI struct{ a *App }

var _ actions.API = selfAPI{}

func (s selfAPI) Call(ctx context.Context, u scaffold.User, r actions.APIRequest) (actions.APIResponse, error) {
	h := s.a.apiHandler.Load()
	if h == nil {
		return actions.APIResponse{}, errors.New("goldenpath's API is not serving yet")
	}
	if !strings.HasPrefix(r.Path, "/api/") {
		return actions.APIResponse{}, fmt.Errorf("%q is not a path of goldenpath's API", r.Path)
	}
	token, rec, err := s.a.Auth.IssueToken(ctx, u.Name, "scaffolder http:backstage:request (one request)", 2*time.Minute)
	if err != nil {
		return actions.APIResponse{}, fmt.Errorf("acting as %s: %w", u.Name, err)
	}
	defer func() { _ = s.a.Store.DeleteToken(context.WithoutCancel(ctx), rec.ID) }()
	target := r.Path
	if q := r.Query.Encode(); q != "" {
		target += "?" + q
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, s.a.url+target, bytes.NewReader(r.Body))
	if err != nil {
		return actions.APIResponse{}, err
	}
	req.Header = r.Header.Clone()
	req.Header.Set("Authorization", "Bearer "+token)
	req.RemoteAddr = "127.0.0.1:0"
	w := &capturedResponse{header: http.Header{}}
	h.ServeHTTP(w, req)
	if w.over {
		return actions.APIResponse{}, fmt.Errorf("the response is larger than %d bytes", actions.MaxAPIResponseBytes)
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return actions.APIResponse{Status: w.status, Header: w.header, Body: w.body.Bytes()}, nil
}

// capturedResponse keeps a handler's answer, at most MaxAPIResponseBytes of it.
type capturedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
	over   bool
}

func (c *capturedResponse) Header() http.Header { return c.header }

func (c *capturedResponse) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}

func (c *capturedResponse) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.body.Len()+len(p) > actions.MaxAPIResponseBytes {
		c.over = true
		return 0, errors.New("response too large")
	}
	return c.body.Write(p)
}

func (c *capturedResponse) Flush() {}

// environmentNames lists the environments platform.yaml on main defines (argocd:create-resources).
func (a *App) environmentNames(ctx context.Context) ([]string, error) {
	cfg, err := a.Requests.Config(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(cfg.Environments))
	for _, e := range cfg.Environments {
		names = append(names, e.Name)
	}
	return names, nil
}
