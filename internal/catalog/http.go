package catalog

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/auth"
)

// APIBase is where the catalog API is served, as in Backstage.
const APIBase = "/api/catalog"

// maxBody bounds request bodies (an entity to validate, a batch of refs).
const maxBody = 4 << 20

// Authenticator resolves the caller of a request; goldenpath's auth.Service is one.
type Authenticator interface {
	FromRequest(r *http.Request) (auth.Principal, error)
}

// Routes lists the endpoints the last Handler serves ("METHOD /path"), for the security matrix's test.
func (c *Catalog) Routes() []string { return c.routes }

// Handler serves Backstage's catalog API under APIBase (/api/catalog/...), with Backstage's JSON shapes
// and error bodies, so Backstage frontends and the catalog client work against it. Every request needs a
// goldenpath token. Every user may read everything; changes follow access.go: a location's owner (the team
// owning its repository) registers, removes and refreshes it, an entity's owner deletes it, admins do all
// of that, and no one deletes the entities and locations goldenpath keeps itself (NotAllowedError, 403).
func (c *Catalog) Handler(authn Authenticator) http.Handler {
	mux := http.NewServeMux()
	c.routes = nil
	route := func(pattern string, fn func(w http.ResponseWriter, r *http.Request, p auth.Principal) error) {
		method, path, _ := strings.Cut(pattern, " ")
		c.routes = append(c.routes, method+" "+APIBase+path)
		mux.HandleFunc(method+" "+APIBase+path, func(w http.ResponseWriter, r *http.Request) {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			p, err := authn.FromRequest(r)
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="goldenpath"`)
				c.writeError(w, r, &apiError{status: http.StatusUnauthorized, name: "AuthenticationError", message: err.Error()})
				return
			}
			if err := fn(w, r, p); err != nil {
				c.writeError(w, r, err)
			}
		})
	}
	read := func(fn func(w http.ResponseWriter, r *http.Request) error) func(http.ResponseWriter, *http.Request, auth.Principal) error {
		return func(w http.ResponseWriter, r *http.Request, _ auth.Principal) error { return fn(w, r) }
	}
	route("GET /entities", read(c.httpEntities))
	route("GET /entities/by-query", read(c.httpQuery))
	route("POST /entities/by-query", read(c.httpQueryByPredicate))
	route("GET /entities/by-uid/{uid}", read(c.httpByUID))
	route("DELETE /entities/by-uid/{uid}", c.httpDeleteByUID)
	route("GET /entities/by-name/{kind}/{namespace}/{name}", read(c.httpByName))
	route("GET /entities/by-name/{kind}/{namespace}/{name}/ancestry", read(c.httpAncestry))
	route("POST /entities/by-refs", read(c.httpByRefs))
	route("GET /entity-facets", read(c.httpFacets))
	route("POST /entity-facets", read(c.httpFacetsByPredicate))
	route("GET /locations", read(c.httpLocations))
	route("POST /locations", c.httpAddLocation)
	route("POST /locations/by-query", read(c.httpQueryLocations))
	route("GET /locations/{id}", read(c.httpLocation))
	route("PUT /locations/{id}", c.httpUpdateLocation)
	route("DELETE /locations/{id}", c.httpRemoveLocation)
	route("GET /locations/by-entity/{kind}/{namespace}/{name}", read(c.httpLocationByEntity))
	route("POST /refresh", c.httpRefresh)
	route("POST /validate-entity", read(c.httpValidateEntity))
	route("POST /analyze-location", read(c.httpAnalyzeLocation))
	mux.HandleFunc(APIBase+"/", func(w http.ResponseWriter, r *http.Request) {
		if _, err := authn.FromRequest(r); err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="goldenpath"`)
			c.writeError(w, r, &apiError{status: http.StatusUnauthorized, name: "AuthenticationError", message: err.Error()})
			return
		}
		c.writeError(w, r, notFound("no %s %s in the catalog API", r.Method, r.URL.Path))
	})
	return mux
}

// apiError is an error with what a Backstage client should see: its status and Backstage's error name.
type apiError struct {
	status  int
	name    string
	message string
	cause   error
}

func (e *apiError) Error() string { return e.message }
func (e *apiError) Unwrap() error { return e.cause }

