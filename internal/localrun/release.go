package localrun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/goldenpathidp/goldenpath/internal/build"
)

// resolve pins an image reference to its digest: what runs must not change under a moving tag.
func (s *Supervisor) resolve(ctx context.Context, image string) (name.Digest, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return name.Digest{}, fmt.Errorf("image %q: %w", image, err)
	}
	if d, ok := ref.(name.Digest); ok {
		return d, nil
	}
	desc, err := remote.Head(ref, remote.WithContext(ctx), remote.WithAuth(s.auth))
	if err != nil {
		return name.Digest{}, fmt.Errorf("resolving %s: %w", image, err)
	}
	return ref.Context().Digest(desc.Digest.String()), nil
}

// binaryFor returns the app's program for an image digest, extracting it unless an earlier deploy
// already did. Each digest has its own directory, written aside and renamed into place, so a
// directory that exists is complete.
func (s *Supervisor) binaryFor(ctx context.Context, a *app, d name.Digest) (string, error) {
	dir := filepath.Join(a.jail.BinDir, strings.ReplaceAll(d.DigestStr(), ":", "-"))
	if bin, ok := onlyFile(dir); ok {
		return bin, nil
	}
	tmp, err := os.MkdirTemp(a.jail.BinDir, ".pull-")
	if err != nil {
		return "", fmt.Errorf("app %s: %w", a.key, err)
	}
	defer os.RemoveAll(tmp)
	bin, err := build.ExtractBinary(ctx, d.String(), s.auth, tmp)
	if err != nil {
		return "", fmt.Errorf("app %s: %w", a.key, err)
	}
	// The app, perhaps running as its own user, runs the binary; only goldenpath may change it.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("app %s: %w", a.key, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("app %s: %w", a.key, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("app %s: %w", a.key, err)
	}
	return filepath.Join(dir, filepath.Base(bin)), nil
}

// onlyFile is the single regular file in dir, if that is what dir holds.
func onlyFile(dir string) (string, bool) {
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || !entries[0].Type().IsRegular() {
		return "", false
	}
	return filepath.Join(dir, entries[0].Name()), true
}

// pruneBinaries removes the binaries of images no longer running.
func (s *Supervisor) pruneBinaries(a *app, keep string) {
	entries, err := os.ReadDir(a.jail.BinDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if dir := filepath.Join(a.jail.BinDir, e.Name()); dir != filepath.Dir(keep) {
			if err := os.RemoveAll(dir); err != nil {
				s.log.Warn("removing an old binary", "app", a.key.String(), "error", err)
			}
		}
	}
}
