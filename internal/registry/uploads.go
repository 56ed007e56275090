package registry

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// uploadIdleTimeout is how long an untouched upload session is kept. Slow
// pushes touch their session with every chunk, so only abandoned ones expire.
const uploadIdleTimeout = 24 * time.Hour

// uploadTable holds the upload sessions in progress. Sessions live in memory
// (their bytes on disk): after a restart a client simply starts a new upload.
type uploadTable struct {
	mu      sync.Mutex
	entries map[string]*upload
}

// upload is one blob upload session. The sha256 of the bytes so far is kept
// running so completing a multi-gigabyte layer does not re-read it.
type upload struct {
	id   string
	repo string
	// mu serialises requests on the session; chunks must arrive in order anyway.
	mu       sync.Mutex
	file     *os.File
	size     int64
	hash     hash.Hash
	lastUsed time.Time
}

// newUpload creates a session with an empty file under uploads/. Registered
// sessions can be continued by later requests; monolithic uploads are not.
func (r *Registry) newUpload(repo string, register bool) (*upload, error) {
	id := uuid.NewString()
	f, err := os.OpenFile(filepath.Join(r.dir, "uploads", id), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("creating upload file: %w", err)
	}
	u := &upload{id: id, repo: repo, file: f, hash: sha256.New(), lastUsed: time.Now()}
	if register {
		r.expireUploads()
		r.uploads.mu.Lock()
		r.uploads.entries[id] = u
		r.uploads.mu.Unlock()
	}
	return u, nil
}

// expireUploads drops sessions idle for longer than uploadIdleTimeout.
func (r *Registry) expireUploads() {
	r.uploads.mu.Lock()
	defer r.uploads.mu.Unlock()
	for id, u := range r.uploads.entries {
		if !u.mu.TryLock() {
			continue // in use, so not idle
		}
		if time.Since(u.lastUsed) > uploadIdleTimeout {
			delete(r.uploads.entries, id)
			u.discard()
		}
		u.mu.Unlock()
	}
}

// session returns the locked upload id of repo; the caller unlocks u.mu.
func (r *Registry) session(repo, id string) (*upload, error) {
	r.uploads.mu.Lock()
	u, ok := r.uploads.entries[id]
	r.uploads.mu.Unlock()
	if !ok || u.repo != repo {
		return nil, errUploadUnknown(id)
	}
	u.mu.Lock()
	if u.file == nil { // completed or cancelled while we waited
		u.mu.Unlock()
		return nil, errUploadUnknown(id)
	}
	u.lastUsed = time.Now()
	return u, nil
}

func (r *Registry) forget(u *upload) {
	r.uploads.mu.Lock()
	delete(r.uploads.entries, u.id)
	r.uploads.mu.Unlock()
}

// discard closes and removes the session's file. Caller holds u.mu.
func (u *upload) discard() {
	if u.file == nil {
		return
	}
	name := u.file.Name()
	_ = u.file.Close()
	_ = os.Remove(name)
	u.file = nil
}

// contentRange is a parsed Content-Range of a chunk: bytes start..end inclusive.
type contentRange struct{ start, end int64 }

// parseContentRange accepts docker's "start-end" and the RFC 9110 forms
// "bytes start-end" and "bytes start-end/total".
func parseContentRange(h string) (contentRange, bool, error) {
	if h == "" {
		return contentRange{}, false, nil
	}
	s := strings.TrimSpace(h)
	s = strings.TrimPrefix(s, "bytes")
	s = strings.TrimLeft(s, " =")
	s, _, _ = strings.Cut(s, "/")
	a, b, ok := strings.Cut(s, "-")
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || start < 0 || end < start {
		return contentRange{}, false, newAPIError(http.StatusBadRequest, codeBlobUploadInvalid,
			"Content-Range %q must be start-end with 0 <= start <= end", h)
	}
	return contentRange{start: start, end: end}, true, nil
}

