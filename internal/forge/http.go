package forge

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

const (
	uploadPack  = "upload-pack"
	receivePack = "receive-pack"
)

var _ http.Handler = (*Forge)(nil)

// gitRequest is a parsed smart-HTTP request.
type gitRequest struct {
	repo    *Repo
	service string // uploadPack or receivePack
	subject string // from Authorize
}

// ServeHTTP serves git's smart HTTP protocol at /git/<name>.git/{info/refs,git-upload-pack,
// git-receive-pack} (the ".git" is optional). The dumb protocol is not served.
func (f *Forge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, endpoint, ok := parseGitPath(r.URL.Path)
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	service, status, msg := endpointService(r, endpoint)
	if status != 0 {
		http.Error(w, msg, status)
		return
	}
	req, ok := f.authorize(w, r, name, service)
	if !ok {
		return
	}
	switch endpoint {
	case "info/refs":
		f.serveInfoRefs(w, r, req)
	case "git-" + uploadPack:
		f.serveUploadPack(w, r, req)
	default:
		f.serveReceivePack(w, r, req)
	}
}

// parseGitPath splits "/git/<name>[.git]/<endpoint>".
func parseGitPath(path string) (name, endpoint string, ok bool) {
	rest, ok := strings.CutPrefix(path, "/git/")
	if !ok {
		return "", "", false
	}
	for _, ep := range []string{"info/refs", "git-" + uploadPack, "git-" + receivePack} {
		if repo, found := strings.CutSuffix(rest, "/"+ep); found {
			name = strings.TrimSuffix(repo, ".git")
			return name, ep, ValidateRepoName(name) == nil
		}
	}
	return "", "", false
}

// endpointService checks method and service for an endpoint; a non-zero status is the error to send.
func endpointService(r *http.Request, endpoint string) (service string, status int, msg string) {
	if endpoint == "info/refs" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return "", http.StatusMethodNotAllowed, "method not allowed"
		}
		switch r.URL.Query().Get("service") {
		case "git-" + uploadPack:
			return uploadPack, 0, ""
		case "git-" + receivePack:
			return receivePack, 0, ""
		}
		return "", http.StatusForbidden, "only the smart HTTP protocol is supported (service=git-upload-pack or git-receive-pack)"
	}
	if r.Method != http.MethodPost {
		return "", http.StatusMethodNotAllowed, "method not allowed"
	}
	service = strings.TrimPrefix(endpoint, "git-")
	if ct := r.Header.Get("Content-Type"); ct != "application/x-git-"+service+"-request" {
		return "", http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type must be application/x-git-%s-request", service)
	}
	return service, 0, ""
}

// authorize asks the Authorizer before revealing whether the repository exists, then opens it.
func (f *Forge) authorize(w http.ResponseWriter, r *http.Request, name, service string) (gitRequest, bool) {
	req := gitRequest{service: service}
	if f.opts.Authorize != nil {
		subject, err := f.opts.Authorize(r, name, service == receivePack)
		switch {
		case errors.Is(err, ErrUnauthenticated):
			w.Header().Set("WWW-Authenticate", `Basic realm="goldenpath"`)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return req, false
		case errors.Is(err, ErrDenied):
			http.Error(w, err.Error(), http.StatusForbidden)
			return req, false
		case err != nil:
			f.log.ErrorContext(r.Context(), "authorizing git request", "repo", name, "error", err)
			http.Error(w, "authorization failed", http.StatusInternalServerError)
			return req, false
		}
		req.subject = subject
	}
	repo, err := f.Repo(name)
	if err != nil {
		http.Error(w, fmt.Sprintf("repository %q not found", name), http.StatusNotFound)
		return req, false
	}
	req.repo = repo
	return req, true
}

