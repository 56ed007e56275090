package objectstore

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/zeebo/xxh3"
)

// S3's flexible checksums. An object's checksum is of one algorithm and one type: FULL_OBJECT, the
// checksum of the whole object, or COMPOSITE, the checksum of the parts' checksums followed by "-<parts>"
// (multipart uploads only). Algorithms are kept in lower case, as in the header names.

const (
	checksumHdr        = "X-Amz-Checksum-"
	checksumTypeHdr    = "X-Amz-Checksum-Type"
	checksumAlgoHdr    = "X-Amz-Checksum-Algorithm"
	sdkChecksumAlgoHdr = "X-Amz-Sdk-Checksum-Algorithm"
	typeFullObject     = "FULL_OBJECT"
	typeComposite      = "COMPOSITE"
	defaultChecksum    = "crc64nvme"        // what S3 computes when a client sends no checksum
	crc64NVMERev       = 0x9a6c9329ac4bc9b5 // CRC-64/NVME polynomial, bit-reversed as hash/crc64 wants
)

// checksumAlgorithms are the algorithms S3 accepts, in the order S3 lists them.
var checksumAlgorithms = []string{"crc32", "crc32c", "crc64nvme", "sha1", "sha256", "sha512", "md5", "xxhash64", "xxhash3", "xxhash128"}

var (
	crc32cTable    = crc32.MakeTable(crc32.Castagnoli)
	crc64NVMETable = crc64.MakeTable(crc64NVMERev)
)

func newChecksumHash(algo string) hash.Hash {
	switch algo {
	case "crc32":
		return crc32.NewIEEE()
	case "crc32c":
		return crc32.New(crc32cTable)
	case "crc64nvme":
		return crc64.New(crc64NVMETable)
	case "sha1":
		return sha1.New()
	case "sha256":
		return sha256.New()
	case "sha512":
		return sha512.New()
	case "md5":
		return md5.New()
	case "xxhash64":
		return xxhash.New()
	case "xxhash3":
		return xxh3.New()
	case "xxhash128":
		return xxh3.New128()
	}
	return nil
}

func knownAlgorithm(algo string) bool { return newChecksumHash(algo) != nil }

// fullObjectCapable: only the CRCs can be combined into a checksum of the whole object.
func fullObjectCapable(algo string) bool {
	return algo == "crc32" || algo == "crc32c" || algo == "crc64nvme"
}

// validChecksum reports whether v is the base64 of a checksum of algo.
func validChecksum(algo, v string) bool {
	raw, err := base64.StdEncoding.DecodeString(v)
	return err == nil && v != "" && len(raw) == newChecksumHash(algo).Size()
}

// validComposite reports whether v is a composite checksum of algo: "<base64>-<parts>", or just the base64.
func validComposite(algo, v string) bool {
	sum, n, found := strings.Cut(v, "-")
	if !found {
		return validChecksum(algo, v)
	}
	parts, err := strconv.Atoi(n)
	return err == nil && parts >= 1 && parts <= maxPartNumber && n == strconv.Itoa(parts) && validChecksum(algo, sum)
}

func errInvalidChecksumHeader(header string) *apiError {
	return errInvalidRequest("Value for %s header is invalid.", header)
}

func errChecksumBadDigest(algo string) *apiError {
	return newAPIError(http.StatusBadRequest, "BadDigest", "The %s you specified did not match the calculated checksum.", strings.ToUpper(algo))
}

func errInvalidChecksumAlgorithm() *apiError {
	return errInvalidRequest("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, MD5, SHA1, SHA256, SHA512, XXHASH128, XXHASH3, XXHASH64]")
}

// checksumFields are the Checksum<ALGO> elements of S3's documents; at most one is set.
type checksumFields struct {
	ChecksumCRC32     string `xml:",omitempty"`
	ChecksumCRC32C    string `xml:",omitempty"`
	ChecksumCRC64NVME string `xml:",omitempty"`
	ChecksumSHA1      string `xml:",omitempty"`
	ChecksumSHA256    string `xml:",omitempty"`
	ChecksumSHA512    string `xml:",omitempty"`
	ChecksumMD5       string `xml:",omitempty"`
	ChecksumXXHASH64  string `xml:",omitempty"`
	ChecksumXXHASH3   string `xml:",omitempty"`
	ChecksumXXHASH128 string `xml:",omitempty"`
}

func (c *checksumFields) field(algo string) *string {
	switch algo {
	case "crc32":
		return &c.ChecksumCRC32
	case "crc32c":
		return &c.ChecksumCRC32C
	case "crc64nvme":
		return &c.ChecksumCRC64NVME
	case "sha1":
		return &c.ChecksumSHA1
	case "sha256":
		return &c.ChecksumSHA256
	case "sha512":
		return &c.ChecksumSHA512
	case "md5":
		return &c.ChecksumMD5
	case "xxhash64":
		return &c.ChecksumXXHASH64
	case "xxhash3":
		return &c.ChecksumXXHASH3
	case "xxhash128":
		return &c.ChecksumXXHASH128
	}
	return nil
}

func checksumsOf(algo, value string) checksumFields {
	var c checksumFields
	if f := c.field(algo); f != nil {
		*f = value
	}
	return c
}

// set lists the algorithms whose fields are set, in S3's order, with their values.
func (c *checksumFields) set() (algos, values []string) {
	for _, a := range checksumAlgorithms {
		if v := *c.field(a); v != "" {
			algos, values = append(algos, a), append(values, v)
		}
	}
	return algos, values
}

// setChecksumHeaders sets x-amz-checksum-<algo> and x-amz-checksum-type.
func setChecksumHeaders(h http.Header, algo, value, typ string) {
	if algo == "" || value == "" {
		return
	}
	h.Set(checksumHdr+algo, value)
	if typ != "" {
		h.Set(checksumTypeHdr, typ)
	}
}
