package objectstore

import (
	"context"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
)

// objectAttributeNames are the values x-amz-object-attributes may list.
var objectAttributeNames = map[string]bool{
	"ETag": true, "Checksum": true, "ObjectParts": true, "StorageClass": true, "ObjectSize": true,
}

type getObjectAttributesResult struct {
	XMLName      xml.Name           `xml:"GetObjectAttributesResponse"`
	Xmlns        string             `xml:"xmlns,attr"`
	ETag         string             `xml:",omitempty"`
	Checksum     *attributeChecksum `xml:",omitempty"`
	ObjectParts  *objectParts       `xml:",omitempty"`
	StorageClass string             `xml:",omitempty"`
	ObjectSize   *int64             `xml:",omitempty"`
}

type attributeChecksum struct {
	checksumFields
	ChecksumType string `xml:",omitempty"`
}

type objectParts struct {
	TotalPartsCount      int `xml:"PartsCount"`
	PartNumberMarker     int
	NextPartNumberMarker int
	MaxParts             int
	IsTruncated          bool
	Parts                []objectPart `xml:"Part"`
}

type objectPart struct {
	PartNumber int
	Size       int64
	checksumFields
}

// objectAttributes reads x-amz-object-attributes: a comma-separated list, sent once or as several headers.
func objectAttributes(h http.Header) (map[string]bool, error) {
	out := map[string]bool{}
	for _, v := range h.Values("X-Amz-Object-Attributes") {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name == "" {
				continue
			}
			if !objectAttributeNames[name] {
				return nil, errBadArgument("x-amz-object-attributes", name, "Invalid attribute name specified.")
			}
			out[name] = true
		}
	}
	if len(out) == 0 {
		return nil, errInvalidRequest("The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty")
	}
	return out, nil
}

// getObjectAttributes serves GetObjectAttributes: what HeadObject tells, plus the parts of a multipart object.
func (s *Store) getObjectAttributes(ctx context.Context, rq *request) error {
	versionID, err := versionIDParam(rq.query())
	if err != nil {
		return err
	}
	if _, err := mustBucket(ctx, s.db, rq.bucket); err != nil {
		return err
	}
	attrs, err := objectAttributes(rq.r.Header)
	if err != nil {
		return err
	}
	maxParts, err := headerInt(rq.r.Header, "X-Amz-Max-Parts", maxListParts)
	if err != nil {
		return err
	}
	marker, err := headerInt(rq.r.Header, "X-Amz-Part-Number-Marker", 0)
	if err != nil {
		return err
	}
	v, err := findObject(ctx, s.db, rq.bucket, rq.key, versionID)
	if err != nil {
		return err
	}
	out := getObjectAttributesResult{Xmlns: s3Namespace}
	if attrs["ETag"] {
		out.ETag = v.etag
	}
	if attrs["StorageClass"] {
		out.StorageClass = storageClass
	}
	if attrs["ObjectSize"] {
		out.ObjectSize = &v.size
	}
	if attrs["Checksum"] && v.checksumAlgo != "" && v.checksum != "" {
		out.Checksum = &attributeChecksum{checksumFields: checksumsOf(v.checksumAlgo, v.checksum), ChecksumType: v.checksumType}
	}
	if attrs["ObjectParts"] && len(v.parts) > 0 {
		out.ObjectParts = attributeParts(v, marker, min(maxParts, maxListParts))
	}
	h := rq.w.Header()
	h.Set("Last-Modified", v.modified.UTC().Format(http.TimeFormat))
	if v.versionID != "" && v.versionID != nullVersion {
		h.Set("x-amz-version-id", v.versionID)
	}
	writeXML(rq.w, http.StatusOK, out)
	return nil
}

// attributeParts lists a multipart object's parts after marker, at most maxParts of them.
func attributeParts(v versionRow, marker, maxParts int) *objectParts {
	p := &objectParts{TotalPartsCount: len(v.parts), PartNumberMarker: marker, MaxParts: maxParts}
	for i, size := range v.parts {
		n := i + 1
		if n <= marker {
			continue
		}
		if len(p.Parts) == maxParts {
			p.IsTruncated = true
			break
		}
		part := objectPart{PartNumber: n, Size: size}
		if i < len(v.partSums) && v.partSums[i] != "" {
			part.checksumFields = checksumsOf(v.checksumAlgo, v.partSums[i])
		}
		p.Parts = append(p.Parts, part)
		p.NextPartNumberMarker = n
	}
	return p
}

// headerInt reads a non-negative integer header, def when it is absent.
func headerInt(h http.Header, name string, def int) (int, error) {
	v := h.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 0 {
		return 0, errBadArgument(strings.ToLower(name), v, "Provided "+strings.ToLower(name)+" is not a non-negative integer.")
	}
	return int(n), nil
}
