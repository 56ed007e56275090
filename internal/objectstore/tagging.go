package objectstore

import (
	"context"
	"encoding/xml"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Object tags: at most 10 per object, keys of 1 to 128 and values of up to 256 characters, of letters,
// digits, spaces and + - = . _ : / @ (S3's rules).
const (
	maxObjectTags  = 10
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

type tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	TagSet  []tag    `xml:"TagSet>Tag"`
}

type tag struct {
	Key   string
	Value string
}

func validTagText(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsSpace(r) && !strings.ContainsRune("+-=._:/@", r) {
			return false
		}
	}
	return true
}

func errInvalidTag(code, message, key, value string) *apiError {
	return newAPIError(http.StatusBadRequest, code, "%s", message).with("TagKey", key).with("TagValue", value)
}

// checkTags applies S3's rules to a tag set and returns it as a map.
func checkTags(tags []tag) (map[string]string, error) {
	if len(tags) > maxObjectTags {
		return nil, newAPIError(http.StatusBadRequest, "BadRequest", "Object tags cannot be greater than 10")
	}
	out := make(map[string]string, len(tags))
	for _, t := range tags {
		switch {
		case t.Key == "" || utf8.RuneCountInString(t.Key) > maxTagKeyLen || !validTagText(t.Key):
			return nil, errInvalidTag("InvalidTag", "The TagKey you have provided is invalid", t.Key, "")
		case utf8.RuneCountInString(t.Value) > maxTagValueLen || !validTagText(t.Value):
			return nil, errInvalidTag("InvalidTag", "The TagValue you have provided is invalid", t.Key, t.Value)
		}
		if _, dup := out[t.Key]; dup {
			return nil, newAPIError(http.StatusBadRequest, "InvalidTag", "Cannot provide multiple Tags with the same key").with("TagKey", t.Key)
		}
		out[t.Key] = t.Value
	}
	return out, nil
}

// taggingHeader reads x-amz-tagging ("k1=v1&k2"), the tags of PutObject and CreateMultipartUpload.
func taggingHeader(h http.Header) (map[string]string, error) {
	v := h.Get("X-Amz-Tagging")
	if v == "" {
		return nil, nil
	}
	bad := errBadArgument("x-amz-tagging", "", "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.")
	var tags []tag
	seen := map[string]bool{}
	for _, pair := range strings.Split(v, "&") {
		if pair == "" {
			continue
		}
		k, val, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(val)
		if err1 != nil || err2 != nil || key == "" || seen[key] {
			return nil, bad
		}
		seen[key] = true
		tags = append(tags, tag{Key: key, Value: value})
	}
	return checkTags(tags)
}

func tagSet(tags map[string]string) []tag {
	out := make([]tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, tag{Key: k, Value: tags[k]})
	}
	return out
}

// taggedVersion finds the version a tagging request is about.
func (s *Store) taggedVersion(ctx context.Context, rq *request) (versionRow, error) {
	versionID, err := versionIDParam(rq.query())
	if err != nil {
		return versionRow{}, err
	}
	if _, err := mustBucket(ctx, s.db, rq.bucket); err != nil {
		return versionRow{}, err
	}
	return findObject(ctx, s.db, rq.bucket, rq.key, versionID)
}

func (s *Store) setTags(ctx context.Context, rq *request, tags map[string]string) error {
	v, err := s.taggedVersion(ctx, rq)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE versions SET tags = ? WHERE seq = ?`, optionalMap(tags), v.seq); err != nil {
		return errInternal(err)
	}
	if v.versionID != nullVersion {
		rq.w.Header().Set("x-amz-version-id", v.versionID)
	}
	return nil
}

func (s *Store) putObjectTagging(ctx context.Context, rq *request) error {
	var doc tagging
	ok, err := readXMLBody(rq, &doc)
	if err != nil {
		return err
	}
	if !ok {
		return errMalformedXML(nil)
	}
	tags, err := checkTags(doc.TagSet)
	if err != nil {
		return err
	}
	if err := s.setTags(ctx, rq, tags); err != nil {
		return err
	}
	rq.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Store) getObjectTagging(ctx context.Context, rq *request) error {
	v, err := s.taggedVersion(ctx, rq)
	if err != nil {
		return err
	}
	if v.versionID != nullVersion {
		rq.w.Header().Set("x-amz-version-id", v.versionID)
	}
	writeXML(rq.w, http.StatusOK, tagging{Xmlns: s3Namespace, TagSet: tagSet(v.tags)})
	return nil
}

func (s *Store) deleteObjectTagging(ctx context.Context, rq *request) error {
	if err := s.setTags(ctx, rq, nil); err != nil {
		return err
	}
	rq.w.WriteHeader(http.StatusNoContent)
	return nil
}
