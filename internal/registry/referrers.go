package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The referrers API (distribution-spec 1.1, "Listing Referrers"):
// GET /v2/<name>/referrers/<digest> lists the manifests of the repository whose
// subject field names <digest>, so that signatures, SBOMs and other artifacts
// attached to an image (oras attach, cosign, notation) can be found without
// the referrers tag schema. Each such manifest has an entry on disk, written
// with the manifest and removed with it:
//
//	repositories/<name>/_manifests/referrers/<alg>/<hex>/<alg>/<hex>   subject → referrer: its descriptor (JSON)
//	referrers-indexed                                                  manifests pushed before the API existed are indexed
const (
	referrersDir         = "referrers" // under manifestsDir
	referrersIndexedFile = "referrers-indexed"
)

func (r *Registry) referrersOf(name string, subject digest) string {
	return filepath.Join(r.repoDir(name), manifestsDir, referrersDir, subject.Algorithm, subject.Hex)
}

func (r *Registry) referrerLink(name string, subject, d digest) string {
	return filepath.Join(r.referrersOf(name, subject), d.Algorithm, d.Hex)
}

// referrerDescriptor is an entry of a referrers list: the referrer's
// descriptor with its artifactType and annotations pulled up.
type referrerDescriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// referrersList is the OCI image index the referrers API answers with.
type referrersList struct {
	SchemaVersion int                  `json:"schemaVersion"`
	MediaType     string               `json:"mediaType"`
	Manifests     []referrerDescriptor `json:"manifests"`
}

// setSubject records the subject of an OCI manifest or index. Docker's
// manifest formats have no subject field, so one there is ignored.
func (pm *parsedManifest) setSubject(m manifestJSON) error {
	if m.Subject == nil || (pm.mediaType != mediaOCIManifest && pm.mediaType != mediaOCIIndex) {
		return nil
	}
	d, err := parseDigest(m.Subject.Digest)
	if err != nil {
		return manifestInvalid("subject.digest: %v", err)
	}
	if m.Subject.Size < 0 {
		return manifestInvalid("subject.size is %d: it must not be negative", m.Subject.Size)
	}
	pm.subject = &d
	return nil
}

// writeReferrer records manifest d as a referrer of its subject, if it has
// one. The subject need not exist: clients may push in either order. Caller
// holds the repository lock.
func (r *Registry) writeReferrer(name string, pm parsedManifest, d digest, size int64) error {
	if pm.subject == nil {
		return nil
	}
	desc := referrerDescriptor{MediaType: pm.mediaType, Digest: d.String(), Size: size,
		ArtifactType: pm.artifactType, Annotations: pm.annotations}
	if err := r.writeJSONAtomic(r.referrerLink(name, *pm.subject, d), desc); err != nil {
		return fmt.Errorf("recording %s as a referrer of %s: %w", d, pm.subject, err)
	}
	return nil
}

// referrerLinkOf returns where manifest d of repository name has its
// referrer entry, or "" when it has no subject (or is not there).
func (r *Registry) referrerLinkOf(name string, d digest) (string, error) {
	pm, ok, err := r.storedManifest(name, d)
	if err != nil || !ok || pm.subject == nil {
		return "", err
	}
	return r.referrerLink(name, *pm.subject, d), nil
}

// storedManifest parses manifest d of repository name as it was pushed; ok
// is false when the repository does not hold it.
func (r *Registry) storedManifest(name string, d digest) (parsedManifest, bool, error) {
	rev, err := readRevision(r.revisionLink(name, d))
	if errors.Is(err, fs.ErrNotExist) {
		return parsedManifest{}, false, nil
	}
	if err != nil {
		return parsedManifest{}, false, err
	}
	body, err := os.ReadFile(r.blobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return parsedManifest{}, false, nil
	}
	if err != nil {
		return parsedManifest{}, false, fmt.Errorf("reading manifest %s: %w", d, err)
	}
	pm, err := parseManifest(rev.MediaType, body)
	if err != nil {
		return parsedManifest{}, false, fmt.Errorf("parsing stored manifest %s of %s: %w", d, name, err)
	}
	return pm, true, nil
}

