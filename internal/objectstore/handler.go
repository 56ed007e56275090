package objectstore

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

const maxKeyLength = 1024

// request is one S3 call being served.
type request struct {
	r      *http.Request
	w      http.ResponseWriter
	id     string
	bucket string
	key    string
	op     operation
	sr     *signedRequest
}

func (rq *request) query() url.Values { return rq.r.URL.Query() }

// operation is an S3 API operation this store knows by name.
type operation struct {
	name string
	// admin: bucket lifecycle and configuration come from reviewed S3Requests, so only
	// admin keys ("*") may change them through the S3 API.
	admin  bool
	handle func(s *Store, ctx context.Context, rq *request) error
}

// ServeHTTP serves the S3 REST API in path-style form. Serve it as the http.Server's
// handler (not behind http.ServeMux, which would clean paths and so rewrite keys like
// "a/../b").
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	rq := &request{r: r, w: sw, id: strings.ToUpper(newID()[:16])}
	sw.Header().Set("x-amz-request-id", rq.id)
	sw.Header().Set("Server", "goldenpath")
	rq.bucket, rq.key, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")

	err := s.serve(r.Context(), rq)
	if err != nil && !sw.wroteHeader {
		drainBody(r)
		writeError(sw, r, rq.id, asAPIError(err))
	}
	s.logRequest(rq, sw.status, err, time.Since(start))
}

// maxHeaderSection is S3's limit on a request's header section (8 KiB).
const maxHeaderSection = 8 << 10

func headerSectionSize(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for name, values := range r.Header {
		for _, v := range values {
			n += len(name) + len(v) + 4
		}
	}
	return n + len(r.Host) + 8
}

func (s *Store) serve(ctx context.Context, rq *request) error {
	rq.op = route(rq.r, rq.bucket, rq.key) // before authenticating, so that denials log the operation
	if headerSectionSize(rq.r) > maxHeaderSection {
		return newAPIError(http.StatusBadRequest, "RequestHeaderSectionTooLarge",
			"Your request header section exceeds the maximum allowed size.").with("MaxSizeAllowed", maxHeaderSection)
	}
	if err := routeError(rq.r, rq.bucket, rq.key); err != nil {
		return err // a request no operation accepts, as S3 answers it: before authentication
	}
	if rq.op.name == "PostObject" {
		return s.postObject(ctx, rq) // a browser form: it carries its own signature
	}
	sr, err := s.authenticate(rq.r)
	if err != nil {
		return err
	}
	rq.sr = sr
	if strings.HasPrefix(sr.payloadHash, "STREAMING-") && rq.op.name != "PutObject" && rq.op.name != "UploadPart" {
		// aws-chunked bodies carry object data only
		return errInvalidRequest("The value of x-amz-content-sha256 header is invalid.").
			with("Detail", rq.op.name+" does not take a STREAMING-* (aws-chunked) payload")
	}
	if err := authorize(rq); err != nil {
		return err
	}
	if rq.key != "" {
		if err := validateKey(rq.key); err != nil {
			return err
		}
	}
	return rq.op.handle(s, ctx, rq)
}

// maxDrain bounds how much of an unread body is read before answering with an error.
const maxDrain = 64 << 20

// drainBody reads what is left of a body the handler refused before reading it. Go's
// server discards only 256 KiB itself and then closes the connection, so a client still
// sending (a 6 MiB PutObject over quota, say) sees "connection reset" instead of the S3
// error, and the SDK retries it as a network failure. Clients that sent Expect:
// 100-continue are drained too: leaving them waiting races with the server closing the
// connection, which the SDK also reports as a reset.
func drainBody(r *http.Request) {
	if r.Body == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, r.Body, maxDrain)
}

func authorize(rq *request) error {
	cred := rq.sr.cred
	switch {
	case rq.op.admin && !cred.isAdmin():
		return errAccessDenied("Access Denied: %s needs an admin key; buckets and their settings come from S3Requests.", rq.op.name)
	case rq.bucket != "" && !cred.mayUse(rq.bucket):
		return errAccessDenied("Access Denied: this access key may not use bucket %q.", rq.bucket)
	}
	return nil
}

