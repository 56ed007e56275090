// Package registry is goldenpath's embedded OCI registry: the local backend for
// ECRRequests. It serves the OCI distribution API (v1.1, with the referrers
// API) under /v2/ so that ordinary clients (crane, go-containerregistry,
// docker, oras) can push, pull and attach artifacts, and keeps blobs,
// manifests, tags and repository settings on disk so everything survives a
// restart. Repositories exist only when goldenpath's provisioner
// creates them with CreateRepository; who may pull, push or delete is decided
// by the caller's Authorizer.
package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Access is what a request wants to do to a repository.
type Access int

// Access levels, from least to most destructive.
const (
	Pull Access = iota
	Push
	Delete
)

func (a Access) String() string {
	switch a {
	case Pull:
		return "pull"
	case Push:
		return "push"
	case Delete:
		return "delete"
	default:
		return fmt.Sprintf("access(%d)", int(a))
	}
}

// ErrUnauthenticated means the request had no or invalid credentials: the
// client gets 401 with a Basic challenge so it retries with credentials.
var ErrUnauthenticated = errors.New("authentication required")

// ErrDenied means the caller is known but may not do this: the client gets 403.
var ErrDenied = errors.New("access denied")

// Authorizer decides whether req may have access to repo. repo is "" for the
// /v2/ base check and for /v2/_catalog (which then asks again per repository).
// It returns the subject (user name) recorded in push events. Errors wrapping
// ErrUnauthenticated or ErrDenied are shown to the client with their message;
// any other error is a 500 and is only logged.
type Authorizer func(r *http.Request, repo string, access Access) (subject string, err error)

// ScanNotAvailable is what push events and RepoInfo report for repositories
// with ScanOnPush: there is no image scanner in the local backend.
const ScanNotAvailable = "scan: not available locally"

// DefaultMaxManifestBytes bounds a manifest body when Options leaves it zero.
const DefaultMaxManifestBytes = 4 << 20

// Options configures a Registry. The zero value is usable: it allows every
// request and discards logs.
type Options struct {
	// Authorize is asked before every request; nil allows everything (tests).
	Authorize Authorizer
	// OnPush is called synchronously after a manifest PUT is stored and before
	// the client gets its response, so it must not block long.
	OnPush func(ctx context.Context, ev PushEvent)
	Logger *slog.Logger
	// MaxManifestBytes bounds a manifest body; 0 means DefaultMaxManifestBytes.
	MaxManifestBytes int64
}

// PushEvent describes a stored manifest.
type PushEvent struct {
	Repository string
	Tag        string // "" when pushed by digest
	Digest     string
	MediaType  string
	Size       int64
	Subject    string // who pushed
	Time       time.Time
	// Scan is ScanNotAvailable when the repository has ScanOnPush, else "".
	Scan string
}

// RepoSettings are the per-repository policies from an ECRRequest.
type RepoSettings struct {
	// TagImmutability: a tag, once pushed, cannot be moved to another digest.
	// Deleting the tag (Delete access) is still allowed, as in ECR.
	TagImmutability bool `json:"tagImmutability,omitempty"`
	// ScanOnPush is stored and reported; there is no scanner locally.
	ScanOnPush bool `json:"scanOnPush,omitempty"`
	// MaxImages limits the number of distinct manifests (each platform image
	// and each index counts, as in ECR); 0 means unlimited.
	MaxImages int `json:"maxImages,omitempty"`
	// Labels let the provisioner find its repositories again, e.g.
	// "goldenpath.io/request-id": "ecr.dev.orders".
	Labels map[string]string `json:"labels,omitempty"`
}

// Validate reports the first setting that cannot be applied.
func (s RepoSettings) Validate() error {
	if s.MaxImages < 0 {
		return fmt.Errorf("maxImages is %d: it must be 0 (unlimited) or positive", s.MaxImages)
	}
	for k := range s.Labels {
		if k == "" {
			return errors.New("labels: a label key must not be empty")
		}
	}
	return nil
}

// RepoInfo is a repository's settings and usage.
type RepoInfo struct {
	Name      string
	Settings  RepoSettings
	CreatedAt time.Time
	Tags      int
	// SizeBytes is the sum of unique blob sizes referenced by the repository's
	// manifests, manifests included (best effort: missing blobs count zero).
	SizeBytes int64
	// Images is the number of distinct manifests, the number MaxImages limits.
	Images int
	// Scan is ScanNotAvailable when ScanOnPush is set, else "".
	Scan string
}

