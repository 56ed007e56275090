package objectstore

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
)

// ErrBucketNotEmpty is wrapped by DeleteBucket when the bucket still holds objects,
// versions or delete markers and force is false.
var ErrBucketNotEmpty = errors.New("bucket not empty")

// ErrNoSuchBucket is wrapped by Store methods that need an existing bucket.
var ErrNoSuchBucket = errors.New("no such bucket")

// apiError is what an S3 client sees: a status, S3's error code and a public message.
// cause is internal detail for the log only.
type apiError struct {
	status  int
	code    string
	message string
	cause   error

	bucket           string
	key              string
	region           string
	stringToSign     string
	canonicalRequest string
	headersNotSigned string // x-amz-* headers present but not covered by the signature

	// fields are further elements of the error document that S3 sends for this error (ArgumentName,
	// ArgumentValue, ProposedSize, ...), in order.
	fields []errField

	// A GET of a key whose latest version is a delete marker says so in headers.
	deleteMarker bool
	versionID    string
}

// errField is one further element of an error document.
type errField struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

// with adds an element to the error document.
func (e *apiError) with(name string, value any) *apiError {
	e.fields = append(e.fields, errField{XMLName: xml.Name{Local: name}, Value: fmt.Sprint(value)})
	return e
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.code, e.message, e.cause)
	}
	return e.code + ": " + e.message
}

func (e *apiError) Unwrap() error { return e.cause }

// withCode gives an error S3's more specific code for the same status.
func (e *apiError) withCode(code string) *apiError {
	e.code = code
	return e
}

func newAPIError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func errInternal(cause error) *apiError {
	return &apiError{status: http.StatusInternalServerError, code: "InternalError",
		message: "We encountered an internal error. Please try again.", cause: cause}
}

func errNoSuchBucket(bucket string) *apiError {
	e := newAPIError(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist.")
	e.bucket = bucket
	return e
}

func errNoSuchKey(key string) *apiError {
	e := newAPIError(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	e.key = key
	return e
}

func errNoSuchVersion(key string) *apiError {
	e := newAPIError(http.StatusNotFound, "NoSuchVersion", "The specified version does not exist.")
	e.key = key
	return e
}

func errNoSuchUpload(id string) *apiError {
	return newAPIError(http.StatusNotFound, "NoSuchUpload",
		"The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.").
		with("UploadId", id)
}

func errAccessDenied(format string, args ...any) *apiError {
	return newAPIError(http.StatusForbidden, "AccessDenied", format, args...)
}

func errInvalidArgument(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidArgument", format, args...)
}

// errBadArgument is InvalidArgument naming the argument and the value given, as S3 does.
func errBadArgument(name, value, message string) *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidArgument", "%s", message).
		with("ArgumentName", name).with("ArgumentValue", value)
}

func errInvalidRequest(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidRequest", format, args...)
}

func errMalformedXML(cause error) *apiError {
	e := newAPIError(http.StatusBadRequest, "MalformedXML",
		"The XML you provided was not well-formed or did not validate against our published schema.")
	e.cause = cause
	return e
}

func errPreconditionFailed(condition string) *apiError {
	return newAPIError(http.StatusPreconditionFailed, "PreconditionFailed",
		"At least one of the pre-conditions you specified did not hold.").with("Condition", condition)
}

func errEntityTooLarge(size, limit int64) *apiError {
	return newAPIError(http.StatusBadRequest, "EntityTooLarge",
		"Your proposed upload of %d bytes exceeds the maximum allowed object size of %d bytes.", size, limit)
}

func errIncompleteBody(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, "IncompleteBody", format, args...)
}

func errNotImplemented(op string) *apiError {
	return newAPIError(http.StatusNotImplemented, "NotImplemented",
		"%s is not implemented by the goldenpath object store.", op)
}

func errSignatureDoesNotMatch(stringToSign, canonicalRequest string) *apiError {
	e := newAPIError(http.StatusForbidden, "SignatureDoesNotMatch",
		"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	e.stringToSign, e.canonicalRequest = stringToSign, canonicalRequest
	return e
}

func errAuthHeaderMalformed(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, "AuthorizationHeaderMalformed",
		"The authorization header is malformed; "+format, args...)
}

// errorBody is S3's XML error document.
type errorBody struct {
	XMLName          xml.Name `xml:"Error"`
	Code             string
	Message          string
	BucketName       string     `xml:",omitempty"`
	Key              string     `xml:",omitempty"`
	Region           string     `xml:",omitempty"`
	StringToSign     string     `xml:",omitempty"`
	CanonicalRequest string     `xml:",omitempty"`
	HeadersNotSigned string     `xml:",omitempty"`
	Extra            []errField `xml:",omitempty"`
	Resource         string
	RequestID        string `xml:"RequestId"`
}

// asAPIError maps any error to what the client sees: an *apiError as is, anything else
// as InternalError so that internal detail never reaches the client.
func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return errInternal(err)
}

func writeError(w http.ResponseWriter, r *http.Request, requestID string, ae *apiError) {
	if ae.region != "" {
		w.Header().Set("x-amz-bucket-region", ae.region)
	}
	if ae.deleteMarker {
		w.Header().Set("x-amz-delete-marker", "true")
	}
	if ae.versionID != "" {
		w.Header().Set("x-amz-version-id", ae.versionID)
	}
	if r.Method == http.MethodHead {
		// HEAD responses carry no body; the SDKs map the status code alone.
		w.WriteHeader(ae.status)
		return
	}
	body := errorBody{
		Code: ae.code, Message: ae.message, BucketName: ae.bucket, Key: ae.key, Region: ae.region,
		StringToSign: ae.stringToSign, CanonicalRequest: ae.canonicalRequest, HeadersNotSigned: ae.headersNotSigned,
		Extra: ae.fields, Resource: r.URL.Path, RequestID: requestID,
	}
	writeXML(w, ae.status, body)
}

func writeXML(w http.ResponseWriter, status int, v any) {
	out, err := xml.Marshal(v)
	if err != nil {
		// Only our own response types reach here; a failure is a programming error.
		http.Error(w, "encoding response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}