func validateKey(key string) error {
	if len(key) > maxKeyLength {
		return newAPIError(http.StatusBadRequest, "KeyTooLongError",
			"Your key is too long: %d bytes; the maximum is %d.", len(key), maxKeyLength)
	}
	if !utf8.ValidString(key) {
		return errInvalidArgument("Object keys must be valid UTF-8.")
	}
	return nil
}

func (s *Store) logRequest(rq *request, status int, err error, d time.Duration) {
	attrs := []any{"request_id", rq.id, "method", rq.r.Method, "op", rq.op.name, "bucket", rq.bucket,
		"key", rq.key, "status", status, "duration", d}
	if rq.sr != nil {
		attrs = append(attrs, "subject", rq.sr.cred.Subject, "access_key_id", rq.sr.cred.AccessKeyID)
	}
	switch {
	case status >= 500 && status != http.StatusNotImplemented:
		s.log.Error("s3 request failed", append(attrs, "err", err)...)
	case status == http.StatusForbidden:
		s.log.Info("s3 request denied", append(attrs, "err", err)...)
	default:
		s.log.Debug("s3 request", attrs...)
	}
}

// statusWriter remembers whether the response has started, so that an error after the
// body began streaming is logged rather than appended to the body.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// unsupportedSubresources are S3 sub-resources this store does not serve; requests for
// them get 501 NotImplemented naming the operation instead of being mistaken for a
// plain GET or PUT of the object.
var unsupportedSubresources = []string{
	"acl", "policy", "policyStatus", "tagging", "cors", "lifecycle", "encryption", "website", "logging",
	"notification", "replication", "object-lock", "retention", "legal-hold", "restore", "select",
	"torrent", "accelerate", "requestPayment", "analytics", "inventory", "metrics",
	"intelligent-tiering", "ownershipControls", "publicAccessBlock", "attributes", "metadataTable", "session",
}

func route(r *http.Request, bucket, key string) operation {
	q := r.URL.Query()
	switch {
	case bucket == "" && r.Method == http.MethodGet:
		return operation{name: "ListBuckets", handle: (*Store).listBucketsOp}
	case bucket == "":
		return notImplemented(methodVerb(r.Method) + "Service")
	case key == "":
		return bucketRoute(r.Method, q)
	}
	return objectRoute(r, q)
}

func bucketRoute(method string, q url.Values) operation {
	if sub := unsupportedSub(q); sub != "" {
		return notImplemented(methodVerb(method) + "Bucket" + titleWords(sub))
	}
	switch method {
	case http.MethodGet:
		switch {
		case q.Has("location"):
			return operation{name: "GetBucketLocation", handle: (*Store).getBucketLocation}
		case q.Has("versioning"):
			return operation{name: "GetBucketVersioning", handle: (*Store).getBucketVersioning}
		case q.Has("versions"):
			return operation{name: "ListObjectVersions", handle: (*Store).listObjectVersions}
		case q.Has("uploads"):
			return operation{name: "ListMultipartUploads", handle: (*Store).listMultipartUploads}
		case q.Get("list-type") == "2":
			return operation{name: "ListObjectsV2", handle: (*Store).listObjectsV2}
		}
		return operation{name: "ListObjects", handle: (*Store).listObjectsV1}
	case http.MethodPut:
		if q.Has("versioning") {
			return operation{name: "PutBucketVersioning", admin: true, handle: (*Store).putBucketVersioning}
		}
		return operation{name: "CreateBucket", admin: true, handle: (*Store).createBucketOp}
	case http.MethodHead:
		return operation{name: "HeadBucket", handle: (*Store).headBucket}
	case http.MethodDelete:
		return operation{name: "DeleteBucket", admin: true, handle: (*Store).deleteBucketOp}
	case http.MethodPost:
		if q.Has("delete") {
			return operation{name: "DeleteObjects", handle: (*Store).deleteObjects}
		}
		return operation{name: "PostObject", handle: (*Store).postObject}
	}
	return notImplemented(methodVerb(method) + "Bucket")
}

