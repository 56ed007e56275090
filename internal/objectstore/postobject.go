package objectstore

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Browser form uploads (POST Object with a POST policy): a web page posts a multipart/form-data form whose
// fields carry the key, the object's headers and a policy signed with SigV4; the file is the last field.
// boto3's generate_presigned_post and the SDKs' presigned POST builders make such forms.

const (
	maxFormFields    = 1 << 20  // the fields before the file, all together
	maxFormField     = 64 << 10 // one field
	postAuthFieldSet = "x-amz-algorithm x-amz-credential x-amz-date x-amz-signature policy"
)

// postForm is the fields of a form, names lowercased, in the order sent.
type postForm struct {
	names  []string
	values map[string]string
}

func (f *postForm) get(name string) string { return f.values[strings.ToLower(name)] }

func (f *postForm) has(name string) bool {
	_, ok := f.values[strings.ToLower(name)]
	return ok
}

func errMalformedPOST() *apiError {
	return newAPIError(http.StatusBadRequest, "MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.")
}

// postObject serves a browser form upload. It authenticates the form itself: the request has no
// Authorization header.
func (s *Store) postObject(ctx context.Context, rq *request) error {
	mediaType, params, err := mime.ParseMediaType(rq.r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" {
		return newAPIError(http.StatusPreconditionFailed, "PreconditionFailed",
			"At least one of the pre-conditions you specified did not hold.").
			with("Condition", "Bucket POST must be of the enclosure-type multipart/form-data")
	}
	if params["boundary"] == "" {
		return errMalformedPOST()
	}
	mr := multipart.NewReader(rq.r.Body, params["boundary"])
	form, file, err := readPostFields(mr)
	if err != nil {
		return err
	}
	cred, policy, err := s.authenticatePost(ctx, rq, form)
	if err != nil {
		return err
	}
	rq.sr = &signedRequest{cred: cred} // for the log
	if !cred.mayUse(rq.bucket) {
		return errAccessDenied("Access Denied: this access key may not use bucket %q.", rq.bucket)
	}
	b, err := mustBucket(ctx, s.db, rq.bucket)
	if err != nil {
		return err
	}
	if file == nil {
		return errBadArgument("file", "", "POST requires exactly one file upload per request.")
	}
	lengthRange, err := policy.check(form, rq.bucket)
	if err != nil {
		return err
	}
	key := form.get("key")
	if !form.has("key") {
		return errBadArgument("key", "", "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.")
	}
	key = strings.ReplaceAll(key, "${filename}", file.FileName())
	if key == "" {
		return errBadArgument("key", "", "User key must have a length greater than 0.")
	}
	if err := validateKey(key); err != nil {
		return err
	}
	h := form.headers()
	contentType, headers, err := objectHeaders(h)
	if err != nil {
		return err
	}
	var tags map[string]string
	if form.has("tagging") {
		var doc tagging
		if err := xml.Unmarshal([]byte(form.get("tagging")), &doc); err != nil {
			return errMalformedXML(err)
		}
		if tags, err = checkTags(doc.TagSet); err != nil {
			return err
		}
	}
	p, err := formPayload(file, h)
	if err != nil {
		return err
	}
	blob, err := s.blobs.write(p)
	if err != nil {
		return err
	}
	if err := lengthRange.check(blob.size); err != nil {
		s.dropBlob(ctx, blob.id)
		return err
	}
	v := versionRow{bucket: rq.bucket, key: key, size: blob.size, etag: hex.EncodeToString(blob.md5),
		contentType: contentType, headers: headers, tags: tags, blob: blob.id, modified: s.now().UTC()}
	v.checksumAlgo, v.checksum, v.checksumType = blob.checksum.algo, blob.checksum.value, typeFullObject
	if err := checkQuota(b, blob.size, 0); err != nil {
		s.dropBlob(ctx, blob.id)
		return err
	}
	if err := s.commitVersion(ctx, &v, putOptions{}); err != nil {
		return err
	}
	return answerPost(rq, form, v)
}

// readPostFields reads the fields up to the file; what follows the file is ignored, as S3 does.
func readPostFields(mr *multipart.Reader) (*postForm, *multipart.Part, error) {
	form := &postForm{values: map[string]string{}}
	total := 0
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return form, nil, nil
		}
		if err != nil {
			return nil, nil, errMalformedPOST()
		}
		name := strings.ToLower(part.FormName())
		if name == "" {
			return nil, nil, errMalformedPOST()
		}
		if name == "file" {
			return form, part, nil
		}
		value, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
		if err != nil {
			return nil, nil, errMalformedPOST()
		}
		if total += len(value); len(value) > maxFormField || total > maxFormFields {
			return nil, nil, newAPIError(http.StatusBadRequest, "MaxPostPreDataLengthExceeded",
				"Your POST request fields preceding the upload file were too large.")
		}
		if _, dup := form.values[name]; !dup {
			form.names = append(form.names, name)
		}
		form.values[name] = string(value)
	}
}

