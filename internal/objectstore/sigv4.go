package objectstore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	sigAlgorithm    = "AWS4-HMAC-SHA256"
	sigService      = "s3"
	sigTerminator   = "aws4_request"
	amzDateLayout   = "20060102T150405Z"
	maxClockSkew    = 15 * time.Minute
	maxPresignValid = 7 * 24 * time.Hour

	unsignedPayload          = "UNSIGNED-PAYLOAD"
	streamingSigned          = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	emptySHA256              = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// signedRequest is what a verified signature establishes: who signed, how the payload
// is to be checked, and what the chunk signatures of a streaming body chain from.
type signedRequest struct {
	cred        Credential
	payloadHash string
	amzDate     string
	scope       string
	signingKey  []byte
	signature   string
}

// sigParams are the signature inputs taken from the Authorization header or the query.
type sigParams struct {
	accessKeyID   string
	scopeDate     string
	region        string
	service       string
	signedHeaders []string
	signature     string
	amzDate       string
	payloadHash   string
	presigned     bool
	expires       time.Duration
}

func (p sigParams) scope() string {
	return strings.Join([]string{p.scopeDate, p.region, p.service, sigTerminator}, "/")
}

// authenticate verifies the request's SigV4 signature and returns who signed it. The checks run in
// S3's order, so that a client sees the error S3 would give it: the form of the Authorization header
// or query, the credential scope, the dates, the payload hash, the key, the clock, then the signature.
func (s *Store) authenticate(r *http.Request) (*signedRequest, error) {
	p, err := s.sigParams(r)
	if err != nil {
		return nil, err
	}
	if r.Header.Get("X-Amz-Security-Token") != "" || r.URL.Query().Has("X-Amz-Security-Token") {
		// goldenpath's keys are long-term keys; it issues no session credentials.
		return nil, newAPIError(http.StatusBadRequest, "InvalidToken", "The provided token is malformed or otherwise invalid.")
	}
	cred, ok, err := s.creds.LookupKey(r.Context(), p.accessKeyID)
	if err != nil {
		return nil, errInternal(fmt.Errorf("looking up access key %q: %w", p.accessKeyID, err))
	}
	if !ok {
		return nil, newAPIError(http.StatusForbidden, "InvalidAccessKeyId",
			"The AWS Access Key Id you provided does not exist in our records.").with("AWSAccessKeyId", p.accessKeyID)
	}
	if err := s.checkTime(p); err != nil {
		return nil, err
	}
	key := deriveSigningKey(cred.SecretAccessKey, p.scopeDate, p.region, p.service)
	if err := verifySignature(r, p, key); err != nil {
		return nil, err
	}
	if err := checkUnsignedHeaders(r, p); err != nil {
		return nil, err
	}
	if err := checkEmptyPayload(r, p); err != nil {
		return nil, err
	}
	return &signedRequest{cred: cred, payloadHash: p.payloadHash, amzDate: p.amzDate,
		scope: p.scope(), signingKey: key, signature: p.signature}, nil
}

// checkEmptyPayload refuses a signed payload hash that an empty body cannot have, whatever the operation.
func checkEmptyPayload(r *http.Request, p sigParams) error {
	if r.ContentLength != 0 || !isHexSHA256(p.payloadHash) || strings.EqualFold(p.payloadHash, emptySHA256) {
		return nil
	}
	return errContentSHA256Mismatch(p.payloadHash, emptySHA256)
}

func errContentSHA256Mismatch(client, computed string) *apiError {
	return newAPIError(http.StatusBadRequest, "XAmzContentSHA256Mismatch",
		"The provided 'x-amz-content-sha256' header does not match what was computed.").
		with("ClientComputedContentSHA256", client).with("S3ComputedContentSHA256", computed)
}

// presignParams are the query parameters of a SigV4 presigned URL.
var presignParams = []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires"}

// sigParams parses and checks everything about the signature except the key, the clock and the signature itself.
func (s *Store) sigParams(r *http.Request) (sigParams, error) {
	q := r.URL.Query()
	switch {
	case r.Header.Get("Authorization") != "":
		return s.parseAuthHeader(r)
	case q.Has("AWSAccessKeyId") || q.Has("Signature") && q.Has("Expires"):
		return sigParams{}, errSigV2()
	case slices.ContainsFunc(presignParams, q.Has):
		return s.parsePresignedQuery(q)
	}
	return sigParams{}, errAccessDenied("Anonymous access is not allowed; sign requests with AWS Signature Version 4.")
}