// bodyReader marks a failure to read the request body: the client's fault (or
// its connection's), unlike a failure to write the disk.
type bodyReader struct{ r io.Reader }

type bodyReadError struct{ err error }

func (e bodyReadError) Error() string { return "reading request body: " + e.err.Error() }
func (e bodyReadError) Unwrap() error { return e.err }

func (rr bodyReader) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	if err != nil && err != io.EOF {
		err = bodyReadError{err}
	}
	return n, err
}

// write appends the request body to the session, honouring Content-Range.
// A failed chunk is rolled back (file and hash), so the client can retry it.
// Caller holds u.mu.
func (u *upload) write(req *http.Request) error {
	cr, ranged, err := parseContentRange(req.Header.Get("Content-Range"))
	if err != nil {
		return err
	}
	if ranged {
		if cr.start != u.size {
			return u.outOfOrder(req, cr)
		}
		if want := cr.end - cr.start + 1; req.ContentLength >= 0 && req.ContentLength != want {
			return newAPIError(http.StatusBadRequest, codeSizeInvalid,
				"Content-Range %d-%d is %d bytes but Content-Length is %d", cr.start, cr.end, want, req.ContentLength)
		}
	}
	state, err := u.hash.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return fmt.Errorf("saving hash state: %w", err)
	}
	n, err := copyBuffer(io.MultiWriter(u.file, u.hash), bodyReader{req.Body})
	if err == nil && ranged && n != cr.end-cr.start+1 {
		err = newAPIError(http.StatusBadRequest, codeSizeInvalid,
			"Content-Range %d-%d announced %d bytes but the body had %d", cr.start, cr.end, cr.end-cr.start+1, n)
	}
	if err != nil {
		return u.rollback(state, err)
	}
	u.size += n
	return nil
}

func (u *upload) outOfOrder(req *http.Request, cr contentRange) error {
	e := newAPIError(http.StatusRequestedRangeNotSatisfiable, codeBlobUploadInvalid,
		"chunk starts at byte %d but the upload has %d bytes: send the chunk starting at %d", cr.start, u.size, u.size)
	e.Header = http.Header{"Range": {u.rangeHeader()}, "Location": {uploadLocation(u.repo, u.id)},
		"Docker-Upload-Uuid": {u.id}}
	return e
}

// rollback restores the session to before a failed chunk and returns cause,
// translated to what the client should see.
func (u *upload) rollback(state []byte, cause error) error {
	if err := u.file.Truncate(u.size); err != nil {
		return fmt.Errorf("rolling back upload after %v: %w", cause, err)
	}
	if _, err := u.file.Seek(u.size, io.SeekStart); err != nil {
		return fmt.Errorf("rolling back upload after %v: %w", cause, err)
	}
	if err := u.hash.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return fmt.Errorf("rolling back upload hash after %v: %w", cause, err)
	}
	var bre bodyReadError
	if errors.As(cause, &bre) {
		return newAPIError(http.StatusBadRequest, codeBlobUploadInvalid, "%s", bre.Error())
	}
	return cause
}