// Registry is an OCI registry persisted under one directory. It is safe for
// concurrent use.
type Registry struct {
	dir              string
	log              *slog.Logger
	authorize        Authorizer
	onPush           func(ctx context.Context, ev PushEvent)
	maxManifestBytes int64

	// gcMu is held shared by every operation that writes a blob and links it
	// into a repository, and exclusively by GarbageCollect, so a blob is never
	// collected between being written and being linked.
	gcMu sync.RWMutex

	// mu guards repos. Lock order: mu before a repository's mu.
	mu    sync.RWMutex
	repos map[string]*repository

	uploads uploadTable
}

var _ http.Handler = (*Registry)(nil)

// repository is the in-memory handle of a repository; the disk is the truth.
type repository struct {
	name string
	// mu serialises changes to the repository's links, tags and settings, so
	// tag immutability and MaxImages are checked and applied atomically.
	mu      sync.Mutex
	meta    repoMeta // guarded by mu
	deleted bool     // guarded by mu; set when DeleteRepository wins a race
}

// New opens (or creates) a registry in dir and loads the repositories found
// there. Uploads interrupted by a previous shutdown are discarded.
func New(dir string, opts Options) (*Registry, error) {
	if dir == "" {
		return nil, errors.New("registry directory is empty")
	}
	if opts.MaxManifestBytes < 0 {
		return nil, fmt.Errorf("MaxManifestBytes is %d: it must be 0 (default %d) or positive", opts.MaxManifestBytes, DefaultMaxManifestBytes)
	}
	r := &Registry{
		dir:              dir,
		log:              opts.Logger,
		authorize:        opts.Authorize,
		onPush:           opts.OnPush,
		maxManifestBytes: opts.MaxManifestBytes,
		repos:            map[string]*repository{},
		uploads:          uploadTable{entries: map[string]*upload{}},
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.log = r.log.With("component", "registry")
	if r.maxManifestBytes == 0 {
		r.maxManifestBytes = DefaultMaxManifestBytes
	}
	if err := r.prepareDirs(); err != nil {
		return nil, err
	}
	found, err := scanRepositories(filepath.Join(dir, "repositories"))
	if err != nil {
		return nil, err
	}
	for name, meta := range found {
		r.repos[name] = &repository{name: name, meta: meta}
	}
	if err := r.indexReferrers(); err != nil {
		return nil, err
	}
	return r, nil
}

// prepareDirs creates the layout and empties the scratch directories, whose
// content is meaningless after a restart.
func (r *Registry) prepareDirs() error {
	for _, d := range []string{"uploads", "tmp", "trash"} {
		if err := os.RemoveAll(filepath.Join(r.dir, d)); err != nil {
			return fmt.Errorf("clearing %s: %w", d, err)
		}
	}
	for _, d := range []string{"blobs", "repositories", "uploads", "tmp", "trash"} {
		if err := os.MkdirAll(filepath.Join(r.dir, d), 0o755); err != nil {
			return fmt.Errorf("creating registry directory: %w", err)
		}
	}
	return nil
}

// lookup returns the live repository called name, or nil.
func (r *Registry) lookup(name string) *repository {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.repos[name]
}

// CreateRepository creates the repository name with settings s. It is
// idempotent: if the repository exists it replaces its settings and returns
// created=false.
func (r *Registry) CreateRepository(ctx context.Context, name string, s RepoSettings) (created bool, err error) {
	if err := ValidateRepositoryName(name); err != nil {
		return false, err
	}
	if err := s.Validate(); err != nil {
		return false, fmt.Errorf("repository %s: %w", name, err)
	}
	s.Labels = maps.Clone(s.Labels)
	r.mu.Lock()
	defer r.mu.Unlock()
	if rp, ok := r.repos[name]; ok {
		rp.mu.Lock()
		defer rp.mu.Unlock()
		meta := repoMeta{Settings: s, CreatedAt: rp.meta.CreatedAt}
		if err := r.writeJSONAtomic(filepath.Join(r.repoDir(name), repoMetaFile), meta); err != nil {
			return false, fmt.Errorf("updating repository %s: %w", name, err)
		}
		rp.meta = meta
		r.log.InfoContext(ctx, "repository settings updated", "repository", name)
		return false, nil
	}
	meta := repoMeta{Settings: s, CreatedAt: time.Now().UTC()}
	if err := r.writeJSONAtomic(filepath.Join(r.repoDir(name), repoMetaFile), meta); err != nil {
		return false, fmt.Errorf("creating repository %s: %w", name, err)
	}
	r.repos[name] = &repository{name: name, meta: meta}
	r.log.InfoContext(ctx, "repository created", "repository", name)
	return true, nil
}

// Repository returns the repository's settings and usage; ok is false if it
// does not exist.
func (r *Registry) Repository(ctx context.Context, name string) (info RepoInfo, ok bool, err error) {
	if err := ValidateRepositoryName(name); err != nil {
		return RepoInfo{}, false, err
	}
	rp := r.lookup(name)
	if rp == nil {
		return RepoInfo{}, false, nil
	}
	info, err = r.repoInfo(ctx, rp)
	if err != nil {
		return RepoInfo{}, false, err
	}
	return info, true, nil
}

// Repositories returns every repository, sorted by name.
func (r *Registry) Repositories(ctx context.Context) ([]RepoInfo, error) {
	var out []RepoInfo
	for _, name := range r.repoNames() {
		rp := r.lookup(name)
		if rp == nil {
			continue // deleted meanwhile
		}
		info, err := r.repoInfo(ctx, rp)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// repoNames returns the names of all repositories, sorted.
func (r *Registry) repoNames() []string {
	r.mu.RLock()
	names := make([]string, 0, len(r.repos))
	for name := range r.repos {
		names = append(names, name)
	}
	r.mu.RUnlock()
	sort.Strings(names)
	return names
}

func (r *Registry) repoInfo(ctx context.Context, rp *repository) (RepoInfo, error) {
	rp.mu.Lock()
	meta := rp.meta
	rp.mu.Unlock()
	info := RepoInfo{Name: rp.name, Settings: meta.Settings, CreatedAt: meta.CreatedAt}
	info.Settings.Labels = maps.Clone(meta.Settings.Labels)
	if meta.Settings.ScanOnPush {
		info.Scan = ScanNotAvailable
	}
	tags, err := listNames(r.tagsDir(rp.name))
	if err != nil {
		return RepoInfo{}, fmt.Errorf("listing tags of %s: %w", rp.name, err)
	}
	info.Tags = len(tags)
	revs, err := listDigests(filepath.Join(r.repoDir(rp.name), manifestsDir, "revisions"))
	if err != nil {
		return RepoInfo{}, fmt.Errorf("listing manifests of %s: %w", rp.name, err)
	}
	info.Images = len(revs)
	info.SizeBytes = r.referencedSize(ctx, revs)
	return info, nil
}

// DeleteRepository removes the repository's settings, manifests, tags and
// blob links. It is idempotent. Blobs stay in the shared blob store until
// GarbageCollect removes the ones no repository links any more.
func (r *Registry) DeleteRepository(ctx context.Context, name string) error {
	if err := ValidateRepositoryName(name); err != nil {
		return err
	}
	trash, err := r.unlinkRepository(name)
	if err != nil {
		return fmt.Errorf("deleting repository %s: %w", name, err)
	}
	if trash != "" {
		if err := os.RemoveAll(trash); err != nil {
			r.log.WarnContext(ctx, "removing deleted repository files", "repository", name, "err", err)
		}
		r.log.InfoContext(ctx, "repository deleted", "repository", name)
	}
	return nil
}

// unlinkRepository moves the repository's entries into a trash directory and
// returns it ("" if there was no repository). Content moves first and
// _repo.json last: a crash in between leaves an empty repository, never old
// tags that would reappear when the name is created again.
func (r *Registry) unlinkRepository(name string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rp, ok := r.repos[name]
	if !ok {
		return "", nil
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	trash, err := os.MkdirTemp(filepath.Join(r.dir, "trash"), "repo-*")
	if err != nil {
		return "", err
	}
	for _, entry := range []string{layersDir, manifestsDir, repoMetaFile} {
		err := os.Rename(filepath.Join(r.repoDir(name), entry), filepath.Join(trash, entry))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	rp.deleted = true
	delete(r.repos, name)
	r.removeEmptyParents(name)
	return trash, nil
}

// removeEmptyParents removes the repository's directory and its parents while
// they are empty, leaving nested repositories (a/b under a) alone.
func (r *Registry) removeEmptyParents(name string) {
	root := filepath.Join(r.dir, "repositories")
	for dir := r.repoDir(name); dir != root && len(dir) > len(root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			return // not empty (or gone): stop climbing
		}
	}
}

// copyBuffer streams with a larger buffer than io.Copy's default, which
// matters for multi-gigabyte layers.
func copyBuffer(dst io.Writer, src io.Reader) (int64, error) {
	return io.CopyBuffer(dst, src, make([]byte, 256<<10))
}
