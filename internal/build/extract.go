package build

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// maxBinaryBytes bounds what ExtractBinary writes, so a hostile or broken image cannot fill the disk.
const maxBinaryBytes = 1 << 30

// ExtractBinary pulls ref and writes its entrypoint program to destDir (created if missing) as an
// executable file named after it, returning its path. The file is written aside and renamed into
// place, so a process still running an older copy is undisturbed. The image must be for this
// machine's platform: the program is going to run here.
func ExtractBinary(ctx context.Context, ref string, auth authn.Authenticator, destDir string) (string, error) {
	if auth == nil {
		auth = authn.Anonymous
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("ref %q: %w", ref, err)
	}
	host := v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
	img, err := remote.Image(r, append(remoteOptions(ctx, auth), remote.WithPlatform(host))...)
	if err != nil {
		return "", fmt.Errorf("pulling %s: %w", ref, err)
	}
	target, err := entrypoint(img, host)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", ref, err)
	}
	if err := os.MkdirAll(destDir, 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", destDir, err)
	}
	out, err := extractFile(img, target, destDir)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", ref, err)
	}
	return out, nil
}

// entrypoint is the path, inside the image, of the program the image runs.
func entrypoint(img v1.Image, host v1.Platform) (string, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return "", fmt.Errorf("reading its config: %w", err)
	}
	if cf.OS != "" && (cf.OS != host.OS || cf.Architecture != host.Architecture) {
		return "", fmt.Errorf("it is built for %s/%s and this machine runs %s/%s", cf.OS, cf.Architecture, host.OS, host.Architecture)
	}
	argv := cf.Config.Entrypoint
	if len(argv) == 0 {
		argv = cf.Config.Cmd
	}
	if len(argv) == 0 || argv[0] == "" {
		return "", errors.New("its config has no entrypoint or command")
	}
	p := argv[0]
	if !path.IsAbs(p) {
		p = path.Join("/", cf.Config.WorkingDir, p)
	}
	return path.Clean(p), nil
}

// extractFile looks for target from the top layer down, the way a container's filesystem stacks
// them, and writes the first copy found. A whiteout above it means the image deleted it.
func extractFile(img v1.Image, target, destDir string) (string, error) {
	layers, err := img.Layers()
	if err != nil {
		return "", fmt.Errorf("listing layers: %w", err)
	}
	for i := len(layers) - 1; i >= 0; i-- {
		out, hidden, err := extractFromLayer(layers[i], target, destDir)
		if err != nil || out != "" {
			return out, err
		}
		if hidden {
			break
		}
	}
	return "", fmt.Errorf("its entrypoint %s is not in any layer", target)
}

// extractFromLayer writes target if this layer has it; hidden reports that the layer deletes it (or
// its directory), so lower layers must not be searched.
func extractFromLayer(layer v1.Layer, target, destDir string) (out string, hidden bool, err error) {
	rc, err := layer.Uncompressed()
	if err != nil {
		return "", false, fmt.Errorf("reading a layer: %w", err)
	}
	defer rc.Close()
	want := strings.TrimPrefix(target, "/")
	dir, base := path.Split(want)
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return "", hidden, nil
		}
		if err != nil {
			return "", false, fmt.Errorf("reading a layer: %w", err)
		}
		switch path.Clean(strings.TrimPrefix(hdr.Name, "./")) {
		case path.Clean(want):
			if hdr.Typeflag != tar.TypeReg {
				return "", false, fmt.Errorf("its entrypoint %s is not a regular file (tar type %q)", target, hdr.Typeflag)
			}
			out, err := writeExecutable(tr, filepath.Join(destDir, base), hdr.Size)
			return out, false, err
		case path.Join(dir, ".wh."+base), path.Join(dir, ".wh..wh..opq"):
			hidden = true
		}
	}
}

func writeExecutable(r io.Reader, dest string, size int64) (string, error) {
	if size > maxBinaryBytes {
		return "", fmt.Errorf("its entrypoint is %d bytes, more than the %d allowed", size, maxBinaryBytes)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), ".extract-*")
	if err != nil {
		return "", fmt.Errorf("writing the entrypoint: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	_, err = io.Copy(tmp, io.LimitReader(r, size))
	if err = errors.Join(err, tmp.Chmod(0o755), tmp.Close()); err != nil {
		return "", fmt.Errorf("writing the entrypoint: %w", err)
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return "", fmt.Errorf("writing the entrypoint: %w", err)
	}
	return dest, nil
}