// headers turns the fields that set object headers into request headers, for objectHeaders and the checksums.
func (f *postForm) headers() http.Header {
	h := http.Header{}
	for _, name := range f.names {
		switch {
		case name == "content-type", name == "cache-control", name == "content-disposition", name == "content-encoding",
			name == "content-language", name == "expires", strings.HasPrefix(name, "x-amz-"):
			h.Set(textproto.CanonicalMIMEHeaderKey(name), f.values[name])
		}
	}
	for _, name := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Signature", "X-Amz-Security-Token"} {
		h.Del(name)
	}
	return h
}

// formPayload is the file, checked against the checksum field the form may carry.
func formPayload(file *multipart.Part, h http.Header) (*payload, error) {
	d, err := declaredChecksum(h, false)
	if err != nil {
		return nil, err
	}
	p := &payload{Reader: &lengthReader{r: file, want: -1, limit: maxPutSize}, size: -1}
	if d.algo != "" {
		want := func() (string, bool) { return d.value, false }
		p.checksum = &checksumReader{r: p.Reader, algo: d.algo, h: newChecksumHash(d.algo), want: want}
		p.Reader = p.checksum
	}
	p.computeChecksum(defaultChecksum)
	return p, nil
}

// answerPost answers as success_action_redirect or success_action_status ask (204 by default).
func answerPost(rq *request, form *postForm, v versionRow) error {
	location := objectURL(rq.r, v.bucket, v.key)
	h := rq.w.Header()
	h.Set("ETag", quoteETag(v.etag))
	h.Set("Location", location)
	if v.versionID != "" && v.versionID != nullVersion {
		h.Set("x-amz-version-id", v.versionID)
	}
	if redirect := form.get("success_action_redirect"); redirect != "" {
		if u, err := url.Parse(redirect); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			q := u.Query()
			q.Set("bucket", v.bucket)
			q.Set("key", v.key)
			q.Set("etag", quoteETag(v.etag))
			u.RawQuery = q.Encode()
			h.Set("Location", u.String())
			rq.w.WriteHeader(http.StatusSeeOther)
			return nil
		}
	}
	switch form.get("success_action_status") {
	case "200":
		rq.w.WriteHeader(http.StatusOK)
	case "201":
		writeXML(rq.w, http.StatusCreated, postResponse{Xmlns: s3Namespace, Location: location, Bucket: v.bucket,
			Key: v.key, ETag: quoteETag(v.etag)})
	default:
		rq.w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

type postResponse struct {
	XMLName  xml.Name `xml:"PostResponse"`
	Xmlns    string   `xml:"xmlns,attr"`
	Location string
	Bucket   string
	Key      string
	ETag     string
}

// objectURL is the path-style URL of an object on the host the request came to.
func objectURL(r *http.Request, bucket, key string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/" + bucket + "/" + awsURIEncode(key, false)
}

// authenticatePost checks the form's SigV4 fields, in S3's order, and returns the signer and the policy.
func (s *Store) authenticatePost(ctx context.Context, rq *request, form *postForm) (Credential, *postPolicy, error) {
	if form.has("awsaccesskeyid") || form.has("signature") {
		return Credential{}, nil, errSigV2()
	}
	var missing []string
	for _, name := range strings.Fields(postAuthFieldSet) {
		if !form.has(name) {
			missing = append(missing, name)
		}
	}
	switch len(missing) {
	case 0:
	case 5:
		return Credential{}, nil, errAccessDenied("Access Denied.").
			with("Reason", "the form carries no signature: sign its policy with AWS Signature Version 4 (x-amz-algorithm, x-amz-credential, x-amz-date, policy, x-amz-signature)")
	default:
		return Credential{}, nil, errBadArgument(missing[0], "",
			fmt.Sprintf("Bucket POST must contain a field named '%s'.  If it is specified, please check the order of the fields.", missing[0]))
	}
	if a := form.get("x-amz-algorithm"); a != sigAlgorithm {
		return Credential{}, nil, errBadArgument("X-Amz-Algorithm", a, "Only AWS4-HMAC-SHA256 is supported")
	}
	p := sigParams{amzDate: form.get("x-amz-date"), presigned: true}
	if _, err := time.Parse(amzDateLayout, p.amzDate); err != nil {
		return Credential{}, nil, errBadArgument("X-Amz-Date", p.amzDate, "X-Amz-Date must be formated via ISO8601 Long format")
	}
	credential := form.get("x-amz-credential")
	malformed := func(format string, args ...any) *apiError {
		return errBadArgument("x-amz-credential", credential, fmt.Sprintf(format, args...))
	}
	if err := s.parseCredential(&p, credential, malformed); err != nil {
		return Credential{}, nil, err
	}
	if form.get("x-amz-security-token") != "" {
		return Credential{}, nil, newAPIError(http.StatusBadRequest, "InvalidToken", "The provided token is malformed or otherwise invalid.")
	}
	cred, ok, err := s.creds.LookupKey(ctx, p.accessKeyID)
	if err != nil {
		return Credential{}, nil, errInternal(fmt.Errorf("looking up access key %q: %w", p.accessKeyID, err))
	}
	if !ok {
		return Credential{}, nil, newAPIError(http.StatusForbidden, "InvalidAccessKeyId",
			"The AWS Access Key Id you provided does not exist in our records.").with("AWSAccessKeyId", p.accessKeyID)
	}
	policyB64 := form.get("policy")
	key := deriveSigningKey(cred.SecretAccessKey, p.scopeDate, p.region, p.service)
	want, got := hmacHex(key, policyB64), strings.ToLower(form.get("x-amz-signature"))
	if !hmac.Equal([]byte(want), []byte(got)) {
		e := newAPIError(http.StatusForbidden, "SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
		e.stringToSign = policyB64
		return Credential{}, nil, e.with("AWSAccessKeyId", p.accessKeyID).with("SignatureProvided", form.get("x-amz-signature")).
			with("StringToSignBytes", spacedHex(policyB64))
	}
	policy, err := parsePostPolicy(policyB64)
	if err != nil {
		return Credential{}, nil, err
	}
	if !s.now().Before(policy.expiration) {
		return Credential{}, nil, errPolicy("Invalid according to Policy: Policy expired.")
	}
	return cred, policy, nil
}

func spacedHex(s string) string {
	parts := make([]string, len(s))
	for i := range len(s) {
		parts[i] = hex.EncodeToString([]byte{s[i]})
	}
	return strings.Join(parts, " ")
}

// postPolicy is a decoded POST policy: when it expires and the conditions the form must meet.
type postPolicy struct {
	expiration time.Time
	conditions []postCondition
}

// postCondition is one condition: eq or starts-with of a field ($name), or content-length-range.
type postCondition struct {
	op, field, value string
	min, max         int64
	simple           bool   // {"name": "value"}: eq, the name without $
	text             string // as S3 quotes it when it fails
}

func errInvalidPolicy(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidPolicyDocument", "Invalid Policy: "+format, args...)
}

// errPolicy: the form does not meet its policy.
func errPolicy(format string, args ...any) *apiError {
	return newAPIError(http.StatusForbidden, "AccessDenied", format, args...)
}

func parsePostPolicy(b64 string) (*postPolicy, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errInvalidPolicy("invalid Base64 encoding.")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, errInvalidPolicy("Expecting '{' but found End-of-Input")
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, errInvalidPolicy("Invalid JSON.")
	}
	for name := range doc {
		if name != "expiration" && name != "conditions" {
			return nil, errInvalidPolicy("Unexpected: %q", name)
		}
	}
	expRaw, ok := doc["expiration"]
	if !ok {
		return nil, errInvalidPolicy("Policy missing expiration.")
	}
	var exp string
	if err := json.Unmarshal(expRaw, &exp); err != nil {
		return nil, errInvalidPolicy("Invalid JSON.")
	}
	p := &postPolicy{}
	if p.expiration, err = time.Parse(time.RFC3339, exp); err != nil {
		return nil, errInvalidPolicy("Invalid 'expiration' value: '%s'", exp)
	}
	condRaw, ok := doc["conditions"]
	if !ok {
		return nil, errInvalidPolicy("Policy missing conditions.")
	}
	var conds []json.RawMessage
	if err := json.Unmarshal(condRaw, &conds); err != nil {
		return nil, errInvalidPolicy("Invalid 'conditions' value: must be a List.")
	}
	for _, c := range conds {
		pc, err := parseCondition(c)
		if err != nil {
			return nil, err
		}
		p.conditions = append(p.conditions, pc)
	}
	return p, nil
}

func parseCondition(raw json.RawMessage) (postCondition, error) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		if len(obj) != 1 {
			return postCondition{}, errInvalidPolicy("Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
		}
		for name, v := range obj {
			var value string
			if err := json.Unmarshal(v, &value); err != nil {
				return postCondition{}, errInvalidPolicy("Invalid Simple-Condition: value must be a string.")
			}
			return postCondition{op: "eq", field: strings.ToLower(name), value: value, simple: true,
				text: fmt.Sprintf(`["eq", "$%s", %s]`, name, jsonString(value))}, nil
		}
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return postCondition{}, errInvalidPolicy("Invalid condition test: must be a List or Object.")
	}
	if len(list) == 0 {
		return postCondition{}, errInvalidPolicy("Invalid Condition: missing operation identifier.")
	}
	var op string
	if err := json.Unmarshal(list[0], &op); err != nil {
		return postCondition{}, errInvalidPolicy("Invalid JSON.")
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, raw)
	c := postCondition{op: strings.ToLower(op), text: compact.String()}
	switch c.op {
	case "eq", "starts-with":
		if len(list) != 3 {
			return c, errInvalidPolicy("Invalid %s: wrong number of arguments.", op)
		}
		var field string
		if json.Unmarshal(list[1], &field) != nil || json.Unmarshal(list[2], &c.value) != nil {
			return c, errInvalidPolicy("Invalid JSON.")
		}
		c.field = strings.ToLower(field) // "$name"; one without the $ never holds
	case "content-length-range":
		if len(list) != 3 {
			return c, errInvalidPolicy("Invalid %s: wrong number of arguments.", op)
		}
		var err1, err2 error
		c.min, err1 = jsonInt(list[1])
		c.max, err2 = jsonInt(list[2])
		if err1 != nil || err2 != nil {
			return c, errInvalidPolicy("Invalid JSON.")
		}
	default:
		return c, errInvalidPolicy("Invalid Condition: unknown operation '%s'.", op)
	}
	return c, nil
}

