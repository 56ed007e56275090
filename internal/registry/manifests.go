package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Manifest media types the registry accepts.
const (
	mediaOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	mediaOCIIndex       = "application/vnd.oci.image.index.v1+json"
	mediaDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mediaDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
)

func isIndexType(mt string) bool { return mt == mediaOCIIndex || mt == mediaDockerList }

func supportedManifestType(mt string) bool {
	switch mt {
	case mediaOCIManifest, mediaOCIIndex, mediaDockerManifest, mediaDockerList:
		return true
	}
	return false
}

// descriptor is the part of an OCI descriptor the registry checks.
type descriptor struct {
	MediaType string   `json:"mediaType"`
	Digest    string   `json:"digest"`
	Size      int64    `json:"size"`
	URLs      []string `json:"urls,omitempty"`
}

// manifestJSON covers image manifests and indexes of both OCI and Docker.
type manifestJSON struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *descriptor       `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Manifests     []descriptor      `json:"manifests"`
	Subject       *descriptor       `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
}

// reference is a descriptor a manifest points at, with where it appears (for
// error messages) and whether it must be a manifest (index children) or a blob.
type reference struct {
	field      string
	digest     digest
	isManifest bool
	external   bool // has URLs: a foreign/non-distributable layer need not be pushed
}

// parsedManifest is a validated manifest.
type parsedManifest struct {
	mediaType string
	refs      []reference
	// subject is the manifest this one refers to (an OCI manifest's or
	// index's subject field), nil when there is none.
	subject *digest
	// artifactType and annotations are what the referrers API lists for it.
	artifactType string
	annotations  map[string]string
}

func manifestInvalid(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, codeManifestInvalid, format, args...)
}

// parseManifest validates body as a manifest of a supported type and returns
// what it references. contentType is the PUT's Content-Type header.
func parseManifest(contentType string, body []byte) (parsedManifest, error) {
	var m manifestJSON
	if err := json.Unmarshal(body, &m); err != nil {
		return parsedManifest{}, manifestInvalid("manifest is not valid JSON: %v", err)
	}
	mt, err := manifestMediaType(contentType, m)
	if err != nil {
		return parsedManifest{}, err
	}
	if m.SchemaVersion != 2 {
		return parsedManifest{}, manifestInvalid("schemaVersion is %d: only schema version 2 manifests are supported", m.SchemaVersion)
	}
	pm := parsedManifest{mediaType: mt, artifactType: m.ArtifactType, annotations: m.Annotations}
	if err := pm.setSubject(m); err != nil {
		return parsedManifest{}, err
	}
	if isIndexType(mt) {
		if m.Manifests == nil {
			return parsedManifest{}, manifestInvalid("an index (%s) needs a manifests array", mt)
		}
		for i, d := range m.Manifests {
			ref, err := toReference(fmt.Sprintf("manifests[%d]", i), d, true)
			if err != nil {
				return parsedManifest{}, err
			}
			pm.refs = append(pm.refs, ref)
		}
		return pm, nil
	}
	if m.Config == nil {
		return parsedManifest{}, manifestInvalid("an image manifest (%s) needs a config descriptor", mt)
	}
	if pm.artifactType == "" {
		pm.artifactType = m.Config.MediaType // what the referrers API reports for an image without artifactType
	}
	ref, err := toReference("config", *m.Config, false)
	if err != nil {
		return parsedManifest{}, err
	}
	pm.refs = append(pm.refs, ref)
	for i, d := range m.Layers {
		ref, err := toReference(fmt.Sprintf("layers[%d]", i), d, false)
		if err != nil {
			return parsedManifest{}, err
		}
		pm.refs = append(pm.refs, ref)
	}
	return pm, nil
}

// manifestMediaType decides the manifest's type from the Content-Type header
// and the mediaType field, which must agree when both are given.
func manifestMediaType(contentType string, m manifestJSON) (string, error) {
	ct := ""
	if contentType != "" {
		parsed, _, err := mime.ParseMediaType(contentType)
		if err != nil {
			return "", manifestInvalid("Content-Type %q is malformed: %v", contentType, err)
		}
		if parsed != "application/json" && parsed != "application/octet-stream" {
			ct = parsed
		}
	}
	if ct != "" && m.MediaType != "" && ct != m.MediaType {
		return "", manifestInvalid("Content-Type %s does not match the manifest's mediaType %s", ct, m.MediaType)
	}
	mt := ct
	switch {
	case mt == "" && m.MediaType != "":
		mt = m.MediaType
	case mt == "" && m.Manifests != nil:
		mt = mediaOCIIndex
	case mt == "" && m.Config != nil:
		mt = mediaOCIManifest
	case mt == "":
		return "", manifestInvalid("cannot tell the manifest type: set Content-Type or mediaType")
	}
	if !supportedManifestType(mt) {
		return "", manifestInvalid("manifest media type %q is not supported: use %s, %s, %s or %s",
			mt, mediaOCIManifest, mediaOCIIndex, mediaDockerManifest, mediaDockerList)
	}
	return mt, nil
}