// verify checks the uploaded bytes against d. sha512 digests are rare, so
// they pay for a second read instead of every upload paying for two hashes.
func (u *upload) verify(d digest) (bool, error) {
	if d.Algorithm == "sha256" {
		return hex.EncodeToString(u.hash.Sum(nil)) == d.Hex, nil
	}
	h := sha512.New()
	if _, err := copyBuffer(h, io.NewSectionReader(u.file, 0, u.size)); err != nil {
		return false, fmt.Errorf("hashing upload: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)) == d.Hex, nil
}

// rangeHeader is the Range of bytes received, in docker's "0-<last>" form.
func (u *upload) rangeHeader() string {
	if u.size == 0 {
		return "0-0"
	}
	return fmt.Sprintf("0-%d", u.size-1)
}

func uploadLocation(repo, id string) string {
	return "/v2/" + repo + "/blobs/uploads/" + id
}

func blobLocation(repo string, d digest) string {
	return "/v2/" + repo + "/blobs/" + d.String()
}

func writeUploadStatus(w http.ResponseWriter, u *upload, status int) {
	w.Header().Set("Location", uploadLocation(u.repo, u.id))
	w.Header().Set("Range", u.rangeHeader())
	w.Header().Set("Docker-Upload-UUID", u.id)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
}

func writeBlobCreated(w http.ResponseWriter, repo string, d digest) {
	w.Header().Set("Location", blobLocation(repo, d))
	w.Header().Set("Docker-Content-Digest", d.String())
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

func queryDigest(q url.Values) (digest, error) {
	s := q.Get("digest")
	if s == "" {
		return digest{}, newAPIError(http.StatusBadRequest, codeDigestInvalid,
			"the digest query parameter is required to complete an upload")
	}
	d, err := parseDigest(s)
	if err != nil {
		return digest{}, newAPIError(http.StatusBadRequest, codeDigestInvalid, "%s", err.Error())
	}
	return d, nil
}

// startUpload serves POST /v2/<name>/blobs/uploads/: a cross-repository
// mount, a monolithic upload (?digest=) or the start of a session.
func (r *Registry) startUpload(w http.ResponseWriter, req *http.Request, c *call) error {
	q := req.URL.Query()
	if q.Get("mount") != "" {
		d, mounted, err := r.tryMount(req, c, q.Get("mount"), q.Get("from"))
		if err != nil {
			return err
		}
		if mounted {
			writeBlobCreated(w, c.name, d)
			return nil
		}
	}
	if q.Has("digest") {
		return r.monolithicUpload(w, req, c)
	}
	u, err := r.newUpload(c.name, true)
	if err != nil {
		return err
	}
	writeUploadStatus(w, u, http.StatusAccepted)
	return nil
}

func (r *Registry) monolithicUpload(w http.ResponseWriter, req *http.Request, c *call) error {
	d, err := queryDigest(req.URL.Query())
	if err != nil {
		return err
	}
	u, err := r.newUpload(c.name, false)
	if err != nil {
		return err
	}
	defer u.discard() // no-op once committed
	if err := r.complete(req, c, u, d); err != nil {
		return err
	}
	writeBlobCreated(w, c.name, d)
	return nil
}

// complete appends the request body, checks the digest and commits the blob.
// On a digest mismatch the session is over: the client starts again.
// Caller holds u.mu (or owns an unregistered u).
func (r *Registry) complete(req *http.Request, c *call, u *upload, d digest) error {
	if err := u.write(req); err != nil {
		return err
	}
	ok, err := u.verify(d)
	if err != nil {
		return err
	}
	if !ok {
		got := "sha256:" + hex.EncodeToString(u.hash.Sum(nil))
		u.discard()
		return &apiError{Status: http.StatusBadRequest, Code: codeDigestInvalid,
			Message: fmt.Sprintf("uploaded content does not match digest %s (the %d bytes received hash to %s)", d, u.size, got),
			Detail:  map[string]string{"expected": d.String(), "received": got}}
	}
	return r.commitUpload(c.repo, u, d)
}

// commitUpload moves the upload into the blob store and links it into repo.
func (r *Registry) commitUpload(rp *repository, u *upload, d digest) error {
	name := u.file.Name()
	if err := u.file.Close(); err != nil {
		return fmt.Errorf("closing upload: %w", err)
	}
	u.file = nil
	defer os.Remove(name) // only still there if the rename did not happen
	return r.withBlobLink(rp, func() error {
		dst := r.blobPath(d)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("creating blob directory: %w", err)
		}
		// Same digest, same bytes: if a concurrent push got there first,
		// replacing its file is harmless and readers keep their open file.
		if err := os.Rename(name, dst); err != nil {
			return fmt.Errorf("storing blob %s: %w", d, err)
		}
		return r.writeFileAtomic(r.layerLink(rp.name, d), []byte(d.String()))
	})
}

// withBlobLink runs fn, which writes blobs and links them into rp, under the
// locks that keep it safe from GarbageCollect and DeleteRepository.
func (r *Registry) withBlobLink(rp *repository, fn func() error) error {
	r.gcMu.RLock()
	defer r.gcMu.RUnlock()
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.deleted {
		return errNameUnknown(rp.name)
	}
	return fn()
}

// tryMount links blob mount into c's repository from repository from, or,
// without from, from any repository that has it and that the subject may pull
// (the spec's automatic content discovery). When the blob cannot be mounted it
// reports false and the caller falls back to a normal upload, as the spec asks.
func (r *Registry) tryMount(req *http.Request, c *call, mount, from string) (digest, bool, error) {
	d, err := parseDigest(mount)
	if err != nil {
		return d, false, nil
	}
	sources := []string{from}
	if from == "" {
		sources = r.repoNames()
	}
	for _, src := range sources {
		ok, err := r.mountableFrom(req, src, d)
		if err != nil {
			return d, false, err
		}
		if ok {
			return r.linkMounted(c, d)
		}
	}
	return d, false, nil
}

// mountableFrom reports whether repository src holds blob d and the subject
// may pull it.
func (r *Registry) mountableFrom(req *http.Request, src string, d digest) (bool, error) {
	if ValidateRepositoryName(src) != nil || r.lookup(src) == nil {
		return false, nil
	}
	if ok, err := r.hasBlob(src, d); err != nil || !ok {
		return false, err
	}
	if _, err := r.authorizeRequest(req, src, Pull); err != nil {
		r.log.DebugContext(req.Context(), "cross-repository mount not allowed", "from", src, "err", err)
		return false, nil
	}
	return true, nil
}

// linkMounted links blob d into c's repository; false if it was collected meanwhile.
func (r *Registry) linkMounted(c *call, d digest) (digest, bool, error) {
	err := r.withBlobLink(c.repo, func() error {
		if ok, err := fileExists(r.blobPath(d)); err != nil || !ok {
			return errors.Join(err, errBlobUnknown(d)) // collected meanwhile
		}
		return r.writeFileAtomic(r.layerLink(c.name, d), []byte(d.String()))
	})
	var ae *apiError
	if errors.As(err, &ae) && ae.Code == codeBlobUnknown {
		return d, false, nil
	}
	return d, err == nil, err
}

func (r *Registry) getUpload(w http.ResponseWriter, req *http.Request, c *call) error {
	u, err := r.session(c.name, c.ref)
	if err != nil {
		return err
	}
	defer u.mu.Unlock()
	writeUploadStatus(w, u, http.StatusNoContent)
	return nil
}

func (r *Registry) patchUpload(w http.ResponseWriter, req *http.Request, c *call) error {
	u, err := r.session(c.name, c.ref)
	if err != nil {
		return err
	}
	defer u.mu.Unlock()
	if err := u.write(req); err != nil {
		return err
	}
	writeUploadStatus(w, u, http.StatusAccepted)
	return nil
}

func (r *Registry) putUpload(w http.ResponseWriter, req *http.Request, c *call) error {
	d, err := queryDigest(req.URL.Query())
	if err != nil {
		return err
	}
	u, err := r.session(c.name, c.ref)
	if err != nil {
		return err
	}
	defer u.mu.Unlock()
	err = r.complete(req, c, u, d)
	if u.file == nil { // committed, or discarded after a digest mismatch
		r.forget(u)
	}
	if err != nil {
		return err
	}
	writeBlobCreated(w, c.name, d)
	return nil
}

func (r *Registry) deleteUpload(w http.ResponseWriter, req *http.Request, c *call) error {
	u, err := r.session(c.name, c.ref)
	if err != nil {
		return err
	}
	defer u.mu.Unlock()
	u.discard()
	r.forget(u)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