func noCache(h http.Header) {
	h.Set("Cache-Control", "no-cache, max-age=0, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "Fri, 01 Jan 1980 00:00:00 GMT")
}

// protocolEnv passes the client's Git-Protocol header (e.g. "version=2") to git, which is how protocol
// v2 is negotiated over HTTP. Only the characters git uses there are let through.
func protocolEnv(r *http.Request) []string {
	v := r.Header.Get("Git-Protocol")
	if v == "" || strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=:._-") != "" {
		return nil
	}
	return []string{"GIT_PROTOCOL=" + v}
}

func wantsV2(r *http.Request) bool {
	for _, kv := range strings.Split(r.Header.Get("Git-Protocol"), ":") {
		if kv == "version=2" {
			return true
		}
	}
	return false
}

// serveInfoRefs sends the ref advertisement. It is small, so it is buffered: a git failure can still
// become a proper 500.
func (f *Forge) serveInfoRefs(w http.ResponseWriter, r *http.Request, req gitRequest) {
	out, err := req.repo.git(r.Context(), runOpts{env: protocolEnv(r)}, gitServiceArgs(req.service, "--advertise-refs")...)
	if err != nil {
		f.log.ErrorContext(r.Context(), "advertising refs", "repo", req.repo.name, "service", req.service, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-git-"+req.service+"-advertisement")
	noCache(w.Header())
	var buf bytes.Buffer
	// Protocol v2 starts with "version 2"; v0/v1 clients expect this header first (as git-http-backend does).
	if req.service == receivePack || !wantsV2(r) {
		writePktLine(&buf, "# service=git-"+req.service+"\n")
		buf.WriteString(flushPkt)
	}
	buf.Write(out)
	if _, err := w.Write(buf.Bytes()); err != nil {
		f.log.DebugContext(r.Context(), "writing ref advertisement", "repo", req.repo.name, "error", err)
	}
}

// gitServiceArgs builds the command line of upload-pack or receive-pack in stateless-RPC mode.
func gitServiceArgs(service string, extra ...string) []string {
	var args []string
	if service == uploadPack {
		// Allow partial clone (--filter) and fetching any reachable commit by id.
		args = append(args, "-c", "uploadpack.allowFilter=true", "-c", "uploadpack.allowReachableSHA1InWant=true")
	} else {
		// Housekeeping is ours (Repo.wrote); git's would fork a gc that outlives the request.
		args = append(args, "-c", "receive.autogc=false")
	}
	args = append(args, service, "--stateless-rpc")
	args = append(args, extra...)
	return append(args, ".")
}

// serveUploadPack streams the client's negotiation into git upload-pack and the pack back out.
func (f *Forge) serveUploadPack(w http.ResponseWriter, r *http.Request, req gitRequest) {
	body, err := requestBody(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	defer body.Close()
	w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
	noCache(w.Header())
	out := &flushWriter{w: w, rc: http.NewResponseController(w)}
	_, err = req.repo.git(r.Context(), runOpts{stdin: body, stdout: out, env: protocolEnv(r)}, gitServiceArgs(uploadPack)...)
	if err != nil {
		f.log.WarnContext(r.Context(), "git upload-pack failed", "repo", req.repo.name, "error", err)
		if !out.wrote {
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}
}

// requestBody returns the request body, decompressed when the client gzipped it (git does for large
// negotiations).
func requestBody(r *http.Request) (io.ReadCloser, error) {
	switch r.Header.Get("Content-Encoding") {
	case "", "identity":
		return r.Body, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, fmt.Errorf("reading gzip request body: %w", err)
		}
		return zr, nil
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q", r.Header.Get("Content-Encoding"))
	}
}

// flushWriter sends every chunk git writes to the client at once, so progress and packs stream.
type flushWriter struct {
	w     io.Writer
	rc    *http.ResponseController
	wrote bool
}

func (fw *flushWriter) Write(p []byte) (int, error) {
	fw.wrote = true
	n, err := fw.w.Write(p)
	if err != nil {
		return n, err
	}
	if err := fw.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return n, err
	}
	return n, nil
}

// detached keeps request values but not its cancellation: once git has updated refs, the push
// happened, and OnPush must hear about it even if the client has already gone.
func detached(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }
