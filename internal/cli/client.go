package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/problem"
)

// client talks to the REST API.
type client struct {
	server string
	token  string
	http   *http.Client
}

func (c *client) do(ctx context.Context, method, path string, body io.Reader, contentType string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.server, "/")+path, body)
	if err != nil {
		return err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &problem.Error{Code: problem.Unavailable, Message: fmt.Sprintf("cannot reach goldenpath at %s: %v (is `goldenpath up` running? set --server or GOLDENPATH_SERVER)", c.server, err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		var p problem.Error
		if json.Unmarshal(raw, &p) != nil || p.Message == "" {
			p = problem.Error{Code: problem.CodeForStatus(resp.StatusCode), Message: fmt.Sprintf("%s %s: %s", method, path, resp.Status)}
		}
		return &p
	}
	if out == nil {
		return nil
	}
	if b, ok := out.(*[]byte); ok {
		*b = raw
		return nil
	}
	return json.Unmarshal(raw, out)
}

func (c *client) getJSON(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, "", out)
}

func (c *client) sendJSON(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(raw)
	}
	return c.do(ctx, method, path, body, "application/json", out)
}

func newHTTPClient() *http.Client { return &http.Client{Timeout: 2 * time.Minute} }
