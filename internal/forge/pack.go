package forge

import (
	"bufio"
	"compress/zlib"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
)

// packBlobsMin is the number of new blobs from which Commit writes them as one packfile instead of
// loose objects: a loose object costs a file create and rename each (slow for big imports, and slow
// to read back until repacked), while a pack per small commit would pile up packs.
const packBlobsMin = 32

// blobID is the SHA-1 object id git gives content as a blob.
func blobID(content []byte) string {
	h := sha1.New()
	h.Write([]byte("blob " + strconv.Itoa(len(content)) + "\x00"))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// writeBlobPack stores contents as one packfile through `git index-pack --stdin`, which verifies
// and indexes it, and returns the blob ids in order.
func (r *Repo) writeBlobPack(ctx context.Context, contents [][]byte) ([]string, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(encodeBlobPack(pw, contents)) }()
	_, err := r.git(ctx, runOpts{stdin: pr}, "index-pack", "--stdin")
	pr.CloseWithError(io.ErrClosedPipe) // unblock the encoder if git stopped reading early
	if err != nil {
		return nil, fmt.Errorf("writing %d blobs as a pack: %w", len(contents), err)
	}
	ids := make([]string, len(contents))
	for i, c := range contents {
		ids[i] = blobID(c)
	}
	return ids, nil
}

// encodeBlobPack writes a version 2 packfile (gitformat-pack) holding contents as undeltified blobs:
// "PACK", version, count, then per object a type-and-size header and zlib data, then a SHA-1 of it all.
func encodeBlobPack(w io.Writer, contents [][]byte) error {
	sum := sha1.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, sum), 64<<10)
	var hdr [12]byte
	copy(hdr[:4], "PACK")
	binary.BigEndian.PutUint32(hdr[4:8], 2)
	binary.BigEndian.PutUint32(hdr[8:12], uint32(len(contents)))
	bw.Write(hdr[:])
	zw := zlib.NewWriter(bw)
	for _, c := range contents {
		bw.Write(packObjectHeader(3, len(c))) // 3 = OBJ_BLOB
		zw.Reset(bw)
		if _, err := zw.Write(c); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(sum.Sum(nil))
	return err
}

// packObjectHeader encodes type and size: the first byte holds a continuation bit, three type bits and
// the low four size bits; following bytes hold seven size bits each.
func packObjectHeader(typ byte, size int) []byte {
	b := []byte{typ<<4 | byte(size&0x0f)}
	size >>= 4
	for size > 0 {
		b[len(b)-1] |= 0x80
		b = append(b, byte(size&0x7f))
		size >>= 7
	}
	return b
}
