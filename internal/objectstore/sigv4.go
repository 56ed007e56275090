package objectstore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
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

// authenticate verifies the request's SigV4 signature and returns who signed it.
func (s *Store) authenticate(r *http.Request) (*signedRequest, error) {
	p, err := s.sigParams(r)
	if err != nil {
		return nil, err
	}
	cred, ok, err := s.creds.LookupKey(r.Context(), p.accessKeyID)
	if err != nil {
		return nil, errInternal(fmt.Errorf("looking up access key %q: %w", p.accessKeyID, err))
	}
	if !ok {
		return nil, newAPIError(http.StatusForbidden, "InvalidAccessKeyId",
			"The AWS Access Key Id you provided does not exist in our records.")
	}
	key := deriveSigningKey(cred.SecretAccessKey, p.scopeDate, p.region, p.service)
	if err := verifySignature(r, p, key); err != nil {
		return nil, err
	}
	if err := checkUnsignedHeaders(r, p); err != nil {
		return nil, err
	}
	return &signedRequest{cred: cred, payloadHash: p.payloadHash, amzDate: p.amzDate,
		scope: p.scope(), signingKey: key, signature: p.signature}, nil
}

// sigParams parses and checks everything about the signature except the signature itself.
func (s *Store) sigParams(r *http.Request) (sigParams, error) {
	var p sigParams
	var err error
	switch {
	case r.Header.Get("Authorization") != "":
		p, err = parseAuthHeader(r)
	case r.URL.Query().Has("X-Amz-Signature"):
		p, err = parsePresignedQuery(r.URL.Query())
	default:
		return p, errAccessDenied("Anonymous access is not allowed; sign requests with AWS Signature Version 4.")
	}
	if err != nil {
		return p, err
	}
	if err := s.checkScope(p); err != nil {
		return p, err
	}
	return p, s.checkTime(p)
}

func parseAuthHeader(r *http.Request) (sigParams, error) {
	var p sigParams
	alg, rest, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	switch alg {
	case sigAlgorithm:
	case "AWS":
		return p, errInvalidRequest("Signature Version 2 is not supported; sign requests with %s.", sigAlgorithm)
	default:
		return p, errAuthHeaderMalformed("unsupported algorithm %q; expecting %q", alg, sigAlgorithm)
	}
	fields := map[string]string{}
	for _, f := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	for _, name := range []string{"Credential", "SignedHeaders", "Signature"} {
		if fields[name] == "" {
			return p, errAuthHeaderMalformed("the %s field is missing", name)
		}
	}
	if err := parseCredential(&p, fields["Credential"]); err != nil {
		return p, errAuthHeaderMalformed("%s", err.Error())
	}
	p.signedHeaders = strings.Split(fields["SignedHeaders"], ";")
	p.signature = fields["Signature"]
	p.amzDate = r.Header.Get("X-Amz-Date")
	if p.amzDate == "" {
		// SigV4 allows the Date header instead; normalise it to the x-amz-date form.
		t, err := http.ParseTime(r.Header.Get("Date"))
		if err != nil {
			return p, newAPIError(http.StatusForbidden, "AccessDenied",
				"AWS authentication requires a valid Date or x-amz-date header.")
		}
		p.amzDate = t.UTC().Format(amzDateLayout)
	}
	p.payloadHash = r.Header.Get("X-Amz-Content-Sha256")
	if p.payloadHash == "" {
		return p, errInvalidRequest("Missing required header for this request: x-amz-content-sha256.")
	}
	return p, nil
}

func parsePresignedQuery(q url.Values) (sigParams, error) {
	p := sigParams{presigned: true}
	if alg := q.Get("X-Amz-Algorithm"); alg != sigAlgorithm {
		return p, errAuthQueryMalformed("X-Amz-Algorithm must be %q, got %q.", sigAlgorithm, alg)
	}
	for _, name := range []string{"X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires"} {
		if q.Get(name) == "" {
			return p, errAuthQueryMalformed("Query-string authentication requires the %s parameter.", name)
		}
	}
	if err := parseCredential(&p, q.Get("X-Amz-Credential")); err != nil {
		return p, errAuthQueryMalformed("Error parsing the X-Amz-Credential parameter; %s", err.Error())
	}
	secs, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
	if err != nil || secs <= 0 || time.Duration(secs)*time.Second > maxPresignValid {
		return p, errAuthQueryMalformed("X-Amz-Expires must be a number of seconds between 1 and %d.",
			int64(maxPresignValid/time.Second))
	}
	p.expires = time.Duration(secs) * time.Second
	p.signedHeaders = strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	p.signature = q.Get("X-Amz-Signature")
	p.amzDate = q.Get("X-Amz-Date")
	p.payloadHash = q.Get("X-Amz-Content-Sha256")
	if p.payloadHash == "" {
		p.payloadHash = unsignedPayload
	}
	return p, nil
}

// parseCredential splits "AKID/20130524/us-east-1/s3/aws4_request".
func parseCredential(p *sigParams, credential string) error {
	parts := strings.Split(credential, "/")
	if len(parts) != 5 || parts[0] == "" {
		return fmt.Errorf("the Credential %q must have the form <key-id>/<date>/<region>/<service>/aws4_request", credential)
	}
	if parts[4] != sigTerminator {
		return fmt.Errorf("the Credential scope must end in %q, got %q", sigTerminator, parts[4])
	}
	p.accessKeyID, p.scopeDate, p.region, p.service = parts[0], parts[1], parts[2], parts[3]
	return nil
}

func (s *Store) checkScope(p sigParams) error {
	malformed := errAuthHeaderMalformed
	if p.presigned {
		malformed = func(format string, args ...any) *apiError {
			return errAuthQueryMalformed("Error parsing the X-Amz-Credential parameter; "+format, args...)
		}
	}
	if p.region != s.region {
		e := malformed("the region '%s' is wrong; expecting '%s'", p.region, s.region)
		e.region = s.region
		return e
	}
	if p.service != sigService {
		return malformed("the service '%s' is wrong; expecting '%s'", p.service, sigService)
	}
	if !strings.HasPrefix(p.amzDate, p.scopeDate) || len(p.scopeDate) != 8 {
		return malformed("the credential date '%s' does not match the request date '%s'", p.scopeDate, p.amzDate)
	}
	if !containsFold(p.signedHeaders, "host") {
		return malformed("the host header must be signed")
	}
	return nil
}

func (s *Store) checkTime(p sigParams) error {
	t, err := time.Parse(amzDateLayout, p.amzDate)
	if err != nil {
		return errAccessDenied("X-Amz-Date %q must have the form YYYYMMDD'T'HHMMSS'Z'.", p.amzDate)
	}
	now := s.now()
	if p.presigned {
		if t.After(now.Add(maxClockSkew)) {
			return errAccessDenied("Request is not valid yet.")
		}
		if now.After(t.Add(p.expires)) {
			return errAccessDenied("Request has expired.")
		}
		return nil
	}
	if d := now.Sub(t); d > maxClockSkew || d < -maxClockSkew {
		return newAPIError(http.StatusForbidden, "RequestTimeTooSkewed",
			"The difference between the request time (%s) and the server time (%s) is larger than %s.",
			t.Format(time.RFC3339), now.UTC().Format(time.RFC3339), maxClockSkew)
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
