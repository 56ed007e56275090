package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrNotFound means the registry does not know the repository, tag or
// manifest (HTTP 404): a tag deleted between listing and resolving, say.
var ErrNotFound = errors.New("not found in the registry")

// ErrUnsupportedManifest means a tag points at something that is not an image
// or an index of images (a schema 1 manifest, an artifact): such tags are
// skipped when a policy needs build dates or platforms.
var ErrUnsupportedManifest = errors.New("not an image or an image index")

// DefaultCredentialTTL is how long Registry keeps one set of credentials per
// registry before asking the keychain again, so rotating credentials (ECR
// tokens last 12 hours, goldenpath tokens can be revoked) are picked up.
const DefaultCredentialTTL = time.Hour

// RegistryOptions configures a Registry. The zero value reaches public
// registries anonymously with Image Updater's rate limits.
type RegistryOptions struct {
	// Keychain gives credentials per registry; nil means anonymous. For
	// goldenpath's embedded registry use BasicKeychain with a token.
	Keychain authn.Keychain
	// Transport carries the requests; nil means remote.DefaultTransport.
	Transport http.RoundTripper
	// Rates are requests per second by registry host ("ghcr.io",
	// "127.0.0.1:5000"). Unlisted hosts get DefaultRate, Docker Hub
	// DockerHubRate.
	Rates map[string]float64
	// Insecure lists registry hosts reached over plain HTTP. Loopback and
	// private addresses already are, as go-containerregistry decides.
	Insecure []string
	// CacheSize bounds the digest cache; 0 means DefaultCacheSize.
	CacheSize int
	// CredentialTTL: 0 means DefaultCredentialTTL.
	CredentialTTL time.Duration
	Logger        *slog.Logger
}

// Validate reports the first option that cannot be used.
func (o RegistryOptions) Validate() error {
	for host, rate := range o.Rates {
		if host == "" {
			return errors.New("rates: a registry host must not be empty")
		}
		if !(rate > 0) {
			return fmt.Errorf("rates[%q] is %v: it must be a positive number of requests per second", host, rate)
		}
	}
	if o.CacheSize < 0 {
		return fmt.Errorf("cacheSize is %d: it must be 0 (default %d) or positive", o.CacheSize, DefaultCacheSize)
	}
	if o.CredentialTTL < 0 {
		return fmt.Errorf("credentialTTL is %v: it must be 0 (default %v) or positive", o.CredentialTTL, DefaultCredentialTTL)
	}
	return nil
}

// Registry lists and describes tags in OCI registries through
// go-containerregistry. Requests are rate limited per registry, and what a
// manifest digest describes (platforms, build dates) is cached, since content
// behind a digest never changes. It is safe for concurrent use.
type Registry struct {
	keychain authn.Keychain
	base     http.RoundTripper
	rates    map[string]float64
	insecure map[string]bool
	ttl      time.Duration
	cache    *imageCache
	log      *slog.Logger

	mu      sync.Mutex
	clients map[string]*client // by registry host
}

// client is what Registry keeps per registry host. The limiter outlives the
// puller, which is rebuilt when its credentials are older than the TTL.
type client struct {
	lim     *limiter
	puller  *remote.Puller
	created time.Time
}

// NewRegistry returns a Registry with opts, after validating them.
func NewRegistry(opts RegistryOptions) (*Registry, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("registry options: %w", err)
	}
	r := &Registry{
		keychain: opts.Keychain,
		base:     opts.Transport,
		rates:    opts.Rates,
		insecure: map[string]bool{},
		ttl:      opts.CredentialTTL,
		log:      opts.Logger,
		clients:  map[string]*client{},
	}
	if r.keychain == nil {
		r.keychain = authn.NewMultiKeychain() // resolves everything to anonymous
	}
	if r.base == nil {
		r.base = remote.DefaultTransport
	}
	if r.ttl == 0 {
		r.ttl = DefaultCredentialTTL
	}
	size := opts.CacheSize
	if size == 0 {
		size = DefaultCacheSize
	}
	r.cache = newImageCache(size)
	for _, h := range opts.Insecure {
		r.insecure[h] = true
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.log = r.log.With("component", "images")
	return r, nil
}

