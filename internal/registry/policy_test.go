package registry

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestPushToMissingRepository(t *testing.T) {
	env := newEnv(t, Options{})
	err := remote.Write(env.ref(t, "dev/orders:v1"), randomImage(t), noRetry)
	msg := wantRegistryError(t, err, http.StatusNotFound, codeNameUnknown)
	if !strings.Contains(msg, "dev/orders") || !strings.Contains(msg, "ECRRequest") {
		t.Errorf("got message %q, want it to name the repository and say to request it with an ECRRequest", msg)
	}
	_, err = remote.Image(env.ref(t, "dev/orders:v1"), noRetry)
	wantRegistryError(t, err, http.StatusNotFound, codeNameUnknown)
}

func TestTagImmutability(t *testing.T) {
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{TagImmutability: true})
	first, second := randomImage(t), randomImage(t)
	if err := remote.Write(env.ref(t, "dev/orders:v1"), first); err != nil {
		t.Fatal(err)
	}
	err := remote.Write(env.ref(t, "dev/orders:v1"), second, noRetry)
	msg := wantRegistryError(t, err, http.StatusBadRequest, codeDenied)
	if !strings.Contains(msg, "immutable") || !strings.Contains(msg, digestString(t, first)) {
		t.Errorf("got message %q, want it to say the tag is immutable and where it points", msg)
	}
	// Re-pushing the same image and pushing the new one under a new tag are fine.
	if err := remote.Write(env.ref(t, "dev/orders:v1"), first); err != nil {
		t.Errorf("re-push of the same image to v1: %v", err)
	}
	if err := remote.Write(env.ref(t, "dev/orders:v2"), second); err != nil {
		t.Errorf("push to a new tag: %v", err)
	}
	got, err := crane.Digest(env.host+"/dev/orders:v1", crane.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if want := digestString(t, first); got != want {
		t.Errorf("v1 points to %s, want it unmoved at %s", got, want)
	}

	// Without immutability the same move succeeds.
	env.create(t, "dev/mutable", RepoSettings{})
	if err := remote.Write(env.ref(t, "dev/mutable:v1"), first); err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(env.ref(t, "dev/mutable:v1"), second); err != nil {
		t.Errorf("moving a mutable tag: %v", err)
	}
}

func TestMaxImages(t *testing.T) {
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{MaxImages: 1})
	first := randomImage(t)
	if err := remote.Write(env.ref(t, "dev/orders:v1"), first); err != nil {
		t.Fatal(err)
	}
	err := remote.Write(env.ref(t, "dev/orders:v2"), randomImage(t), noRetry)
	msg := wantRegistryError(t, err, http.StatusBadRequest, codeDenied)
	if !strings.Contains(msg, "maxImages 1") {
		t.Errorf("got message %q, want it to explain the image limit", msg)
	}
	// Tagging an image already in the repository adds no image.
	if err := remote.Write(env.ref(t, "dev/orders:stable"), first); err != nil {
		t.Errorf("re-tagging an existing image: %v", err)
	}
	// Raising the limit through CreateRepository lets the push through.
	env.create(t, "dev/orders", RepoSettings{MaxImages: 2})
	if err := remote.Write(env.ref(t, "dev/orders:v2"), randomImage(t)); err != nil {
		t.Errorf("push after raising the limit: %v", err)
	}
}

func TestDeleteRepository(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{MaxImages: 3})
	if err := remote.Write(env.ref(t, "dev/orders:v1"), randomImage(t)); err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // idempotent
		if err := env.reg.DeleteRepository(ctx, "dev/orders"); err != nil {
			t.Fatalf("delete %d: %v", i+1, err)
		}
	}
	_, err := remote.Image(env.ref(t, "dev/orders:v1"), noRetry)
	wantRegistryError(t, err, http.StatusNotFound, codeNameUnknown)
	if _, ok, err := env.reg.Repository(ctx, "dev/orders"); ok || err != nil {
		t.Errorf("Repository after delete: ok=%v err=%v, want not found", ok, err)
	}
	if err := env.reg.DeleteRepository(ctx, "Not Valid"); err == nil {
		t.Error("DeleteRepository with an invalid name succeeded, want an error")
	}

	// A repository created again under the name starts empty.
	env.create(t, "dev/orders", RepoSettings{})
	tags, err := remote.List(env.repo(t, "dev/orders"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 0 {
		t.Errorf("tags of the re-created repository %v, want none", tags)
	}
	info, _, err := env.reg.Repository(ctx, "dev/orders")
	if err != nil {
		t.Fatal(err)
	}
	if info.Settings.MaxImages != 0 || info.Images != 0 {
		t.Errorf("re-created repository %+v, want fresh settings and no images", info)
	}
}

func TestDeleteManifest(t *testing.T) {
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{})
	img := randomImage(t)
	for _, tag := range []string{"v1", "v1.0", "latest"} {
		if err := remote.Write(env.ref(t, "dev/orders:"+tag), img); err != nil {
			t.Fatal(err)
		}
	}
	dg := digestString(t, img)

	if err := remote.Delete(env.ref(t, "dev/orders:latest")); err != nil {
		t.Fatalf("delete tag: %v", err)
	}
	if tags := listTags(t, env, "dev/orders"); !slices.Equal(tags, []string{"v1", "v1.0"}) {
		t.Errorf("tags after deleting latest %v, want [v1 v1.0]", tags)
	}
	if _, err := remote.Image(env.ref(t, "dev/orders@"+dg)); err != nil {
		t.Errorf("image after deleting a tag: %v, want still pullable by digest", err)
	}

	if err := remote.Delete(env.ref(t, "dev/orders@"+dg)); err != nil {
		t.Fatalf("delete by digest: %v", err)
	}
	if tags := listTags(t, env, "dev/orders"); len(tags) != 0 {
		t.Errorf("tags after deleting the manifest %v, want none left pointing at nothing", tags)
	}
	_, err := remote.Image(env.ref(t, "dev/orders@"+dg), noRetry)
	wantRegistryError(t, err, http.StatusNotFound, "")
	err = remote.Delete(env.ref(t, "dev/orders:v1"), noRetry)
	wantRegistryError(t, err, http.StatusNotFound, codeManifestUnknown)
}

func listTags(t *testing.T, env *testEnv, repo string) []string {
	t.Helper()
	tags, err := remote.List(env.repo(t, repo))
	if err != nil {
		t.Fatal(err)
	}
	return tags
}

func TestOnPushEvents(t *testing.T) {
	var mu sync.Mutex
	var events []PushEvent
	env := newEnv(t, Options{
		Authorize: func(*http.Request, string, Access) (string, error) { return "alice", nil },
		OnPush: func(_ context.Context, ev PushEvent) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, ev)
		},
	})
	env.create(t, "dev/orders", RepoSettings{ScanOnPush: true})
	img := randomImage(t)
	if err := remote.Write(env.ref(t, "dev/orders:v1"), img); err != nil {
		t.Fatal(err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 1 {
		t.Fatalf("got %d push events, want 1: %+v", len(events), events)
	}
	ev := events[0]
	want := PushEvent{Repository: "dev/orders", Tag: "v1", Digest: digestString(t, img),
		MediaType: mediaDockerManifest, Size: int64(len(raw)), Subject: "alice", Scan: ScanNotAvailable}
	got := ev
	got.Time = want.Time
	if got != want {
		t.Errorf("got event %+v, want %+v", got, want)
	}
	if ev.Time.IsZero() {
		t.Error("event time is zero")
	}
}
