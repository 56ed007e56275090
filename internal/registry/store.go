package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// On-disk layout under the registry directory:
//
//	blobs/<alg>/<hex[:2]>/<hex>                         content-addressed bytes (layers, configs, manifests)
//	repositories/<name>/_repo.json                      settings and creation time
//	repositories/<name>/_layers/<alg>/<hex>             the repository may serve this blob
//	repositories/<name>/_manifests/revisions/<alg>/<hex> a manifest in the repository (JSON: media type, size)
//	repositories/<name>/_manifests/tags/<tag>           the digest the tag points to
//	repositories/<name>/_manifests/referrers/...        the referrers API's entries (referrers.go)
//	uploads/<id>                                        blob uploads in progress
//	tmp/                                                temp files, renamed into place
//	trash/                                              deleted repositories, removed after the rename
//
// Internal entries start with '_' because a name component cannot, so
// repository "a" and repository "a/b" share a directory without clashing.
const (
	repoMetaFile = "_repo.json"
	layersDir    = "_layers"
	manifestsDir = "_manifests"
)

func (r *Registry) blobPath(d digest) string {
	return filepath.Join(r.dir, "blobs", d.Algorithm, d.Hex[:2], d.Hex)
}

func (r *Registry) repoDir(name string) string {
	return filepath.Join(r.dir, "repositories", filepath.FromSlash(name))
}

func (r *Registry) layerLink(name string, d digest) string {
	return filepath.Join(r.repoDir(name), layersDir, d.Algorithm, d.Hex)
}

func (r *Registry) revisionLink(name string, d digest) string {
	return filepath.Join(r.repoDir(name), manifestsDir, "revisions", d.Algorithm, d.Hex)
}

func (r *Registry) tagsDir(name string) string {
	return filepath.Join(r.repoDir(name), manifestsDir, "tags")
}

// writeFileAtomic writes data to a temp file and renames it over path, so a
// reader or a crash sees the old content or the new, never a torn file.
func (r *Registry) writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating directory for %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Join(r.dir, "tmp"), "write-*")
	if err != nil {
		return fmt.Errorf("creating temp file: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("renaming into %s: %w", path, err)
	}
	return nil
}

func (r *Registry) writeJSONAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return r.writeFileAtomic(path, data)
}

func fileExists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, err
	}
}

// removeIfExists removes path and treats "already gone" as success, which is
// what every idempotent delete wants.
func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// listNames returns the sorted names of the entries in dir; a missing dir is empty.
func listNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

// listDigests returns the digests linked under dir/<alg>/<hex>.
func listDigests(dir string) ([]digest, error) {
	algs, err := listNames(dir)
	if err != nil {
		return nil, err
	}
	var out []digest
	for _, alg := range algs {
		hexes, err := listNames(filepath.Join(dir, alg))
		if err != nil {
			return nil, err
		}
		for _, h := range hexes {
			if d, err := parseDigest(alg + ":" + h); err == nil {
				out = append(out, d)
			}
		}
	}
	return out, nil
}

// repoMeta is the content of _repo.json.
type repoMeta struct {
	Settings  RepoSettings `json:"settings"`
	CreatedAt time.Time    `json:"createdAt"`
}

// revision is the content of a manifest revision link: the media type the
// manifest was pushed with, which GET must answer with.
type revision struct {
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"`
}

func readRevision(path string) (revision, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return revision{}, err
	}
	var rev revision
	if err := json.Unmarshal(data, &rev); err != nil {
		return revision{}, fmt.Errorf("decoding manifest link %s: %w", path, err)
	}
	return rev, nil
}

// scanRepositories finds every repository under root by its _repo.json.
func scanRepositories(root string) (map[string]repoMeta, error) {
	found := map[string]repoMeta{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == root {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() && path != root && strings.HasPrefix(d.Name(), "_") {
			return filepath.SkipDir
		}
		if d.IsDir() || d.Name() != repoMetaFile {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		meta, err := readRepoMeta(path)
		if err != nil {
			return err
		}
		found[filepath.ToSlash(rel)] = meta
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scanning repositories: %w", err)
	}
	return found, nil
}

func readRepoMeta(path string) (repoMeta, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return repoMeta{}, err
	}
	var m repoMeta
	if err := json.Unmarshal(data, &m); err != nil {
		return repoMeta{}, fmt.Errorf("decoding %s: %w", path, err)
	}
	return m, nil
}
