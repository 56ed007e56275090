package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	orasregistry "oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// ociRepo is oras-go's client (what `oras attach` and `oras discover` use) for repo on goldenpath's
// registry, logged in as user with an API token.
func ociRepo(t *testing.T, e *env, user, token, repo string) *remote.Repository {
	t.Helper()
	host := strings.TrimPrefix(e.app.URL(), "http://")
	r, err := remote.NewRepository(host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	r.PlainHTTP = true
	r.Client = &auth.Client{Client: e.http, Credential: auth.StaticCredential(host, auth.Credential{Username: user, Password: token})}
	return r
}

// ociAttach attaches an artifact of artifactType to subject, as `oras attach` does.
func ociAttach(ctx context.Context, r *remote.Repository, subject ocispec.Descriptor, artifactType string) (ocispec.Descriptor, error) {
	layer, err := oras.PushBytes(ctx, r, "application/octet-stream", []byte("attached by "+artifactType))
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return oras.PackManifest(ctx, r, oras.PackManifestVersion1_1, artifactType,
		oras.PackManifestOptions{Subject: &subject, Layers: []ocispec.Descriptor{layer}})
}

// ociReferrers lists subject's referrers in r through the referrers API.
func ociReferrers(t *testing.T, r *remote.Repository, subject ocispec.Descriptor) []ocispec.Descriptor {
	t.Helper()
	if err := r.SetReferrersCapability(true); err != nil { // the API only: no tag-schema fallback to hide a failure
		t.Fatal(err)
	}
	got, err := orasregistry.Referrers(context.Background(), r, subject, "")
	if err != nil {
		t.Fatalf("listing the referrers of %s: %v", subject.Digest, err)
	}
	return got
}

// Only payments (the ECR request's owner and team) may attach artifacts to payments' images: search may
// read payments' referrers, as every signed-in user may pull, but cannot push a manifest with a subject
// into payments' repository, neither with oras nor by hand.
func TestAbuseOCIReferrers(t *testing.T) {
	ctx := context.Background()
	e := start(t, startOptions{})
	c := twoTeams(e)
	name := "ledger-" + suffix()
	fileReady(e, c.alice, c.paula, "ECRRequest", name, "alice", "payments", "  size: small\n")
	repo := "dev/" + name
	pushImage(t, e, "alice", c.alice, repo, "v1", time.Now())
	subject, err := ociRepo(t, e, "alice", c.alice, repo).Resolve(ctx, "v1")
	if err != nil {
		t.Fatal(err)
	}

	// search's developer tries oras attach: refused, naming the repository and its owner.
	_, err = ociAttach(ctx, ociRepo(t, e, "seadev", c.seadev, repo), subject, "application/vnd.example.sbom.v1")
	var resp *errcode.ErrorResponse
	if !errors.As(err, &resp) || resp.StatusCode != http.StatusForbidden || !strings.Contains(err.Error(), repo) {
		t.Errorf("seadev attaching to %s: got %v, want 403 naming the repository", repo, err)
	}
	// ... and a hand-made manifest with a subject, pushed straight to the manifest endpoint.
	manifest, _ := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: "application/vnd.example.signature.v1", Config: ocispec.DescriptorEmptyJSON,
		Layers: []ocispec.Descriptor{ocispec.DescriptorEmptyJSON}, Subject: &subject,
	})
	req, _ := http.NewRequest("PUT", e.app.URL()+"/v2/"+repo+"/manifests/sig", bytes.NewReader(manifest))
	req.Header.Set("Content-Type", ocispec.MediaTypeImageManifest)
	req.SetBasicAuth("seadev", c.seadev)
	r, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("seadev PUT of a manifest with a subject into %s: got %d, want 403", repo, r.StatusCode)
	}
	if got := ociReferrers(t, ociRepo(t, e, "seadev", c.seadev, repo), subject); len(got) != 0 {
		t.Fatalf("after search's attempts %s has referrers %+v, want none", repo, got)
	}

	// The owner attaches; everyone signed in sees it through the referrers API, nobody unsigned.
	sbom, err := ociAttach(ctx, ociRepo(t, e, "alice", c.alice, repo), subject, "application/vnd.example.sbom.v1")
	if err != nil {
		t.Fatalf("alice attaching to her own image: %v", err)
	}
	got := ociReferrers(t, ociRepo(t, e, "seadev", c.seadev, repo), subject)
	if len(got) != 1 || got[0].Digest != sbom.Digest || got[0].ArtifactType != "application/vnd.example.sbom.v1" {
		t.Errorf("seadev discovering %s's referrers: got %+v, want alice's SBOM %s", repo, got, sbom.Digest)
	}
	anon := e.call("GET", "/v2/"+repo+"/referrers/"+subject.Digest.String(), "", nil)
	if anon.status != http.StatusUnauthorized {
		t.Errorf("referrers without credentials: got %d %s, want 401", anon.status, anon.body)
	}
}