// referrers returns the entries for subject in repository name, sorted by
// digest. An entry whose manifest is gone (a crash between writing the entry
// and the revision) is skipped.
func (r *Registry) referrers(name string, subject digest) ([]referrerDescriptor, error) {
	ds, err := listDigests(r.referrersOf(name, subject))
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: %w", subject, err)
	}
	out := []referrerDescriptor{}
	for _, d := range ds {
		if ok, err := fileExists(r.revisionLink(name, d)); err != nil || !ok {
			if err != nil {
				return nil, fmt.Errorf("looking up referrer %s: %w", d, err)
			}
			continue
		}
		data, err := os.ReadFile(r.referrerLink(name, subject, d))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("reading referrer %s: %w", d, err)
		}
		var desc referrerDescriptor
		if err := json.Unmarshal(data, &desc); err != nil {
			return nil, fmt.Errorf("decoding referrer entry %s of %s: %w", d, subject, err)
		}
		out = append(out, desc)
	}
	slices.SortFunc(out, func(a, b referrerDescriptor) int { return strings.Compare(a.Digest, b.Digest) })
	return out, nil
}

// getReferrers serves GET /v2/<name>/referrers/<digest>[?artifactType=...].
// A list that would not fit in one index of the manifest size limit is paged
// with a Link header, continuing after the last digest (?last=).
func (r *Registry) getReferrers(w http.ResponseWriter, req *http.Request, c *call) error {
	subject, err := blobDigest(c.ref)
	if err != nil {
		return err
	}
	q := req.URL.Query()
	all, err := r.referrers(c.name, subject)
	if err != nil {
		return err
	}
	types, last := q["artifactType"], q.Get("last")
	var matching []referrerDescriptor
	for _, d := range all {
		if (len(types) == 0 || slices.Contains(types, d.ArtifactType)) && (last == "" || d.Digest > last) {
			matching = append(matching, d)
		}
	}
	list := referrersList{SchemaVersion: 2, MediaType: mediaOCIIndex, Manifests: []referrerDescriptor{}}
	size := 0
	for _, d := range matching {
		entry, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("encoding referrer %s: %w", d.Digest, err)
		}
		if len(list.Manifests) > 0 && int64(size+len(entry)+256) > r.maxManifestBytes {
			next := url.Values{"last": {list.Manifests[len(list.Manifests)-1].Digest}}
			if len(types) > 0 {
				next["artifactType"] = types
			}
			w.Header().Set("Link", fmt.Sprintf(`</v2/%s/referrers/%s?%s>; rel="next"`, c.name, subject, next.Encode()))
			break
		}
		size += len(entry) + 1
		list.Manifests = append(list.Manifests, d)
	}
	if len(types) > 0 {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	body, err := json.Marshal(list)
	if err != nil {
		return fmt.Errorf("encoding referrers: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", mediaOCIIndex)
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}

// indexReferrers gives the manifests with a subject that were pushed before
// the registry kept referrer entries one, once, as the spec asks of a
// registry enabling the referrers API (this covers the referrers tag schema's
// manifests too). It runs in New, before the registry serves anything.
func (r *Registry) indexReferrers() error {
	marker := filepath.Join(r.dir, referrersIndexedFile)
	if ok, err := fileExists(marker); err != nil || ok {
		return err
	}
	for name := range r.repos {
		revs, err := listDigests(filepath.Join(r.repoDir(name), manifestsDir, "revisions"))
		if err != nil {
			return fmt.Errorf("indexing referrers of %s: %w", name, err)
		}
		for _, d := range revs {
			pm, ok, err := r.storedManifest(name, d)
			if err != nil {
				r.log.Warn("not indexing a manifest as a referrer", "repository", name, "digest", d.String(), "err", err)
				continue
			}
			if !ok {
				continue
			}
			info, err := os.Stat(r.blobPath(d))
			if err != nil {
				return fmt.Errorf("indexing referrers of %s: %w", name, err)
			}
			if err := r.writeReferrer(name, pm, d, info.Size()); err != nil {
				return err
			}
		}
	}
	return r.writeFileAtomic(marker, []byte("1\n"))
}
