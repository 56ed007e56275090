package registry

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/crane"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func TestPushPullImage(t *testing.T) {
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{})
	ociImage := mutate.MediaType(randomImage(t), types.OCIManifestSchema1)

	tests := []struct {
		name      string
		img       v1.Image
		ref       func(img v1.Image) string
		mediaType types.MediaType
	}{
		{"docker manifest by tag", randomImage(t), func(v1.Image) string { return "dev/orders:v1" }, types.DockerManifestSchema2},
		{"oci manifest by tag", ociImage, func(v1.Image) string { return "dev/orders:oci" }, types.OCIManifestSchema1},
		{"by digest", randomImage(t), func(img v1.Image) string { return "dev/orders@" + digestString(t, img) }, types.DockerManifestSchema2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := env.ref(t, tt.ref(tt.img))
			if err := remote.Write(ref, tt.img); err != nil {
				t.Fatalf("push %s: %v", ref, err)
			}
			got, err := remote.Image(ref)
			if err != nil {
				t.Fatalf("pull %s: %v", ref, err)
			}
			if err := validate.Image(got); err != nil {
				t.Fatalf("pulled image is not intact: %v", err)
			}
			if g, w := digestString(t, got), digestString(t, tt.img); g != w {
				t.Errorf("pulled digest %s, want %s", g, w)
			}
			mt, err := got.MediaType()
			if err != nil {
				t.Fatal(err)
			}
			if mt != tt.mediaType {
				t.Errorf("pulled media type %s, want %s", mt, tt.mediaType)
			}
		})
	}
}

func TestPushPullIndex(t *testing.T) {
	env := newEnv(t, Options{})
	env.create(t, "dev/multi", RepoSettings{})
	idx, err := random.Index(1024, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	ref := env.ref(t, "dev/multi:latest")
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatalf("push index: %v", err)
	}
	for _, r := range []string{"dev/multi:latest", "dev/multi@" + digestString(t, idx)} {
		t.Run(r, func(t *testing.T) {
			got, err := remote.Index(env.ref(t, r))
			if err != nil {
				t.Fatalf("pull index: %v", err)
			}
			if err := validate.Index(got); err != nil {
				t.Fatalf("pulled index is not intact: %v", err)
			}
			if g, w := digestString(t, got), digestString(t, idx); g != w {
				t.Errorf("pulled digest %s, want %s", g, w)
			}
		})
	}
	info, ok, err := env.reg.Repository(context.Background(), "dev/multi")
	if err != nil || !ok {
		t.Fatalf("Repository: ok=%v err=%v", ok, err)
	}
	if info.Images != 4 || info.Tags != 1 {
		t.Errorf("got %d images and %d tags, want 4 images (index + 3 children) and 1 tag", info.Images, info.Tags)
	}
}

func TestPersistenceAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	first := openEnv(t, dir, Options{})
	labels := map[string]string{"goldenpath.io/request-id": "ecr.dev.orders"}
	first.create(t, "dev/orders", RepoSettings{TagImmutability: true, Labels: labels})
	img := randomImage(t)
	if err := remote.Write(first.ref(t, "dev/orders:v1"), img); err != nil {
		t.Fatal(err)
	}
	idx, err := random.Index(512, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(first.ref(t, "dev/orders:multi"), idx); err != nil {
		t.Fatal(err)
	}
	first.srv.Close()

	second := openEnv(t, dir, Options{})
	got, err := remote.Image(second.ref(t, "dev/orders:v1"))
	if err != nil {
		t.Fatalf("pull after restart: %v", err)
	}
	if err := validate.Image(got); err != nil {
		t.Fatalf("image after restart is not intact: %v", err)
	}
	gotIdx, err := remote.Index(second.ref(t, "dev/orders:multi"))
	if err != nil {
		t.Fatalf("pull index after restart: %v", err)
	}
	if err := validate.Index(gotIdx); err != nil {
		t.Fatalf("index after restart is not intact: %v", err)
	}
	tags, err := remote.List(second.repo(t, "dev/orders"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"multi", "v1"}; !slices.Equal(tags, want) {
		t.Errorf("tags after restart %v, want %v", tags, want)
	}
	info, ok, err := second.reg.Repository(context.Background(), "dev/orders")
	if err != nil || !ok {
		t.Fatalf("Repository after restart: ok=%v err=%v", ok, err)
	}
	if !info.Settings.TagImmutability || info.Settings.Labels["goldenpath.io/request-id"] != "ecr.dev.orders" {
		t.Errorf("settings after restart %+v, want immutability and the request-id label", info.Settings)
	}
	// The policy still holds: v1 cannot be moved after the restart.
	err = remote.Write(second.ref(t, "dev/orders:v1"), randomImage(t), noRetry)
	wantRegistryError(t, err, http.StatusBadRequest, codeDenied)
}

func TestRepositoryInfo(t *testing.T) {
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{ScanOnPush: true, MaxImages: 10})
	img := randomImage(t)
	for _, tag := range []string{"v1", "latest"} {
		if err := remote.Write(env.ref(t, "dev/orders:"+tag), img); err != nil {
			t.Fatal(err)
		}
	}
	info, ok, err := env.reg.Repository(context.Background(), "dev/orders")
	if err != nil || !ok {
		t.Fatalf("Repository: ok=%v err=%v", ok, err)
	}
	want := imageBytes(t, img)
	if info.Tags != 2 || info.Images != 1 || info.SizeBytes != want {
		t.Errorf("got tags=%d images=%d size=%d, want tags=2 images=1 size=%d", info.Tags, info.Images, info.SizeBytes, want)
	}
	if info.Scan != ScanNotAvailable {
		t.Errorf("got scan %q, want %q", info.Scan, ScanNotAvailable)
	}
	if info.CreatedAt.IsZero() {
		t.Error("CreatedAt is zero")
	}
}

