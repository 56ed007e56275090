package build

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's layout, as ko and distroless have it.
const (
	appDir     = "/ko-app"
	nonrootUID = 65532
	caBundle   = "/etc/ssl/certs/ca-certificates.crt"
	imagePath  = "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:" + appDir
)

// layerTime is every file's modification time: the same binary gives the same layer digest, so
// registries and runtimes keep one copy across builds.
var layerTime = time.Unix(0, 0).UTC()

const passwd = "root:x:0:0:root:/root:/sbin/nologin\n" +
	"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"

const group = "root:x:0:\nnonroot:x:65532:\n"

// assemble makes the image: an empty base plus a base-files layer, the CA bundle when this machine
// has one, and the binary last (the layer that changes on every build).
func assemble(ctx context.Context, j *job, bin, tmp string, created time.Time) (v1.Image, error) {
	type layerMaker struct {
		what string
		make func() (v1.Layer, error)
	}
	makers := []layerMaker{{"base files", func() (v1.Layer, error) { return baseFilesLayer(tmp) }}}
	if ca, err := os.ReadFile(caBundle); err == nil {
		makers = append(makers, layerMaker{"CA certificates", func() (v1.Layer, error) { return caLayer(tmp, ca) }})
	}
	makers = append(makers, layerMaker{"binary", func() (v1.Layer, error) { return binaryLayer(tmp, bin, j.binName) }})

	adds := make([]mutate.Addendum, 0, len(makers))
	for _, m := range makers {
		l, err := m.make()
		if err != nil {
			return nil, fmt.Errorf("making the %s layer: %w", m.what, err)
		}
		hist := v1.History{Created: v1.Time{Time: layerTime}, CreatedBy: "goldenpath build: " + m.what, Author: "goldenpath"}
		adds = append(adds, mutate.Addendum{Layer: l, History: hist})
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(img, adds...)
	if err != nil {
		return nil, fmt.Errorf("adding layers: %w", err)
	}
	return configure(ctx, j, img, created)
}

func configure(ctx context.Context, j *job, img v1.Image, created time.Time) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = j.platform.OS, j.platform.Architecture, j.platform.Variant
	// Created is the build time, not a fixed date: "newest build wins" policies and humans read it.
	cf.Created = v1.Time{Time: created.UTC().Truncate(time.Second)}
	cf.Author = "goldenpath"
	cf.Config = v1.Config{
		Entrypoint: []string{path.Join(appDir, j.binName)},
		User:       fmt.Sprint(nonrootUID),
		Env:        []string{"PATH=" + imagePath},
		WorkingDir: "/",
		Labels:     j.imageLabels(ctx),
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("setting the image config: %w", err)
	}
	return img, nil
}

func (j *job) imageLabels(ctx context.Context) map[string]string {
	labels := sourceLabels(ctx, j.dir)
	if j.version != "" {
		labels[labelVersion] = j.version
	}
	for k, v := range j.labels {
		labels[k] = v
	}
	return labels
}

func baseFilesLayer(tmp string) (v1.Layer, error) {
	return entriesLayer(filepath.Join(tmp, "base.tar.gz"),
		dirEntry("etc/", 0o755, 0),
		fileEntry("etc/passwd", 0o644, []byte(passwd)),
		fileEntry("etc/group", 0o644, []byte(group)),
		dirEntry("home/", 0o755, 0),
		dirEntry("home/nonroot/", 0o700, nonrootUID),
		dirEntry("tmp/", 0o1777, 0),
	)
}

func caLayer(tmp string, bundle []byte) (v1.Layer, error) {
	return entriesLayer(filepath.Join(tmp, "ca.tar.gz"),
		dirEntry("etc/", 0o755, 0),
		dirEntry("etc/ssl/", 0o755, 0),
		dirEntry("etc/ssl/certs/", 0o755, 0),
		fileEntry(caBundle[1:], 0o644, bundle),
	)
}

// binaryLayer streams the binary from disk: it can be tens of megabytes.
func binaryLayer(tmp, bin, binName string) (v1.Layer, error) {
	return writeLayer(filepath.Join(tmp, "app.tar.gz"), func(tw *tar.Writer) error {
		f, err := os.Open(bin)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(dirEntry(appDir[1:]+"/", 0o755, 0).hdr); err != nil {
			return err
		}
		if err := tw.WriteHeader(fileHeader(path.Join(appDir[1:], binName), 0o755, fi.Size())); err != nil {
			return err
		}
		_, err = io.Copy(tw, f)
		return err
	})
}

// entry is one small file or directory of a layer.
type entry struct {
	hdr  *tar.Header
	body []byte
}

func dirEntry(name string, mode int64, owner int) entry {
	return entry{hdr: &tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, Uid: owner, Gid: owner, ModTime: layerTime, Format: tar.FormatPAX}}
}

func fileEntry(name string, mode int64, body []byte) entry {
	return entry{hdr: fileHeader(name, mode, int64(len(body))), body: body}
}

func fileHeader(name string, mode, size int64) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: size, ModTime: layerTime, Format: tar.FormatPAX}
}

func entriesLayer(file string, entries ...entry) (v1.Layer, error) {
	return writeLayer(file, func(tw *tar.Writer) error {
		for _, e := range entries {
			if err := tw.WriteHeader(e.hdr); err != nil {
				return err
			}
			if _, err := tw.Write(e.body); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeLayer writes a gzipped tar to file and opens it as a layer. Compressing here, once, with
// fixed headers, makes the digest depend only on the content.
func writeLayer(file string, fill func(*tar.Writer) error) (v1.Layer, error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zw, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	if err := fill(tw); err != nil {
		return nil, err
	}
	if err := errors.Join(tw.Close(), zw.Close(), f.Close()); err != nil {
		return nil, err
	}
	return tarball.LayerFromFile(file, tarball.WithMediaType(types.OCILayer))
}
