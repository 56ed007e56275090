package registry

import (
	"fmt"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// BenchmarkPushPull pushes a fresh 3 × 1 MiB image and pulls its layers back.
func BenchmarkPushPull(b *testing.B) {
	env := newEnv(b, Options{})
	env.create(b, "bench/app", RepoSettings{})
	const layerSize = 1 << 20
	b.SetBytes(3 * layerSize)
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		img, err := random.Image(layerSize, 3)
		if err != nil {
			b.Fatal(err)
		}
		ref := env.ref(b, fmt.Sprintf("bench/app:t%d", i))
		b.StartTimer()
		if err := remote.Write(ref, img); err != nil {
			b.Fatal(err)
		}
		got, err := remote.Image(ref)
		if err != nil {
			b.Fatal(err)
		}
		drainLayers(b, got)
	}
}

func drainLayers(b *testing.B, img v1.Image) {
	layers, err := img.Layers()
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := copyBuffer(discard{}, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