// rate is the request rate for a registry host.
func (r *Registry) rate(host string) float64 {
	if rate, ok := r.rates[host]; ok {
		return rate
	}
	if dockerHubHosts[host] {
		return DockerHubRate
	}
	return DefaultRate
}

// parse reads "host/path" (or a Docker Hub short name) as a repository.
func (r *Registry) parse(repo string) (name.Repository, error) {
	ref, err := name.NewRepository(repo)
	if err != nil {
		return name.Repository{}, fmt.Errorf("repository %q: %w", repo, err)
	}
	if r.insecure[ref.RegistryStr()] {
		ref, err = name.NewRepository(repo, name.Insecure)
		if err != nil {
			return name.Repository{}, fmt.Errorf("repository %q: %w", repo, err)
		}
	}
	return ref, nil
}

// client returns the puller for a registry host, creating or refreshing it.
func (r *Registry) client(host string) (*client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.clients[host]
	if ok && time.Since(c.created) < r.ttl {
		return c, nil
	}
	if !ok {
		c = &client{lim: newLimiter(r.rate(host))}
	}
	p, err := remote.NewPuller(
		remote.WithAuthFromKeychain(r.keychain),
		remote.WithTransport(&limitedTransport{base: r.base, lim: c.lim}),
		remote.WithUserAgent("goldenpath-images"),
	)
	if err != nil {
		return nil, fmt.Errorf("creating a client for %s: %w", host, err)
	}
	fresh := &client{lim: c.lim, puller: p, created: time.Now()}
	r.clients[host] = fresh
	return fresh, nil
}

func (r *Registry) open(repo string) (name.Repository, *remote.Puller, error) {
	ref, err := r.parse(repo)
	if err != nil {
		return name.Repository{}, nil, err
	}
	c, err := r.client(ref.RegistryStr())
	if err != nil {
		return name.Repository{}, nil, err
	}
	return ref, c.puller, nil
}

// Tags lists the tags of repo ("host/path"), all pages.
func (r *Registry) Tags(ctx context.Context, repo string) ([]string, error) {
	ref, p, err := r.open(repo)
	if err != nil {
		return nil, err
	}
	tags, err := p.List(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("listing tags of %s: %w", repo, classify(err))
	}
	return tags, nil
}

// Resolve returns the digest tag points at now (one HEAD request).
func (r *Registry) Resolve(ctx context.Context, repo, tag string) (string, error) {
	ref, p, err := r.open(repo)
	if err != nil {
		return "", err
	}
	desc, err := p.Head(ctx, ref.Tag(tag))
	if err != nil {
		return "", fmt.Errorf("resolving %s:%s: %w", repo, tag, classify(err))
	}
	return desc.Digest.String(), nil
}

// Describe returns the platform images behind a manifest digest: the image
// itself, or each image entry of an index (attestations skipped), with build
// dates from their configs. Results are cached by digest.
func (r *Registry) Describe(ctx context.Context, repo, digest string) ([]PlatformImage, error) {
	ref, p, err := r.open(repo)
	if err != nil {
		return nil, err
	}
	imgs, err := r.describe(ctx, p, ref, digest, true)
	if err != nil {
		return nil, fmt.Errorf("describing %s@%s: %w", repo, digest, err)
	}
	return imgs, nil
}

func (r *Registry) describe(ctx context.Context, p *remote.Puller, ref name.Repository, digest string, indexOK bool) ([]PlatformImage, error) {
	if imgs, ok := r.cache.get(digest); ok {
		return imgs, nil
	}
	desc, err := p.Get(ctx, ref.Digest(digest))
	if err != nil {
		return nil, classify(err)
	}
	var imgs []PlatformImage
	switch {
	case desc.MediaType.IsImage():
		imgs, err = describeImage(desc)
	case desc.MediaType.IsIndex() && indexOK:
		imgs, err = r.describeIndex(ctx, p, ref, desc)
	default:
		err = fmt.Errorf("%w: media type %s", ErrUnsupportedManifest, desc.MediaType)
	}
	if err != nil {
		return nil, err
	}
	r.cache.add(digest, imgs)
	return imgs, nil
}