func errSigV2() *apiError {
	return errInvalidRequest("Signature Version 2 is not supported; sign requests with AWS Signature Version 4 (%s).", sigAlgorithm)
}

func (s *Store) parseAuthHeader(r *http.Request) (sigParams, error) {
	var p sigParams
	header := strings.TrimSpace(r.Header.Get("Authorization"))
	alg, rest, ok := strings.Cut(header, " ")
	switch {
	case !ok:
		return p, errBadArgument("Authorization", header, "Authorization header is invalid -- one and only one ' ' (space) required.")
	case alg == "AWS":
		return p, errSigV2()
	case alg != sigAlgorithm:
		return p, errBadArgument("Authorization", alg, "Unsupported Authorization Type")
	}
	fields, err := authComponents(rest)
	if err != nil {
		return p, err
	}
	if err := s.parseCredential(&p, fields["Credential"], errAuthHeaderMalformed); err != nil {
		return p, err
	}
	p.signedHeaders = strings.Split(fields["SignedHeaders"], ";")
	p.signature = fields["Signature"]
	if p.amzDate, err = headerDate(r); err != nil {
		return p, err
	}
	if p.scopeDate != p.amzDate[:8] {
		return p, errAuthHeaderMalformed("Invalid credential date. Date is not the same as X-Amz-Date.")
	}
	if !containsFold(p.signedHeaders, "host") {
		return p, errAuthHeaderMalformed("the host header must be signed")
	}
	p.payloadHash = r.Header.Get("X-Amz-Content-Sha256")
	return p, checkPayloadHash(p.payloadHash)
}

// authComponents splits "Credential=..., SignedHeaders=..., Signature=..." into its three components.
func authComponents(rest string) (map[string]string, error) {
	parts := strings.Split(rest, ",")
	if len(parts) != 3 {
		return nil, errAuthHeaderMalformed("the authorization header requires three components: Credential, SignedHeaders, and Signature.")
	}
	fields := map[string]string{}
	for _, part := range parts {
		part = strings.TrimSpace(part)
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, errAuthHeaderMalformed("the authorization component %q is malformed.", part)
		}
		fields[k] = v
	}
	for _, name := range []string{"Credential", "SignedHeaders", "Signature"} {
		if _, ok := fields[name]; !ok {
			return nil, errAuthHeaderMalformed("missing %s.", name)
		}
	}
	return fields, nil
}

// headerDate is the request's x-amz-date, or its Date header in the x-amz-date form.
func headerDate(r *http.Request) (string, error) {
	missing := errAccessDenied("AWS authentication requires a valid Date or x-amz-date header.")
	if v := r.Header.Get("X-Amz-Date"); v != "" {
		if _, err := time.Parse(amzDateLayout, v); err != nil {
			return "", missing
		}
		return v, nil
	}
	t, err := http.ParseTime(r.Header.Get("Date"))
	if err != nil {
		return "", missing
	}
	return t.UTC().Format(amzDateLayout), nil
}

func checkPayloadHash(h string) error {
	switch h {
	case "":
		return errInvalidRequest("Missing required header for this request: x-amz-content-sha256")
	case unsignedPayload, streamingSigned, streamingSignedTrailer, streamingUnsignedTrailer:
		return nil
	}
	if isHexSHA256(h) {
		return nil
	}
	return errBadArgument("x-amz-content-sha256", h, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value.")
}

func errQueryAuth(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, "AuthorizationQueryParametersError", format, args...)
}

