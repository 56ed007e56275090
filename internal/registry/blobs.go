package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"time"
)

// hasBlob reports whether repository name may serve blob d: it was uploaded
// or mounted into the repository (or is one of its manifests) and its bytes
// are still in the blob store.
func (r *Registry) hasBlob(name string, d digest) (bool, error) {
	linked, err := fileExists(r.layerLink(name, d))
	if err == nil && !linked {
		linked, err = fileExists(r.revisionLink(name, d))
	}
	if err != nil || !linked {
		return false, err
	}
	return fileExists(r.blobPath(d))
}

func blobDigest(ref string) (digest, error) {
	d, err := parseDigest(ref)
	if err != nil {
		return digest{}, newAPIError(http.StatusBadRequest, codeDigestInvalid, "%s", err.Error())
	}
	return d, nil
}

// getBlob serves HEAD and GET, with Range support from http.ServeContent.
func (r *Registry) getBlob(w http.ResponseWriter, req *http.Request, c *call) error {
	d, err := blobDigest(c.ref)
	if err != nil {
		return err
	}
	ok, err := r.hasBlob(c.name, d)
	if err != nil {
		return fmt.Errorf("looking up blob %s: %w", d, err)
	}
	if !ok {
		return errBlobUnknown(d)
	}
	f, err := os.Open(r.blobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return errBlobUnknown(d) // collected since the check
	}
	if err != nil {
		return fmt.Errorf("opening blob %s: %w", d, err)
	}
	defer f.Close()
	h := w.Header()
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", `"`+d.String()+`"`)
	// Content-addressed bytes never change.
	h.Set("Cache-Control", "max-age=31536000, immutable")
	http.ServeContent(w, req, "", time.Time{}, f)
	return nil
}

// deleteBlob unlinks the blob from the repository; its bytes stay until
// GarbageCollect finds no repository linking them.
func (r *Registry) deleteBlob(w http.ResponseWriter, req *http.Request, c *call) error {
	d, err := blobDigest(c.ref)
	if err != nil {
		return err
	}
	err = r.withRepo(c.repo, func() error {
		err := os.Remove(r.layerLink(c.name, d))
		if errors.Is(err, fs.ErrNotExist) {
			return errBlobUnknown(d)
		}
		return err
	})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// withRepo runs fn holding rp's lock, failing if rp was deleted meanwhile.
func (r *Registry) withRepo(rp *repository, fn func() error) error {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.deleted {
		return errNameUnknown(rp.name)
	}
	return fn()
}