func toReference(field string, d descriptor, isManifest bool) (reference, error) {
	dg, err := parseDigest(d.Digest)
	if err != nil {
		return reference{}, manifestInvalid("%s.digest: %v", field, err)
	}
	if d.Size < 0 {
		return reference{}, manifestInvalid("%s.size is %d: it must not be negative", field, d.Size)
	}
	return reference{field: field, digest: dg, isManifest: isManifest, external: len(d.URLs) > 0}, nil
}

func digestOf(alg string, body []byte) digest {
	if alg == "sha512" {
		s := sha512.Sum512(body)
		return digest{Algorithm: alg, Hex: hex.EncodeToString(s[:])}
	}
	s := sha256.Sum256(body)
	return digest{Algorithm: "sha256", Hex: hex.EncodeToString(s[:])}
}

// readManifestBody reads at most the manifest limit, so a client cannot make
// the registry buffer an arbitrary body.
func (r *Registry) readManifestBody(req *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(req.Body, r.maxManifestBytes+1))
	if err != nil {
		return nil, newAPIError(http.StatusBadRequest, codeManifestInvalid, "reading manifest: %v", err)
	}
	if int64(len(body)) > r.maxManifestBytes {
		return nil, newAPIError(http.StatusRequestEntityTooLarge, codeSizeInvalid,
			"manifest is larger than the %d-byte limit", r.maxManifestBytes)
	}
	return body, nil
}

// maxTagParams bounds the ?tag= parameters of one push; the spec asks for
// at least 10 and lets a registry answer 414 beyond its limit.
const maxTagParams = 100

// manifestTarget works out the digest a PUT stores under and the tags it
// sets: the tag in the URL and any ?tag= query parameters, which is how a
// push by digest tags the manifest in the same request.
func manifestTarget(ref string, q url.Values, body []byte) (digest, []string, error) {
	params := q["tag"]
	if len(params) > maxTagParams {
		return digest{}, nil, newAPIError(http.StatusRequestURITooLong, codeUnsupported,
			"%d tag query parameters: at most %d tags can be pushed in one request", len(params), maxTagParams)
	}
	var tags []string
	add := func(tag, where string) error {
		if err := validateTag(tag); err != nil {
			return manifestInvalid("%s: %v", where, err)
		}
		if !slices.Contains(tags, tag) {
			tags = append(tags, tag)
		}
		return nil
	}
	var d digest
	if isDigest(ref) {
		var err error
		if d, err = parseDigest(ref); err != nil {
			return digest{}, nil, newAPIError(http.StatusBadRequest, codeDigestInvalid, "%s", err.Error())
		}
		if got := digestOf(d.Algorithm, body); got != d {
			return digest{}, nil, newAPIError(http.StatusBadRequest, codeDigestInvalid,
				"manifest digest is %s, not %s as in the URL", got, d)
		}
	} else {
		if err := add(ref, "the tag in the URL"); err != nil {
			return digest{}, nil, err
		}
		d = digestOf("sha256", body)
	}
	for _, tag := range params {
		if err := add(tag, "query parameter tag"); err != nil {
			return digest{}, nil, err
		}
	}
	return d, tags, nil
}

