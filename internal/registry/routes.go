package registry

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

type routeKind int

const (
	routeBase routeKind = iota
	routeCatalog
	routeTags
	routeManifest
	routeBlob
	routeUploadStart
	routeUpload
	routeReferrers
)

// route is a parsed /v2/ path. ref is the digest, tag or upload id.
type route struct {
	kind routeKind
	name string
	ref  string
}

// parseRoute maps a path to a route. Repository names contain slashes, so the
// operation is found from the end of the path.
func parseRoute(path string) (route, bool) {
	rest, ok := strings.CutPrefix(path, "/v2")
	if !ok {
		return route{}, false
	}
	if rest == "" || rest == "/" {
		return route{kind: routeBase}, true
	}
	rest, ok = strings.CutPrefix(rest, "/")
	if !ok {
		return route{}, false
	}
	if rest == "_catalog" {
		return route{kind: routeCatalog}, true
	}
	segs := strings.Split(rest, "/")
	n := len(segs)
	name := func(k int) string { return strings.Join(segs[:n-k], "/") }
	switch {
	case n >= 3 && segs[n-2] == "tags" && segs[n-1] == "list":
		return route{kind: routeTags, name: name(2)}, true
	case n >= 3 && segs[n-2] == "manifests" && segs[n-1] != "":
		return route{kind: routeManifest, name: name(2), ref: segs[n-1]}, true
	case n >= 3 && segs[n-2] == "referrers" && segs[n-1] != "":
		return route{kind: routeReferrers, name: name(2), ref: segs[n-1]}, true
	case n >= 4 && segs[n-3] == "blobs" && segs[n-2] == "uploads":
		if segs[n-1] == "" {
			return route{kind: routeUploadStart, name: name(3)}, true
		}
		return route{kind: routeUpload, name: name(3), ref: segs[n-1]}, true
	case n >= 3 && segs[n-2] == "blobs" && segs[n-1] == "uploads":
		return route{kind: routeUploadStart, name: name(2)}, true
	case n >= 3 && segs[n-2] == "blobs" && segs[n-1] != "":
		return route{kind: routeBlob, name: name(2), ref: segs[n-1]}, true
	}
	return route{}, false
}

// call is what a handler gets once routing and authorization are done.
type call struct {
	route
	subject string
	repo    *repository // nil for the base and catalog routes
}

type handlerFunc func(w http.ResponseWriter, req *http.Request, c *call) error

type endpoint struct {
	access  Access
	handler handlerFunc
}

// endpoints lists, per route, the methods served and the access each needs.
// Upload sessions need Push throughout: checking or cancelling an upload is
// part of pushing, not of pulling or deleting content.
func (r *Registry) endpoints(kind routeKind) map[string]endpoint {
	switch kind {
	case routeBase:
		return map[string]endpoint{"GET": {Pull, r.getBase}, "HEAD": {Pull, r.getBase}}
	case routeCatalog:
		return map[string]endpoint{"GET": {Pull, r.getCatalog}}
	case routeTags:
		return map[string]endpoint{"GET": {Pull, r.getTags}}
	case routeManifest:
		return map[string]endpoint{"GET": {Pull, r.getManifest}, "HEAD": {Pull, r.getManifest},
			"PUT": {Push, r.putManifest}, "DELETE": {Delete, r.deleteManifest}}
	case routeReferrers:
		return map[string]endpoint{"GET": {Pull, r.getReferrers}}
	case routeBlob:
		return map[string]endpoint{"GET": {Pull, r.getBlob}, "HEAD": {Pull, r.getBlob}, "DELETE": {Delete, r.deleteBlob}}
	case routeUploadStart:
		return map[string]endpoint{"POST": {Push, r.startUpload}}
	case routeUpload:
		return map[string]endpoint{"GET": {Push, r.getUpload}, "PATCH": {Push, r.patchUpload},
			"PUT": {Push, r.putUpload}, "DELETE": {Push, r.deleteUpload}}
	}
	return nil
}

// ServeHTTP serves the distribution API at /v2/ and below.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if err := r.serve(w, req); err != nil {
		r.writeError(w, req, err)
	}
}

// serve routes, authorizes and only then touches storage, so an
// unauthenticated client cannot even learn which repositories exist.
func (r *Registry) serve(w http.ResponseWriter, req *http.Request) error {
	rt, ok := parseRoute(req.URL.Path)
	if !ok {
		return newAPIError(http.StatusNotFound, codeNotFound, "no registry endpoint at %s", req.URL.Path)
	}
	eps := r.endpoints(rt.kind)
	ep, ok := eps[req.Method]
	if !ok {
		return methodNotAllowed(req.Method, eps)
	}
	if rt.kind != routeBase && rt.kind != routeCatalog {
		if err := ValidateRepositoryName(rt.name); err != nil {
			return newAPIError(http.StatusBadRequest, codeNameInvalid, "%s", err.Error())
		}
	}
	subject, err := r.authorizeRequest(req, rt.name, ep.access)
	if err != nil {
		return err
	}
	c := &call{route: rt, subject: subject}
	if rt.name != "" {
		if c.repo = r.lookup(rt.name); c.repo == nil {
			return errNameUnknown(rt.name)
		}
	}
	return ep.handler(w, req, c)
}

func methodNotAllowed(method string, eps map[string]endpoint) error {
	allowed := make([]string, 0, len(eps))
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
		if _, ok := eps[m]; ok {
			allowed = append(allowed, m)
		}
	}
	e := newAPIError(http.StatusMethodNotAllowed, codeUnsupported,
		"method %s is not supported here: use %s", method, strings.Join(allowed, ", "))
	e.Header = http.Header{"Allow": {strings.Join(allowed, ", ")}}
	return e
}

func (r *Registry) authorizeRequest(req *http.Request, repo string, access Access) (string, error) {
	if r.authorize == nil {
		return "", nil
	}
	// Not wrapped: the Authorizer's message is what the client is shown.
	return r.authorize(req, repo, access)
}

func (r *Registry) getBase(w http.ResponseWriter, req *http.Request, _ *call) error {
	return writeJSON(w, req, http.StatusOK, struct{}{})
}

func writeJSON(w http.ResponseWriter, req *http.Request, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(status)
	if req.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return nil
}
