package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Distribution error codes (OCI distribution spec, "Error Codes").
const (
	codeBlobUnknown         = "BLOB_UNKNOWN"
	codeBlobUploadInvalid   = "BLOB_UPLOAD_INVALID"
	codeBlobUploadUnknown   = "BLOB_UPLOAD_UNKNOWN"
	codeDigestInvalid       = "DIGEST_INVALID"
	codeManifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN"
	codeManifestInvalid     = "MANIFEST_INVALID"
	codeManifestUnknown     = "MANIFEST_UNKNOWN"
	codeNameInvalid         = "NAME_INVALID"
	codeNameUnknown         = "NAME_UNKNOWN"
	codeSizeInvalid         = "SIZE_INVALID"
	codeUnauthorized        = "UNAUTHORIZED"
	codeDenied              = "DENIED"
	codeUnsupported         = "UNSUPPORTED"
	codeUnknown             = "UNKNOWN"
	// codePaginationInvalid is not in the OCI list; distribution uses it for a bad n.
	codePaginationInvalid = "PAGINATION_NUMBER_INVALID"
	codeNotFound          = "NOT_FOUND"
)

// apiError is an error a client is meant to see: it carries the HTTP status
// and distribution code it maps to. Anything that is not an apiError (nor an
// Authorizer error) becomes a 500 whose detail stays in the log.
type apiError struct {
	Status  int
	Code    string
	Message string
	Detail  any
	// Header holds extra response headers, e.g. Range on a 416.
	Header http.Header
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func newAPIError(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func errNameUnknown(name string) *apiError {
	return newAPIError(http.StatusNotFound, codeNameUnknown,
		"repository %s does not exist: request it with an ECRRequest", name)
}

func errBlobUnknown(d digest) *apiError {
	return newAPIError(http.StatusNotFound, codeBlobUnknown, "blob %s is not in this repository", d)
}

func errUploadUnknown(id string) *apiError {
	return newAPIError(http.StatusNotFound, codeBlobUploadUnknown,
		"upload %q is unknown: it was completed, cancelled, expired or belongs to another repository", id)
}

func errManifestUnknown(ref string) *apiError {
	return newAPIError(http.StatusNotFound, codeManifestUnknown, "manifest %s is not in this repository", ref)
}

type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

type errorEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

// writeError is the one place that decides what a client sees for an error.
func (r *Registry) writeError(w http.ResponseWriter, req *http.Request, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, ErrUnauthenticated):
		ae = newAPIError(http.StatusUnauthorized, codeUnauthorized, "%s", err.Error())
		w.Header().Set("WWW-Authenticate", `Basic realm="goldenpath"`)
	case errors.Is(err, ErrDenied):
		ae = newAPIError(http.StatusForbidden, codeDenied, "%s", err.Error())
	default:
		r.log.ErrorContext(req.Context(), "registry request failed",
			"method", req.Method, "path", req.URL.Path, "err", err)
		ae = newAPIError(http.StatusInternalServerError, codeUnknown, "internal error")
	}
	if ae.Status < http.StatusInternalServerError {
		r.log.DebugContext(req.Context(), "registry request rejected",
			"method", req.Method, "path", req.URL.Path, "status", ae.Status, "code", ae.Code, "message", ae.Message)
	}
	for k, vs := range ae.Header {
		w.Header()[k] = vs
	}
	body, _ := json.Marshal(errorBody{Errors: []errorEntry{{Code: ae.Code, Message: ae.Message, Detail: ae.Detail}}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(ae.Status)
	if req.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
