package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// GCResult says what GarbageCollect removed.
type GCResult struct {
	Blobs int
	Bytes int64
}

// GarbageCollect removes blobs that no repository links any more (after
// DeleteRepository, a manifest DELETE or a blob DELETE). Pushes wait while it
// runs, so it never removes a blob between its upload and its link.
func (r *Registry) GarbageCollect(ctx context.Context) (GCResult, error) {
	r.gcMu.Lock()
	defer r.gcMu.Unlock()
	live, err := r.linkedDigests()
	if err != nil {
		return GCResult{}, fmt.Errorf("collecting garbage: %w", err)
	}
	var res GCResult
	root := filepath.Join(r.dir, "blobs")
	err = filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		d, err := parseDigest(filepath.Base(filepath.Dir(filepath.Dir(path))) + ":" + e.Name())
		if err != nil || live[d] {
			return nil // not ours to judge, or still linked
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if err := removeIfExists(path); err != nil {
			return err
		}
		res.Blobs++
		res.Bytes += info.Size()
		return nil
	})
	if res.Blobs > 0 {
		r.log.InfoContext(ctx, "garbage collected blobs", "blobs", res.Blobs, "bytes", res.Bytes)
	}
	if err != nil {
		return res, fmt.Errorf("collecting garbage: %w", err)
	}
	return res, nil
}

// linkedDigests returns every blob and manifest digest linked by any repository.
func (r *Registry) linkedDigests() (map[digest]bool, error) {
	live := map[digest]bool{}
	root := filepath.Join(r.dir, "repositories")
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || !e.IsDir() {
			return err
		}
		var linkDir string
		switch e.Name() {
		case layersDir:
			linkDir = path
		case manifestsDir:
			linkDir = filepath.Join(path, "revisions")
		default:
			return nil
		}
		ds, err := listDigests(linkDir)
		if err != nil {
			return err
		}
		for _, d := range ds {
			live[d] = true
		}
		return filepath.SkipDir
	})
	return live, err
}

// referencedSize sums the sizes of the manifests revs and of the unique blobs
// they reference. It is best effort: unreadable entries count zero.
func (r *Registry) referencedSize(ctx context.Context, revs []digest) int64 {
	seen := map[digest]bool{}
	var total int64
	add := func(d digest) {
		if seen[d] {
			return
		}
		seen[d] = true
		if info, err := os.Stat(r.blobPath(d)); err == nil {
			total += info.Size()
		}
	}
	for _, rev := range revs {
		if ctx.Err() != nil {
			break
		}
		add(rev)
		body, err := os.ReadFile(r.blobPath(rev))
		if err != nil {
			continue
		}
		var m manifestJSON
		if json.Unmarshal(body, &m) != nil {
			continue
		}
		descs := m.Layers
		if m.Config != nil {
			descs = append(descs, *m.Config)
		}
		for _, desc := range descs {
			if d, err := parseDigest(desc.Digest); err == nil {
				add(d)
			}
		}
	}
	return total
}