func (r *Registry) putManifest(w http.ResponseWriter, req *http.Request, c *call) error {
	body, err := r.readManifestBody(req)
	if err != nil {
		return err
	}
	pm, err := parseManifest(req.Header.Get("Content-Type"), body)
	if err != nil {
		return err
	}
	d, tags, err := manifestTarget(c.ref, req.URL.Query(), body)
	if err != nil {
		return err
	}
	settings, err := r.storeManifest(c.repo, pm, d, tags, body)
	if err != nil {
		return err
	}
	r.log.InfoContext(req.Context(), "manifest pushed", "repository", c.name, "tags", tags,
		"digest", d.String(), "subject", c.subject)
	r.notifyPush(req.Context(), c, pm, d, tags, int64(len(body)), settings)
	h := w.Header()
	h.Set("Location", "/v2/"+c.name+"/manifests/"+d.String())
	h.Set("Docker-Content-Digest", d.String())
	if pm.subject != nil {
		// Tells the client the registry indexed the subject, so it need not
		// maintain the referrers tag schema itself.
		h.Set("OCI-Subject", pm.subject.String())
	}
	if len(tags) > 0 {
		h.Set("OCI-Tag", strings.Join(tags, ", "))
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// notifyPush sends one push event per tag (one untagged event for a push by
// digest without tags), so an image watcher sees every tag it might follow.
func (r *Registry) notifyPush(ctx context.Context, c *call, pm parsedManifest, d digest, tags []string, size int64, settings RepoSettings) {
	if r.onPush == nil {
		return
	}
	ev := PushEvent{Repository: c.name, Digest: d.String(), MediaType: pm.mediaType,
		Size: size, Subject: c.subject, Time: time.Now().UTC()}
	if settings.ScanOnPush {
		ev.Scan = ScanNotAvailable
	}
	if len(tags) == 0 {
		r.onPush(ctx, ev)
	}
	for _, tag := range tags {
		ev.Tag = tag
		r.onPush(ctx, ev)
	}
}

// storeManifest checks the repository's policies and the manifest's
// references and stores it, all under the repository lock so two pushes
// cannot both slip under MaxImages or both claim an immutable tag. It returns
// the settings it enforced.
func (r *Registry) storeManifest(rp *repository, pm parsedManifest, d digest, tags []string, body []byte) (RepoSettings, error) {
	var settings RepoSettings
	err := r.withBlobLink(rp, func() error {
		settings = rp.meta.Settings
		if err := r.checkReferences(rp.name, pm.refs); err != nil {
			return err
		}
		if err := r.checkPolicies(rp, d, tags); err != nil {
			return err
		}
		return r.writeManifest(rp.name, pm, d, tags, body)
	})
	return settings, err
}

// checkReferences makes sure every blob and child manifest the manifest
// points at is in the repository, so a pull of what was pushed cannot fail.
func (r *Registry) checkReferences(name string, refs []reference) error {
	for _, ref := range refs {
		var ok bool
		var err error
		kind := "blob"
		if ref.isManifest {
			kind = "manifest"
			ok, err = fileExists(r.revisionLink(name, ref.digest))
		} else {
			ok, err = r.hasBlob(name, ref.digest)
		}
		if err != nil {
			return fmt.Errorf("checking %s %s: %w", kind, ref.digest, err)
		}
		if !ok && !ref.external {
			return &apiError{Status: http.StatusBadRequest, Code: codeManifestBlobUnknown,
				Message: fmt.Sprintf("manifest references %s %s (%s) which is not in repository %s: push it first",
					kind, ref.digest, ref.field, name),
				Detail: map[string]string{"digest": ref.digest.String()}}
		}
	}
	return nil
}

// checkPolicies enforces MaxImages and tag immutability for every tag of the
// push, before anything is written. Caller holds rp.mu.
func (r *Registry) checkPolicies(rp *repository, d digest, tags []string) error {
	s := rp.meta.Settings
	known, err := fileExists(r.revisionLink(rp.name, d))
	if err != nil {
		return fmt.Errorf("looking up manifest %s: %w", d, err)
	}
	if !known && s.MaxImages > 0 {
		revs, err := listDigests(filepath.Join(r.repoDir(rp.name), manifestsDir, "revisions"))
		if err != nil {
			return fmt.Errorf("counting images: %w", err)
		}
		if len(revs) >= s.MaxImages {
			return newAPIError(http.StatusBadRequest, codeDenied,
				"repository %s already holds %d images, its limit (maxImages %d): delete an image or raise the limit in the ECRRequest",
				rp.name, len(revs), s.MaxImages)
		}
	}
	if !s.TagImmutability {
		return nil
	}
	for _, tag := range tags {
		current, found, err := r.readTag(rp.name, tag)
		if err != nil {
			return err
		}
		if found && current != d {
			return newAPIError(http.StatusBadRequest, codeDenied,
				"tag %s in repository %s is immutable and already points to %s: push under a new tag",
				tag, rp.name, current)
		}
	}
	return nil
}

// writeManifest stores the bytes, then its referrer entry, then the revision
// link, then the tags, so a reader that finds a tag always finds the manifest
// and a referrer entry is listed only once its manifest exists (a crash
// between the two leaves an entry that listings skip). Caller holds rp.mu.
func (r *Registry) writeManifest(name string, pm parsedManifest, d digest, tags []string, body []byte) error {
	if ok, err := fileExists(r.blobPath(d)); err != nil || !ok {
		if err := r.writeFileAtomic(r.blobPath(d), body); err != nil {
			return err
		}
	}
	if err := r.writeReferrer(name, pm, d, int64(len(body))); err != nil {
		return err
	}
	rev := revision{Digest: d.String(), MediaType: pm.mediaType, Size: int64(len(body))}
	if err := r.writeJSONAtomic(r.revisionLink(name, d), rev); err != nil {
		return err
	}
	for _, tag := range tags {
		if err := r.writeFileAtomic(filepath.Join(r.tagsDir(name), tag), []byte(d.String())); err != nil {
			return err
		}
	}
	return nil
}

// readTag returns the digest tag points to in repository name.
func (r *Registry) readTag(name, tag string) (digest, bool, error) {
	data, err := os.ReadFile(filepath.Join(r.tagsDir(name), tag))
	if errors.Is(err, fs.ErrNotExist) {
		return digest{}, false, nil
	}
	if err != nil {
		return digest{}, false, fmt.Errorf("reading tag %s: %w", tag, err)
	}
	d, err := parseDigest(strings.TrimSpace(string(data)))
	if err != nil {
		return digest{}, false, fmt.Errorf("tag %s of %s is corrupt: %w", tag, name, err)
	}
	return d, true, nil
}

// resolve turns a manifest reference (tag or digest) into a digest.
func (r *Registry) resolve(name, ref string) (digest, error) {
	if isDigest(ref) {
		return blobDigest(ref)
	}
	if err := validateTag(ref); err != nil {
		// No manifest can have this tag: the spec wants 404, not a 400.
		return digest{}, newAPIError(http.StatusNotFound, codeManifestUnknown,
			"manifest %s is not in this repository: %v", ref, err)
	}
	d, ok, err := r.readTag(name, ref)
	if err != nil {
		return digest{}, err
	}
	if !ok {
		return digest{}, errManifestUnknown(ref)
	}
	return d, nil
}

func (r *Registry) getManifest(w http.ResponseWriter, req *http.Request, c *call) error {
	d, err := r.resolve(c.name, c.ref)
	if err != nil {
		return err
	}
	rev, err := readRevision(r.revisionLink(c.name, d))
	if errors.Is(err, fs.ErrNotExist) {
		return errManifestUnknown(c.ref)
	}
	if err != nil {
		return err
	}
	body, err := os.ReadFile(r.blobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return errManifestUnknown(c.ref)
	}
	if err != nil {
		return fmt.Errorf("reading manifest %s: %w", d, err)
	}
	h := w.Header()
	h.Set("Content-Type", rev.MediaType)
	h.Set("Docker-Content-Digest", d.String())
	h.Set("ETag", `"`+d.String()+`"`)
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if req.Method != http.MethodHead {
		_, _ = io.Copy(w, bytes.NewReader(body))
	}
	return nil
}

// deleteManifest deletes a tag, or a manifest by digest together with the
// tags pointing at it (a tag must never point at nothing).
func (r *Registry) deleteManifest(w http.ResponseWriter, req *http.Request, c *call) error {
	d, err := r.resolve(c.name, c.ref)
	if err != nil {
		return err
	}
	err = r.withRepo(c.repo, func() error {
		if !isDigest(c.ref) {
			return r.removeTag(c.name, c.ref, d)
		}
		return r.removeManifest(c.name, d)
	})
	if err != nil {
		return err
	}
	r.log.InfoContext(req.Context(), "manifest deleted", "repository", c.name, "reference", c.ref, "subject", c.subject)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// removeTag removes tag if it still points at d. Caller holds the repo lock.
func (r *Registry) removeTag(name, tag string, d digest) error {
	current, ok, err := r.readTag(name, tag)
	if err != nil {
		return err
	}
	if !ok || current != d {
		return errManifestUnknown(tag) // moved or removed since resolve
	}
	return removeIfExists(filepath.Join(r.tagsDir(name), tag))
}

// removeManifest removes revision d, its tags and its referrer entry. Caller
// holds the repo lock.
func (r *Registry) removeManifest(name string, d digest) error {
	// Read before the revision goes: once unlinked, the body may be collected.
	refLink, err := r.referrerLinkOf(name, d)
	if err != nil {
		return err
	}
	err = os.Remove(r.revisionLink(name, d))
	if errors.Is(err, fs.ErrNotExist) {
		return errManifestUnknown(d.String())
	}
	if err != nil {
		return fmt.Errorf("removing manifest %s: %w", d, err)
	}
	if refLink != "" {
		if err := removeIfExists(refLink); err != nil {
			return fmt.Errorf("removing the referrer entry of %s: %w", d, err)
		}
	}
	tags, err := listNames(r.tagsDir(name))
	if err != nil {
		return fmt.Errorf("listing tags: %w", err)
	}
	for _, tag := range tags {
		if current, ok, err := r.readTag(name, tag); err == nil && ok && current == d {
			if err := removeIfExists(filepath.Join(r.tagsDir(name), tag)); err != nil {
				return fmt.Errorf("removing tag %s: %w", tag, err)
			}
		}
	}
	return nil
}