func (s *Store) parsePresignedQuery(q url.Values) (sigParams, error) {
	p := sigParams{presigned: true}
	switch alg := q.Get("X-Amz-Algorithm"); {
	case alg == "AWS4-ECDSA-P256-SHA256":
		return p, errQueryAuth(`X-Amz-Algorithm only supports "%s"`, sigAlgorithm)
	case alg != sigAlgorithm && alg != "":
		return p, errQueryAuth(`X-Amz-Algorithm only supports "AWS4-HMAC-SHA256 and AWS4-ECDSA-P256-SHA256"`)
	}
	for _, name := range presignParams {
		if q.Get(name) == "" {
			return p, errQueryAuth("Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
		}
	}
	malformed := func(format string, args ...any) *apiError {
		return errQueryAuth("Error parsing the X-Amz-Credential parameter; "+format, args...)
	}
	if err := s.parseCredential(&p, q.Get("X-Amz-Credential"), malformed); err != nil {
		return p, err
	}
	p.amzDate = q.Get("X-Amz-Date")
	if _, err := time.Parse(amzDateLayout, p.amzDate); err != nil {
		return p, errQueryAuth(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`)
	}
	if p.scopeDate != p.amzDate[:8] {
		return p, errQueryAuth(`Invalid credential date %q. This date is not the same as X-Amz-Date: %q.`, p.scopeDate, p.amzDate[:8])
	}
	secs, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
	switch {
	case err != nil:
		return p, errQueryAuth("X-Amz-Expires should be a number")
	case secs < 0:
		return p, errQueryAuth("X-Amz-Expires must be non-negative")
	case time.Duration(secs)*time.Second > maxPresignValid:
		return p, errQueryAuth("X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than %d seconds", int64(maxPresignValid/time.Second))
	}
	p.expires = time.Duration(secs) * time.Second
	p.signedHeaders = strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	if !containsFold(p.signedHeaders, "host") {
		return p, errQueryAuth("the host header must be signed")
	}
	p.signature = q.Get("X-Amz-Signature")
	p.payloadHash = q.Get("X-Amz-Content-Sha256")
	if p.payloadHash == "" {
		p.payloadHash = unsignedPayload
	}
	return p, checkPayloadHash(p.payloadHash)
}

// parseCredential splits and checks "AKID/20130524/us-east-1/s3/aws4_request"; malformed makes the error
// of the header or the query form.
func (s *Store) parseCredential(p *sigParams, credential string, malformed func(string, ...any) *apiError) error {
	parts := strings.Split(credential, "/")
	if len(parts) != 5 || parts[0] == "" {
		return malformed(`the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`)
	}
	p.accessKeyID, p.scopeDate, p.region, p.service = parts[0], parts[1], parts[2], parts[3]
	switch {
	case parts[4] != sigTerminator:
		return malformed(`incorrect terminal %q. This endpoint uses "%s".`, parts[4], sigTerminator)
	case p.service != sigService:
		return malformed(`incorrect service %q. This endpoint belongs to "%s".`, p.service, sigService)
	case p.region != s.region:
		e := malformed("the region %q is wrong; expecting %q", p.region, s.region)
		if !p.presigned {
			e.with("Region", s.region)
		}
		return e
	}
	if _, err := time.Parse("20060102", p.scopeDate); err != nil || len(p.scopeDate) != 8 {
		return malformed(`incorrect date format %q. This date in the credential must be in the format "yyyyMMdd".`, p.scopeDate)
	}
	return nil
}

func (s *Store) checkTime(p sigParams) error {
	t, _ := time.Parse(amzDateLayout, p.amzDate) // parsed when the parameters were read
	now := s.now()
	if p.presigned {
		if t.After(now.Add(maxClockSkew)) {
			return errAccessDenied("Request is not valid yet.")
		}
		if now.After(t.Add(p.expires)) {
			return errAccessDenied("Request has expired.").with("X-Amz-Expires", int64(p.expires/time.Second)).
				with("Expires", t.Add(p.expires).UTC().Format(time.RFC3339)).with("ServerTime", now.UTC().Format(time.RFC3339))
		}
		return nil
	}
	if d := now.Sub(t); d > maxClockSkew || d < -maxClockSkew {
		return newAPIError(http.StatusForbidden, "RequestTimeTooSkewed",
			"The difference between the request time and the current time is too large.").
			with("RequestTime", t.Format(amzDateLayout)).with("ServerTime", now.UTC().Format(time.RFC3339)).
			with("MaxAllowedSkewMilliseconds", maxClockSkew.Milliseconds())
	}
	return nil
}

// verifySignature recomputes the signature. S3 signs the path as sent on the wire (no
// double encoding); when a client's wire form differs from the canonical AWS encoding,
// the canonical form is tried as well.
func verifySignature(r *http.Request, p sigParams, key []byte) error {
	paths := []string{r.URL.EscapedPath()}
	if alt := awsURIEncode(r.URL.Path, false); alt != paths[0] {
		paths = append(paths, alt)
	}
	var creq, sts string
	for _, path := range paths {
		creq = canonicalRequest(r, p, path)
		sts = stringToSign(p.amzDate, p.scope(), creq)
		if hmac.Equal([]byte(hmacHex(key, sts)), []byte(p.signature)) {
			return nil
		}
	}
	return errSignatureDoesNotMatch(sts, creq)
}

// checkUnsignedHeaders refuses x-amz-* headers the signature does not cover, as S3 does. The store acts on
// them — x-amz-copy-source turns a PUT into a copy, x-amz-meta-* is stored, checksum and copy-condition
// headers change the outcome — so an unsigned one would let whoever holds a presigned URL, or relays a
// signed request, make it do something its signer never asked for. A presigned URL may carry such a header
// as a query parameter instead (the SDKs hoist the ones they need not sign); the header is accepted when it
// repeats that signed parameter exactly.
func checkUnsignedHeaders(r *http.Request, p sigParams) error {
	var unsigned []string
	var query url.Values
	if p.presigned {
		query = r.URL.Query()
	}
	for name, values := range r.Header {
		lower := strings.ToLower(name)
		if !strings.HasPrefix(lower, "x-amz-") || containsFold(p.signedHeaders, lower) {
			continue
		}
		if p.presigned && repeatsQuery(query, lower, values) {
			continue
		}
		unsigned = append(unsigned, lower)
	}
	if len(unsigned) == 0 {
		return nil
	}
	sort.Strings(unsigned)
	e := errAccessDenied("There were headers present in the request which were not signed")
	e.headersNotSigned = strings.Join(unsigned, ", ")
	return e
}

// repeatsQuery reports whether the query (signed as a whole in a presigned URL) holds the header's values.
func repeatsQuery(q url.Values, lower string, values []string) bool {
	for k, v := range q {
		if strings.ToLower(k) == lower && strings.Join(v, ",") == strings.Join(values, ",") {
			return true
		}
	}
	return false
}

func canonicalRequest(r *http.Request, p sigParams, path string) string {
	if path == "" {
		path = "/"
	}
	var b strings.Builder
	b.WriteString(r.Method + "\n" + path + "\n" + canonicalQuery(r.URL.RawQuery, p.presigned) + "\n")
	for _, name := range p.signedHeaders {
		b.WriteString(strings.ToLower(name) + ":" + canonicalHeaderValue(r, name) + "\n")
	}
	b.WriteString("\n" + strings.Join(p.signedHeaders, ";") + "\n" + p.payloadHash)
	return b.String()
}

func canonicalQuery(raw string, presigned bool) string {
	type pair struct{ k, v string }
	var pairs []pair
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, v = queryUnescape(k), queryUnescape(v)
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		pairs = append(pairs, pair{awsURIEncode(k, true), awsURIEncode(v, true)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	out := make([]string, len(pairs))
	for i, kv := range pairs {
		out[i] = kv.k + "=" + kv.v
	}
	return strings.Join(out, "&")
}

func queryUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// canonicalHeaderValue reads a signed header the way the client saw it; Go's server
// moves Host and Transfer-Encoding out of r.Header.
func canonicalHeaderValue(r *http.Request, name string) string {
	switch strings.ToLower(name) {
	case "host":
		return r.Host
	case "content-length":
		if v := r.Header.Get("Content-Length"); v != "" {
			return v
		}
		return strconv.FormatInt(r.ContentLength, 10)
	case "transfer-encoding":
		return strings.Join(r.TransferEncoding, ",")
	}
	values := r.Header.Values(name)
	for i, v := range values {
		values[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(values, ",")
}

func stringToSign(amzDate, scope, canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return sigAlgorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
}

func deriveSigningKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, sigTerminator)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func hmacHex(key []byte, data string) string { return hex.EncodeToString(hmacSHA256(key, data)) }

// awsURIEncode is SigV4's URI encoding: every byte but A-Z a-z 0-9 - _ . ~ is %XX
// (upper case), and '/' too when encodeSlash.
func awsURIEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
