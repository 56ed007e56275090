package images

import (
	"context"
	"errors"
	"log/slog"
)

// Source is where candidates come from; *Registry is the implementation.
type Source interface {
	// Tags lists the tags of repo ("host/path").
	Tags(ctx context.Context, repo string) ([]string, error)
	// Resolve returns the digest a tag points at; errors wrap ErrNotFound when
	// the tag is gone.
	Resolve(ctx context.Context, repo, tag string) (string, error)
	// Describe returns the platform images behind a digest; errors wrap
	// ErrNotFound or ErrUnsupportedManifest for tags that cannot be candidates.
	Describe(ctx context.Context, repo, digest string) ([]PlatformImage, error)
}

var _ Source = (*Registry)(nil)

// tagBook remembers which digest each tag of one repository pointed at, so
// that a push event costs a tag listing, not a request per tag.
type tagBook struct {
	digests map[string]string
	// fresh marks digests confirmed during the current pass, by an event or
	// by asking the registry, so no tag is resolved twice in one pass.
	fresh map[string]bool
	// trust: remembered digests are used without asking again. Event passes
	// trust them all (the event names the tag that moved). Polling passes ask
	// again about the tags the digest strategy follows, which is how a tag
	// moved without an event is found; the other strategies take tags as
	// immutable, as Image Updater does, so a poll costs a listing plus a
	// request per new tag rather than one per tag.
	trust bool
}

func newTagBook() *tagBook {
	return &tagBook{digests: map[string]string{}, fresh: map[string]bool{}}
}

// begin starts a pass: trust says whether remembered digests may be used.
func (b *tagBook) begin(trust bool) {
	b.trust = trust
	clear(b.fresh)
}

// learn records what an event says a tag points at; "" means unknown.
func (b *tagBook) learn(tag, digest string) {
	if digest == "" {
		delete(b.digests, tag)
		return
	}
	b.digests[tag] = digest
	b.fresh[tag] = true
}

// keep forgets the tags that are no longer listed.
func (b *tagBook) keep(tags []string) {
	listed := make(map[string]bool, len(tags))
	for _, t := range tags {
		listed[t] = true
	}
	for t := range b.digests {
		if !listed[t] {
			delete(b.digests, t)
		}
	}
}

// pass evaluates policies over one repository's tags at one moment.
type pass struct {
	src  Source
	repo string
	book *tagBook
	log  *slog.Logger
}

// digest returns the tag's digest, from the book when it may be trusted;
// mutable says the policy follows the tag as it moves (digest strategy).
func (ps *pass) digest(ctx context.Context, tag string, mutable bool) (string, error) {
	b := ps.book
	if d, ok := b.digests[tag]; ok && (b.trust || b.fresh[tag] || !mutable) {
		return d, nil
	}
	d, err := ps.src.Resolve(ctx, ps.repo, tag)
	if err != nil {
		delete(b.digests, tag)
		return "", err
	}
	b.digests[tag] = d
	b.fresh[tag] = true
	return d, nil
}

// choose returns the candidate m selects among tags, with its digest.
func (ps *pass) choose(ctx context.Context, m *matcher, tags []string) (Candidate, bool, error) {
	admitted := m.admitted(tags)
	if m.needsImages() {
		cands, err := ps.candidates(ctx, m, admitted)
		if err != nil {
			return Candidate{}, false, err
		}
		return m.selectFrom(cands)
	}
	return ps.chooseByName(ctx, m, admitted)
}

// chooseByName serves the strategies that order by tag alone (semver,
// alphabetical, digest without platforms): only the winner's digest is
// resolved. A winner deleted since the listing gives way to the next best.
func (ps *pass) chooseByName(ctx context.Context, m *matcher, tags []string) (Candidate, bool, error) {
	cands := make([]Candidate, len(tags))
	for i, t := range tags {
		cands[i] = Candidate{Tag: t}
	}
	for _, c := range m.order(cands) {
		d, err := ps.digest(ctx, c.Tag, m.strategy == StrategyDigest)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return Candidate{}, false, err
		}
		c.Digest = d
		return c, true, nil
	}
	return Candidate{}, false, nil
}

// candidates resolves each tag's digest and, when the policy needs them, its
// platform images. Tags that vanished or do not point
// at images are left out; any other error fails the pass, because choosing
// among a partial list could pick an older image.
func (ps *pass) candidates(ctx context.Context, m *matcher, tags []string) ([]Candidate, error) {
	out := make([]Candidate, 0, len(tags))
	for _, t := range tags {
		c, err := ps.candidate(ctx, m, t)
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnsupportedManifest) {
			ps.log.DebugContext(ctx, "tag skipped", "repository", ps.repo, "tag", t, "reason", err)
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (ps *pass) candidate(ctx context.Context, m *matcher, tag string) (Candidate, error) {
	d, err := ps.digest(ctx, tag, m.strategy == StrategyDigest)
	if err != nil {
		return Candidate{}, err
	}
	c := Candidate{Tag: tag, Digest: d}
	if !m.needsImages() {
		return c, nil
	}
	c.Images, err = ps.src.Describe(ctx, ps.repo, d)
	if err != nil {
		return Candidate{}, err
	}
	c.Created = newest(c.Created, c.Images)
	return c, nil
}

// admitted keeps the tags the policy considers, before any request.
func (m *matcher) admitted(tags []string) []string {
	var out []string
	for _, t := range tags {
		if ok, _ := m.admits(t); ok {
			out = append(out, t)
		}
	}
	return out
}