func describeImage(desc *remote.Descriptor) ([]PlatformImage, error) {
	img, err := desc.Image()
	if err != nil {
		return nil, classify(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the image config: %w", classify(err))
	}
	pi := PlatformImage{
		Platform: platformString(cf.OS, cf.Architecture, cf.Variant),
		Digest:   desc.Digest.String(),
		Created:  cf.Created.UTC(),
	}
	return []PlatformImage{pi}, nil
}

// describeIndex describes each image of an index. The platform comes from the
// index entry when it has one (that is what runtimes match on), else from the
// image's config. Nested indexes and attestation entries are skipped.
func (r *Registry) describeIndex(ctx context.Context, p *remote.Puller, ref name.Repository, desc *remote.Descriptor) ([]PlatformImage, error) {
	im, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, fmt.Errorf("parsing the index: %w", err)
	}
	var imgs []PlatformImage
	for _, m := range im.Manifests {
		if !m.MediaType.IsImage() || isAttestation(m.Platform) {
			continue
		}
		child, err := r.describe(ctx, p, ref, m.Digest.String(), false)
		if errors.Is(err, ErrUnsupportedManifest) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("index entry %s: %w", m.Digest, err)
		}
		img := child[0]
		if m.Platform != nil {
			img.Platform = platformString(m.Platform.OS, m.Platform.Architecture, m.Platform.Variant)
		}
		imgs = append(imgs, img)
	}
	return imgs, nil
}

// isAttestation recognises BuildKit's provenance and SBOM entries.
func isAttestation(p *v1.Platform) bool {
	return p != nil && p.OS == "unknown" && p.Architecture == "unknown"
}

func platformString(os, arch, variant string) string {
	switch {
	case os == "" || arch == "":
		return ""
	case variant == "":
		return os + "/" + arch
	}
	return os + "/" + arch + "/" + variant
}

// classify marks 404 answers with ErrNotFound so callers can skip vanished tags.
func classify(err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// Latest returns the candidate policy p selects in repo now, with its digest,
// asking the registry about every tag it needs (no remembered digests).
func (r *Registry) Latest(ctx context.Context, repo string, p Policy) (Candidate, bool, error) {
	m, err := p.compile()
	if err != nil {
		return Candidate{}, false, fmt.Errorf("policy: %w", err)
	}
	tags, err := r.Tags(ctx, repo)
	if err != nil {
		return Candidate{}, false, err
	}
	ps := &pass{src: r, repo: repo, book: newTagBook(), log: r.log}
	return ps.choose(ctx, m, tags)
}

// Candidates returns every tag of repo that policy p admits, best first, each
// with its digest, and with its platform images when the policy needs them
// (newest-build, platforms). It costs a request per admitted tag: it is for
// showing why a tag was chosen, not for the update loop.
func (r *Registry) Candidates(ctx context.Context, repo string, p Policy) ([]Candidate, error) {
	m, err := p.compile()
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	tags, err := r.Tags(ctx, repo)
	if err != nil {
		return nil, err
	}
	ps := &pass{src: r, repo: repo, book: newTagBook(), log: r.log}
	cands, err := ps.candidates(ctx, m, m.admitted(tags))
	if err != nil {
		return nil, err
	}
	return m.order(cands), nil
}

// order sorts the admitted candidates best first.
func (m *matcher) order(cands []Candidate) []Candidate {
	rs := make([]ranked, 0, len(cands))
	for _, c := range cands {
		if r, ok := m.rank(c); ok {
			rs = append(rs, r)
		}
	}
	sort.SliceStable(rs, func(i, j int) bool { return m.better(&rs[i], &rs[j]) })
	out := make([]Candidate, len(rs))
	for i, r := range rs {
		out[i] = r.c
	}
	return out
}
