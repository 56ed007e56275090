package registry

import (
	"context"
	"slices"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	orasregistry "oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
)

// orasRepo is oras-go's client for repo on env, as the oras CLI builds it.
func orasRepo(t *testing.T, env *testEnv, repo string) *remote.Repository {
	t.Helper()
	r, err := remote.NewRepository(env.host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	r.PlainHTTP = true
	return r
}

// What `oras attach` and `oras discover` do, with the library they are built
// on: attach an SBOM and a signature to an image, then find them through the
// referrers API, with no fallback to the referrers tag schema.
func TestOrasAttachAndDiscover(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, Options{})
	env.create(t, "dev/orders", RepoSettings{})
	config := env.putBlob(t, "dev/orders", []byte("{}"))
	env.putManifest(t, "dev/orders", "v1", mediaOCIManifest, imageManifest(mediaOCIManifest, config))

	repo := orasRepo(t, env, "dev/orders")
	subject, err := repo.Resolve(ctx, "v1")
	if err != nil {
		t.Fatalf("resolving v1: %v", err)
	}
	attached := map[string]ocispec.Descriptor{}
	for _, a := range []struct{ artifactType, content string }{
		{"application/vnd.example.sbom.v1", `{"packages":[]}`},
		{"application/vnd.example.signature.v1", "signature bytes"},
	} {
		layer, err := oras.PushBytes(ctx, repo, "application/octet-stream", []byte(a.content))
		if err != nil {
			t.Fatalf("pushing the %s blob: %v", a.artifactType, err)
		}
		desc, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, a.artifactType, oras.PackManifestOptions{
			Subject: &subject, Layers: []ocispec.Descriptor{layer},
			ManifestAnnotations: map[string]string{ocispec.AnnotationCreated: "2026-01-02T03:04:05Z", "org.example.tool": "test"},
		})
		if err != nil {
			t.Fatalf("attaching %s: %v", a.artifactType, err)
		}
		attached[desc.Digest.String()] = desc
	}

	// No referrers tag (sha256-<hex>) was pushed: oras saw OCI-Subject and
	// left the index to the registry.
	var tags []string
	if err := repo.Tags(ctx, "", func(ts []string) error { tags = append(tags, ts...); return nil }); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(tags, func(s string) bool { return strings.HasPrefix(s, "sha256-") }) {
		t.Errorf("tags %v include a referrers tag: oras fell back to the tag schema", tags)
	}

	// A fresh client, as `oras discover` is: it learns the API's support from the answer.
	discover := orasRepo(t, env, "dev/orders")
	found, err := orasregistry.Referrers(ctx, discover, subject, "")
	if err != nil {
		t.Fatalf("discovering referrers: %v", err)
	}
	if len(found) != len(attached) {
		t.Fatalf("discovered %d referrers, want the %d attached: %+v", len(found), len(attached), found)
	}
	for _, got := range found {
		want, ok := attached[got.Digest.String()]
		if !ok || got.ArtifactType != want.ArtifactType || got.Size != want.Size || got.Annotations["org.example.tool"] != "test" {
			t.Errorf("discovered %+v, want one of the attached artifacts with its artifactType and annotations", got)
		}
	}
	sboms, err := orasregistry.Referrers(ctx, discover, subject, "application/vnd.example.sbom.v1")
	if err != nil {
		t.Fatal(err)
	}
	if len(sboms) != 1 || sboms[0].ArtifactType != "application/vnd.example.sbom.v1" {
		t.Errorf("discovering SBOMs: got %+v, want the one SBOM", sboms)
	}

	// The artifacts pull back as attached.
	for _, desc := range attached {
		if _, _, err := oras.FetchBytes(ctx, discover, desc.Digest.String(), oras.DefaultFetchBytesOptions); err != nil {
			t.Errorf("fetching attached %s: %v", desc.Digest, err)
		}
	}
}