func objectRoute(r *http.Request, q url.Values) operation {
	if q.Has("tagging") {
		switch r.Method {
		case http.MethodPut:
			return operation{name: "PutObjectTagging", handle: (*Store).putObjectTagging}
		case http.MethodGet:
			return operation{name: "GetObjectTagging", handle: (*Store).getObjectTagging}
		case http.MethodDelete:
			return operation{name: "DeleteObjectTagging", handle: (*Store).deleteObjectTagging}
		}
	}
	if q.Has("attributes") && r.Method == http.MethodGet {
		return operation{name: "GetObjectAttributes", handle: (*Store).getObjectAttributes}
	}
	if sub := unsupportedSub(q); sub != "" {
		return notImplemented(methodVerb(r.Method) + "Object" + titleWords(sub))
	}
	copySource := r.Header.Get("X-Amz-Copy-Source") != ""
	switch r.Method {
	case http.MethodPut:
		switch {
		case q.Has("uploadId") && copySource:
			return operation{name: "UploadPartCopy", handle: (*Store).uploadPartCopy}
		case q.Has("uploadId"):
			return operation{name: "UploadPart", handle: (*Store).uploadPart}
		case copySource:
			return operation{name: "CopyObject", handle: (*Store).copyObject}
		}
		return operation{name: "PutObject", handle: (*Store).putObject}
	case http.MethodGet:
		if q.Has("uploadId") {
			return operation{name: "ListParts", handle: (*Store).listParts}
		}
		return operation{name: "GetObject", handle: (*Store).getObject}
	case http.MethodHead:
		return operation{name: "HeadObject", handle: (*Store).headObject}
	case http.MethodDelete:
		if q.Has("uploadId") {
			return operation{name: "AbortMultipartUpload", handle: (*Store).abortMultipartUpload}
		}
		return operation{name: "DeleteObject", handle: (*Store).deleteObject}
	case http.MethodPost:
		switch {
		case q.Has("uploads"):
			return operation{name: "CreateMultipartUpload", handle: (*Store).createMultipartUpload}
		case q.Has("uploadId"):
			return operation{name: "CompleteMultipartUpload", handle: (*Store).completeMultipartUpload}
		}
	}
	return notImplemented(methodVerb(r.Method) + "Object")
}

// routeError refuses the combinations of method, path, query and headers that name no operation.
func routeError(r *http.Request, bucket, key string) *apiError {
	q := r.URL.Query()
	if src := r.Header.Get("X-Amz-Copy-Source"); src != "" && (r.Method != http.MethodPut || key == "") &&
		(r.Method != http.MethodPost || q.Has("uploadId")) {
		return errBadArgument("x-amz-copy-source", src, "You can only specify a copy source header for copy requests.")
	}
	switch {
	case r.Method == http.MethodPost && bucket == "",
		r.Method == http.MethodPost && key != "" && !q.Has("uploads") && !q.Has("uploadId") && !q.Has("restore") && !q.Has("select"):
		return errMethodNotAllowed(r.Method, "SERVICE")
	case key == "":
		return nil
	case r.Method == http.MethodPut && q.Has("partNumber") && !q.Has("uploadId"):
		return errBadArgument("partNumber", "partNumber", "This operation does not accept partNumber without uploadId")
	case r.Method == http.MethodPut && q.Has("uploadId") && !q.Has("partNumber"):
		return errMethodNotAllowed(r.Method, "UPLOAD")
	case r.Method == http.MethodGet && q.Has("uploads"):
		return errInvalidRequest("Key is not expected for the GET method ?uploads subresource")
	case r.Method == http.MethodGet && q.Has("versions"):
		return errInvalidRequest("There is no such thing as the ?versions sub-resource for a key")
	}
	return nil
}

func errMethodNotAllowed(method, resourceType string) *apiError {
	return newAPIError(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.").
		with("Method", method).with("ResourceType", resourceType)
}

func notImplemented(name string) operation {
	return operation{name: name, handle: func(*Store, context.Context, *request) error {
		return errNotImplemented(name)
	}}
}

func unsupportedSub(q url.Values) string {
	for _, sub := range unsupportedSubresources {
		if q.Has(sub) {
			return sub
		}
	}
	return ""
}

func methodVerb(method string) string {
	if method == "" {
		return ""
	}
	return method[:1] + strings.ToLower(method[1:])
}

// titleWords turns "object-lock" into "ObjectLock" and "tagging" into "Tagging".
func titleWords(s string) string {
	var b strings.Builder
	for _, w := range strings.Split(s, "-") {
		if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}
