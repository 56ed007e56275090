package objectstore

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// readXMLBody decodes a small XML request body after verifying it like any payload.
// It reports false for an empty body.
func readXMLBody(rq *request, v any) (bool, error) {
	p, err := openPayload(rq.r, rq.sr, maxXMLBody)
	if err != nil {
		return false, err
	}
	return decodeXMLPayload(p, v)
}

// decodeXMLPayload reads and decodes an XML body; it reports false for an empty one.
func decodeXMLPayload(p *payload, v any) (bool, error) {
	body, err := p.readAll()
	if err != nil {
		return false, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return false, nil
	}
	if err := xml.Unmarshal(body, v); err != nil {
		return false, errMalformedXML(err)
	}
	return true, nil
}

// maxListBuckets is the most buckets one ListBuckets page may ask for.
const maxListBuckets = 10000

func (s *Store) listBucketsOp(ctx context.Context, rq *request) error {
	q := rq.query()
	limit := maxListBuckets
	if v := q.Get("max-buckets"); q.Has("max-buckets") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListBuckets {
			return errBadArgument("max-buckets", v, "Argument max-buckets must be an integer between 1 and 10000.")
		}
		limit = n
	}
	prefix, after := q.Get("prefix"), q.Get("continuation-token")
	rows, err := listBuckets(ctx, s.db)
	if err != nil {
		return err
	}
	out := listAllMyBucketsResult{Xmlns: s3Namespace, Owner: theOwner(), Buckets: []bucketEntry{}, Prefix: prefix}
	for _, b := range rows { // in name order
		if !rq.sr.cred.mayUse(b.name) || !strings.HasPrefix(b.name, prefix) || b.name <= after {
			continue
		}
		if len(out.Buckets) == limit {
			out.ContinuationToken = out.Buckets[limit-1].Name
			break
		}
		out.Buckets = append(out.Buckets, bucketEntry{Name: b.name, CreationDate: s3Time(b.created), BucketRegion: s.region})
	}
	writeXML(rq.w, http.StatusOK, out)
	return nil
}

func (s *Store) createBucketOp(ctx context.Context, rq *request) error {
	if err := ValidateBucketName(rq.bucket); err != nil {
		e := newAPIError(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.").
			with("Detail", strings.TrimPrefix(err.Error(), "bucket name "))
		e.bucket = rq.bucket
		return e
	}
	if err := checkCannedACL(rq.r.Header); err != nil {
		return err
	}
	var conf createBucketConfiguration
	if _, err := readXMLBody(rq, &conf); err != nil {
		return err
	}
	if lc := conf.LocationConstraint; lc != "" && lc != s.region {
		return newAPIError(http.StatusBadRequest, "IllegalLocationConstraintException",
			"The %s location constraint is incompatible for the region specific endpoint this request was sent to (%s).",
			lc, s.region)
	}
	_, exists, err := getBucket(ctx, s.db, rq.bucket)
	if err != nil {
		return err
	}
	if exists && s.region != defaultRegion {
		// us-east-1 answers 200 to re-creating your own bucket; other regions answer 409.
		e := newAPIError(http.StatusConflict, "BucketAlreadyOwnedByYou",
			"Your previous request to create the named bucket succeeded and you already own it.")
		e.bucket = rq.bucket
		return e
	}
	if !exists {
		if _, err := s.CreateBucket(ctx, rq.bucket, BucketOptions{}); err != nil {
			return err
		}
	}
	rq.w.Header().Set("Location", "/"+rq.bucket)
	rq.w.Header().Set("x-amz-bucket-arn", "arn:aws:s3:::"+rq.bucket)
	rq.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Store) headBucket(ctx context.Context, rq *request) error {
	if _, err := mustBucket(ctx, s.db, rq.bucket); err != nil {
		return err
	}
	rq.w.Header().Set("x-amz-bucket-region", s.region)
	rq.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Store) deleteBucketOp(ctx context.Context, rq *request) error {
	if _, err := mustBucket(ctx, s.db, rq.bucket); err != nil {
		return err
	}
	if err := s.DeleteBucket(ctx, rq.bucket, false); err != nil {
		if errors.Is(err, ErrBucketNotEmpty) {
			e := newAPIError(http.StatusConflict, "BucketNotEmpty", "The bucket you tried to delete is not empty.")
			e.bucket = rq.bucket
			return e
		}
		return err
	}
	rq.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Store) getBucketLocation(ctx context.Context, rq *request) error {
	if _, err := mustBucket(ctx, s.db, rq.bucket); err != nil {
		return err
	}
	out := locationConstraint{Xmlns: s3Namespace}
	if s.region != defaultRegion {
		out.Value = s.region // S3 reports us-east-1 as an empty constraint
	}
	writeXML(rq.w, http.StatusOK, out)
	return nil
}

func (s *Store) getBucketVersioning(ctx context.Context, rq *request) error {
	b, err := mustBucket(ctx, s.db, rq.bucket)
	if err != nil {
		return err
	}
	writeXML(rq.w, http.StatusOK, versioningConfiguration{Xmlns: s3Namespace, Status: b.versioning})
	return nil
}

func (s *Store) putBucketVersioning(ctx context.Context, rq *request) error {
	var conf versioningConfiguration
	ok, err := readXMLBody(rq, &conf)
	if err != nil {
		return err
	}
	if !ok || conf.Status != versioningEnabled && conf.Status != versioningSuspended {
		return errMalformedXML(errors.New("VersioningConfiguration Status must be Enabled or Suspended"))
	}
	err = s.inTx(ctx, func(t *txn) error {
		if _, err := mustBucket(ctx, t, rq.bucket); err != nil {
			return err
		}
		_, err := t.ExecContext(ctx, `UPDATE buckets SET versioning = ? WHERE name = ?`, conf.Status, rq.bucket)
		return err
	})
	if err != nil {
		return err
	}
	rq.w.WriteHeader(http.StatusOK)
	return nil
}