func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSpace(b.String())
}

func jsonInt(raw json.RawMessage) (int64, error) {
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&n); err != nil {
		return 0, err
	}
	return strconv.ParseInt(n.String(), 10, 64)
}

// formExempt are the fields a policy need not mention.
func formExempt(name string) bool {
	switch name {
	case "policy", "x-amz-signature", "file":
		return true
	}
	return strings.HasPrefix(name, "x-ignore-")
}

// lengthRange is the content-length-range of a policy; max < 0 when there is none.
type lengthRange struct{ min, max int64 }

func (l lengthRange) check(size int64) error {
	switch {
	case l.max >= 0 && size > l.max:
		return newAPIError(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.").
			with("ProposedSize", size).with("MaxSizeAllowed", l.max)
	case size < l.min:
		return newAPIError(http.StatusBadRequest, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size").
			with("ProposedSize", size).with("MinSizeAllowed", l.min)
	}
	return nil
}

// check applies the conditions to the form, then refuses fields no condition mentions.
func (p *postPolicy) check(form *postForm, bucket string) (lengthRange, error) {
	lr := lengthRange{max: -1}
	covered := map[string]bool{}
	for _, c := range p.conditions {
		if c.op == "content-length-range" {
			lr = lengthRange{min: c.min, max: c.max}
			continue
		}
		name, ok := strings.CutPrefix(c.field, "$")
		if c.simple {
			name, ok = c.field, true
		}
		if !ok {
			return lr, errPolicy("Invalid according to Policy: Policy Condition failed: %s", c.text)
		}
		covered[name] = true
		value := form.get(name)
		if name == "bucket" {
			value = bucket
		}
		if !c.holds(name, value) {
			return lr, errPolicy("Invalid according to Policy: Policy Condition failed: %s", c.text)
		}
	}
	for _, name := range form.names {
		if !formExempt(name) && !covered[name] {
			return lr, errPolicy("Invalid according to Policy: Extra input fields: %s", name)
		}
	}
	return lr, nil
}

func (c postCondition) holds(name, value string) bool {
	if c.op == "eq" {
		return value == c.value
	}
	if name == "content-type" { // a list of types: each must start so
		for _, part := range strings.Split(value, ",") {
			if !strings.HasPrefix(strings.TrimSpace(part), c.value) {
				return false
			}
		}
		return true
	}
	return strings.HasPrefix(value, c.value)
}