// imageBytes is the manifest, config and layer sizes of img.
func imageBytes(t *testing.T, img v1.Image) int64 {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	size, err := img.Size()
	if err != nil {
		t.Fatal(err)
	}
	size += m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	return size
}

func TestCreateRepository(t *testing.T) {
	ctx := context.Background()
	reg, err := New(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	created, err := reg.CreateRepository(ctx, "dev/orders", RepoSettings{MaxImages: 5})
	if err != nil || !created {
		t.Fatalf("first create: created=%v err=%v, want created", created, err)
	}
	created, err = reg.CreateRepository(ctx, "dev/orders", RepoSettings{TagImmutability: true})
	if err != nil || created {
		t.Fatalf("second create: created=%v err=%v, want an update", created, err)
	}
	info, _, err := reg.Repository(ctx, "dev/orders")
	if err != nil {
		t.Fatal(err)
	}
	if !info.Settings.TagImmutability || info.Settings.MaxImages != 0 {
		t.Errorf("settings after update %+v, want the new settings", info.Settings)
	}

	bad := []struct {
		name, repo string
		s          RepoSettings
	}{
		{"invalid name", "Dev/Orders", RepoSettings{}},
		{"negative max images", "dev/x", RepoSettings{MaxImages: -1}},
		{"empty label key", "dev/y", RepoSettings{Labels: map[string]string{"": "v"}}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := reg.CreateRepository(ctx, tt.repo, tt.s); err == nil {
				t.Fatalf("CreateRepository(%q, %+v) succeeded, want an error", tt.repo, tt.s)
			}
		})
	}
	all, err := reg.Repositories(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Name != "dev/orders" {
		t.Errorf("Repositories() = %v, want only dev/orders", all)
	}
}

func TestNestedRepositories(t *testing.T) {
	env := newEnv(t, Options{})
	env.create(t, "team", RepoSettings{})
	env.create(t, "team/app", RepoSettings{})
	for _, repo := range []string{"team", "team/app"} {
		if err := remote.Write(env.ref(t, repo+":v1"), randomImage(t)); err != nil {
			t.Fatalf("push %s: %v", repo, err)
		}
	}
	if err := env.reg.DeleteRepository(context.Background(), "team"); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Image(env.ref(t, "team/app:v1")); err != nil {
		t.Errorf("team/app after deleting team: %v, want it untouched", err)
	}
	reopened, err := New(env.dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	all, err := reopened.Repositories(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Name != "team/app" {
		t.Errorf("repositories after restart %v, want only team/app", all)
	}
}

func TestConcurrentPushes(t *testing.T) {
	t.Run("same image and tag", func(t *testing.T) {
		env := newEnv(t, Options{})
		env.create(t, "dev/orders", RepoSettings{})
		img := randomImage(t)
		errs := pushAll(t, 4, func(int) error { return remote.Write(env.ref(t, "dev/orders:v1"), img) })
		for i, err := range errs {
			if err != nil {
				t.Errorf("push %d: %v", i, err)
			}
		}
		got, err := remote.Image(env.ref(t, "dev/orders:v1"))
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Image(got); err != nil {
			t.Errorf("image after concurrent pushes is not intact: %v", err)
		}
	})
	t.Run("immutable tag has one winner", func(t *testing.T) {
		env := newEnv(t, Options{})
		env.create(t, "dev/orders", RepoSettings{TagImmutability: true})
		imgs := []v1.Image{randomImage(t), randomImage(t), randomImage(t), randomImage(t)}
		errs := pushAll(t, len(imgs), func(i int) error {
			return remote.Write(env.ref(t, "dev/orders:v1"), imgs[i], noRetry)
		})
		if ok := countNil(errs); ok != 1 {
			t.Errorf("%d pushes moved the immutable tag, want exactly 1 (errors %v)", ok, errs)
		}
	})
	t.Run("max images has no overshoot", func(t *testing.T) {
		env := newEnv(t, Options{})
		env.create(t, "dev/orders", RepoSettings{MaxImages: 2})
		imgs := []v1.Image{randomImage(t), randomImage(t), randomImage(t), randomImage(t)}
		errs := pushAll(t, len(imgs), func(i int) error {
			return remote.Write(env.ref(t, "dev/orders@"+digestString(t, imgs[i])), imgs[i], noRetry)
		})
		if ok := countNil(errs); ok != 2 {
			t.Errorf("%d pushes succeeded with MaxImages 2, want exactly 2 (errors %v)", ok, errs)
		}
	})
}

func pushAll(t *testing.T, n int, push func(i int) error) []error {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = push(i) })
	}
	wg.Wait()
	return errs
}

func countNil(errs []error) int {
	n := 0
	for _, err := range errs {
		if err == nil {
			n++
		}
	}
	return n
}

func TestCraneCopyBetweenRepositories(t *testing.T) {
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{})
	env.create(t, "prod/orders", RepoSettings{})
	img := randomImage(t)
	src, dst := env.host+"/dev/orders:v1", env.host+"/prod/orders:v1"
	if err := crane.Push(img, src, crane.Insecure); err != nil {
		t.Fatal(err)
	}
	// crane copies layers with cross-repository mounts.
	if err := crane.Copy(src, dst, crane.Insecure); err != nil {
		t.Fatalf("crane copy: %v", err)
	}
	got, err := crane.Pull(dst, crane.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Fatalf("copied image is not intact: %v", err)
	}
}
