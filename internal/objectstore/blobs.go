package objectstore

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// blobStore keeps object and part bytes in files named by random ids. Keys never become
// paths, so no key can escape the directory or collide with another.
type blobStore struct {
	root string // blobs/
	tmp  string // tmp/, on the same filesystem so that rename is atomic
	// reserve records a blob id as unreferenced before its file appears in blobs/; the
	// transaction that references the blob claims it. A crash in between leaves the
	// reservation, and the next start deletes the file.
	reserve func(id string) error
}

func newBlobStore(dir string, reserve func(id string) error) (*blobStore, error) {
	b := &blobStore{root: filepath.Join(dir, "blobs"), tmp: filepath.Join(dir, "tmp"), reserve: reserve}
	// Anything in tmp/ was being received when the process stopped: never visible, so drop it.
	if err := os.RemoveAll(b.tmp); err != nil {
		return nil, fmt.Errorf("clearing %s: %w", b.tmp, err)
	}
	for _, d := range []string{b.root, b.tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("creating %s: %w", d, err)
		}
	}
	return b, nil
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

func (b *blobStore) path(id string) string { return filepath.Join(b.root, id[:2], id) }

func (b *blobStore) open(id string) (*os.File, error) { return os.Open(b.path(id)) }

// remove deletes a blob; one already gone is not an error, so cleanup can be retried.
func (b *blobStore) remove(id string) error {
	if err := os.Remove(b.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing blob %s: %w", id, err)
	}
	return nil
}

// writtenBlob describes bytes that are durable in blobs/ but not yet referenced.
type writtenBlob struct {
	id       string
	size     int64
	md5      []byte
	checksum *checksumReader
}

// write streams p into a new blob, computing its MD5. Nothing lands in blobs/ unless the
// whole payload was read and verified.
func (b *blobStore) write(p *payload) (writtenBlob, error) {
	f, err := os.CreateTemp(b.tmp, "put-*")
	if err != nil {
		return writtenBlob{}, errInternal(fmt.Errorf("creating temp file: %w", err))
	}
	h := md5.New()
	n, err := copyPayload(f, h, p)
	if err == nil {
		err = p.checkContentMD5(h.Sum(nil))
	}
	if err != nil {
		b.discard(f)
		return writtenBlob{}, err
	}
	id, err := b.commit(f)
	if err != nil {
		return writtenBlob{}, errInternal(err)
	}
	return writtenBlob{id: id, size: n, md5: h.Sum(nil), checksum: p.checksum}, nil
}

// copyPayload copies p into f and h, telling read failures (the client's) from write
// failures (ours).
func copyPayload(f *os.File, h hash.Hash, p io.Reader) (int64, error) {
	buf := make([]byte, 256<<10)
	var total int64
	for {
		n, rerr := p.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			if _, err := f.Write(buf[:n]); err != nil {
				return total, errInternal(fmt.Errorf("writing temp file: %w", err))
			}
			total += int64(n)
		}
		if errors.Is(rerr, io.EOF) {
			return total, nil
		}
		if rerr != nil {
			return total, bodyError(rerr)
		}
	}
}

// commit makes a temp file durable and moves it into blobs/ under a new id.
func (b *blobStore) commit(f *os.File) (string, error) {
	if err := f.Sync(); err != nil {
		b.discard(f)
		return "", fmt.Errorf("syncing %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("closing %s: %w", f.Name(), err)
	}
	id := newID()
	if err := b.reserve(id); err != nil {
		_ = os.Remove(f.Name())
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(b.path(id)), 0o700); err != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("creating blob directory: %w", err)
	}
	if err := os.Rename(f.Name(), b.path(id)); err != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("moving blob into place: %w", err)
	}
	return id, nil
}

func (b *blobStore) discard(f *os.File) {
	_ = f.Close()
	_ = os.Remove(f.Name())
}

// clone gives a copy of blob src its own id, by hard link when the filesystem allows
// (blobs are never modified, so sharing the inode is safe) and by copying otherwise.
func (b *blobStore) clone(src string) (string, error) {
	link := filepath.Join(b.tmp, "link-"+newID())
	if err := os.Link(b.path(src), link); err == nil {
		f, err := os.Open(link)
		if err != nil {
			_ = os.Remove(link)
			return "", fmt.Errorf("opening linked blob: %w", err)
		}
		return b.commit(f)
	}
	in, err := b.open(src)
	if err != nil {
		return "", fmt.Errorf("opening blob %s: %w", src, err)
	}
	defer in.Close()
	f, err := os.CreateTemp(b.tmp, "copy-*")
	if err != nil {
		return "", fmt.Errorf("creating temp file: %w", err)
	}
	if _, err := io.Copy(f, in); err != nil {
		b.discard(f)
		return "", fmt.Errorf("copying blob %s: %w", src, err)
	}
	return b.commit(f)
}

// concat writes the given blobs one after another into a new blob (completing a
// multipart upload), and into h unless it is nil.
func (b *blobStore) concat(ids []string, h hash.Hash) (string, error) {
	f, err := os.CreateTemp(b.tmp, "complete-*")
	if err != nil {
		return "", fmt.Errorf("creating temp file: %w", err)
	}
	var w io.Writer = f
	if h != nil {
		w = io.MultiWriter(f, h)
	}
	for _, id := range ids {
		if err := b.appendBlob(w, id); err != nil {
			b.discard(f)
			return "", err
		}
	}
	return b.commit(f)
}

func (b *blobStore) appendBlob(f io.Writer, id string) error {
	in, err := b.open(id)
	if err != nil {
		return fmt.Errorf("opening part blob %s: %w", id, err)
	}
	defer in.Close()
	if _, err := io.Copy(f, in); err != nil {
		return fmt.Errorf("appending part blob %s: %w", id, err)
	}
	return nil
}