func inputError(err error) *apiError {
	return &apiError{status: http.StatusBadRequest, name: "InputError", message: err.Error(), cause: err}
}

func inputErrorf(format string, args ...any) *apiError {
	return inputError(fmt.Errorf(format, args...))
}

func notFound(format string, args ...any) *apiError {
	return &apiError{status: http.StatusNotFound, name: "NotFoundError", message: fmt.Sprintf(format, args...)}
}

// errorBody is Backstage's error response (its errorHandler's shape), which Backstage frontends read.
type errorBody struct {
	Error struct {
		Name    string `json:"name"`
		Message string `json:"message"`
	} `json:"error"`
	Request struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"request"`
	Response struct {
		StatusCode int `json:"statusCode"`
	} `json:"response"`
}

// writeError decides in one place what a client sees of an error; unexpected ones are logged and shown
// as a generic internal error.
func (c *Catalog) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := c.classify(err)
	if e.status == http.StatusInternalServerError {
		c.log.Error("catalog API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var body errorBody
	body.Error.Name, body.Error.Message = e.name, e.message
	body.Request.Method, body.Request.URL = r.Method, r.URL.RequestURI()
	body.Response.StatusCode = e.status
	writeJSON(w, e.status, body)
}

func (c *Catalog) classify(err error) *apiError {
	var e *apiError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &tooBig):
		return &apiError{status: http.StatusRequestEntityTooLarge, name: "PayloadTooLargeError",
			message: fmt.Sprintf("the request body is larger than %d bytes", tooBig.Limit)}
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrLocationNotFound):
		return &apiError{status: http.StatusNotFound, name: "NotFoundError", message: err.Error()}
	case errors.Is(err, ErrInvalidCursor), errors.Is(err, ErrUnreadable), errors.Is(err, ErrInvalidLocation), errors.Is(err, ErrInvalidLocationQuery):
		return inputError(err)
	case errors.Is(err, ErrConflict), errors.Is(err, ErrLocationExists):
		return &apiError{status: http.StatusConflict, name: "ConflictError", message: err.Error()}
	case errors.Is(err, context.Canceled):
		return &apiError{status: 499, name: "Error", message: "the request was cancelled"}
	}
	return &apiError{status: http.StatusInternalServerError, name: "Error", message: "internal error; the server log has the details"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeBody decodes a JSON body strictly: unknown fields are errors that name them.
func decodeBody(r *http.Request, v any) error {
	return decode(r, v, false)
}

// decodeOptionalBody is decodeBody for a body that may be left out (it then means {}).
func decodeOptionalBody(r *http.Request, v any) error {
	return decode(r, v, true)
}

func decode(r *http.Request, v any, optional bool) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return err
		case errors.Is(err, io.EOF) && optional:
			return nil
		case errors.Is(err, io.EOF):
			return inputErrorf("the request body is empty; send a JSON object")
		}
		return inputErrorf("the request body is not valid: %v", err)
	}
	return nil
}

// intParam reads an optional non-negative integer query parameter.
func intParam(r *http.Request, name string, def int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, inputErrorf("%s: must be a non-negative integer, got %q", name, s)
	}
	return n, nil
}

func filterParam(r *http.Request) (*Filter, error) {
	f, err := ParseFilterParams(r.URL.Query()["filter"])
	if err != nil {
		return nil, inputError(err)
	}
	return f, nil
}

func fieldsParam(r *http.Request, extra ...string) ([]string, error) {
	fields, err := ParseFields(append(r.URL.Query()["fields"], extra...))
	if err != nil {
		return nil, inputError(err)
	}
	return fields, nil
}

// arrayWriter writes a JSON array element by element. Once the first byte is out the status is sent, so
// a failure after that aborts the response rather than ending it as if it were complete.
type arrayWriter struct {
	w     *bufio.Writer
	count int
}

func newArrayWriter(w http.ResponseWriter) *arrayWriter {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteByte('[')
	return &arrayWriter{w: bw}
}

func (a *arrayWriter) add(item json.RawMessage) error {
	if a.count > 0 {
		a.w.WriteByte(',')
	}
	a.count++
	_, err := a.w.Write(item)
	return err
}

func (a *arrayWriter) close() error {
	a.w.WriteByte(']')
	return a.w.Flush()
}
