package images

import (
	"fmt"
	"time"

	"github.com/Masterminds/semver/v3"
)

// Candidate is one tag of a repository, with what the strategies compare.
type Candidate struct {
	Tag string `json:"tag"`
	// Digest is the manifest (or index) digest the tag points at; "" when it
	// was not resolved (semver and alphabetical order by name only).
	Digest string `json:"digest,omitempty"`
	// Created is the newest build date among Images; zero when unknown.
	Created time.Time `json:"created,omitzero"`
	// Images are the platform images behind the tag: one for an image
	// manifest, one per entry of an index. Empty when not fetched.
	Images []PlatformImage `json:"images,omitempty"`
}

// PlatformImage is one runnable image behind a tag.
type PlatformImage struct {
	// Platform is "os/arch" or "os/arch/variant"; "" when the image does not
	// say (such an image never satisfies Policy.Platforms).
	Platform string    `json:"platform,omitempty"`
	Digest   string    `json:"digest"`
	Created  time.Time `json:"created,omitzero"`
}

// Select returns the candidate the policy deploys, or false when none is
// admitted. It is pure: the candidates must already carry what the strategy
// needs (Digest for digest; Created or Images for newest-build; Images when
// Policy.Platforms is set). Ties are broken by the lexically greatest tag, as
// Image Updater does, so the result does not depend on the input order.
func Select(p Policy, candidates []Candidate) (Candidate, bool, error) {
	m, err := p.compile()
	if err != nil {
		return Candidate{}, false, fmt.Errorf("policy: %w", err)
	}
	return m.selectFrom(candidates)
}

// ranked is an admitted candidate with its sort keys.
type ranked struct {
	c       Candidate
	version *semver.Version
	created time.Time
}

func (m *matcher) selectFrom(candidates []Candidate) (Candidate, bool, error) {
	var best *ranked
	for _, c := range candidates {
		r, ok := m.rank(c)
		if !ok {
			continue
		}
		if m.strategy == StrategyDigest && c.Digest == "" {
			return Candidate{}, false, fmt.Errorf("candidate %q has no digest: the digest strategy needs the tag's current digest", c.Tag)
		}
		if best == nil || m.better(&r, best) {
			best = &r
		}
	}
	if best == nil {
		return Candidate{}, false, nil
	}
	return best.c, true, nil
}

// rank admits c (tag filters, constraint, platforms) and computes its keys.
func (m *matcher) rank(c Candidate) (ranked, bool) {
	ok, v := m.admits(c.Tag)
	if !ok {
		return ranked{}, false
	}
	created, ok := m.buildDate(c)
	if !ok {
		return ranked{}, false
	}
	return ranked{c: c, version: v, created: created}, true
}

// buildDate is the newest build date among the images the policy's platforms
// accept (all of them without platforms); false when no image is accepted.
func (m *matcher) buildDate(c Candidate) (time.Time, bool) {
	if len(m.platforms) == 0 {
		return newest(c.Created, c.Images), true
	}
	var created time.Time
	found := false
	for _, img := range c.Images {
		if !m.runsOn(img.Platform) {
			continue
		}
		found = true
		if img.Created.After(created) {
			created = img.Created
		}
	}
	return created, found
}

func newest(created time.Time, images []PlatformImage) time.Time {
	for _, img := range images {
		if img.Created.After(created) {
			created = img.Created
		}
	}
	return created
}

// runsOn reports whether an image built for s satisfies one of the policy's
// platforms.
func (m *matcher) runsOn(s string) bool {
	have, err := parsePlatform(s)
	if err != nil {
		return false
	}
	for _, want := range m.platforms {
		if want.satisfies(have) {
			return true
		}
	}
	return false
}

// better reports whether a ranks above b under the strategy.
func (m *matcher) better(a, b *ranked) bool {
	switch m.strategy {
	case StrategySemver:
		if c := a.version.Compare(b.version); c != 0 {
			return c > 0
		}
	case StrategyNewestBuild:
		if !a.created.Equal(b.created) {
			return a.created.After(b.created)
		}
	}
	return a.c.Tag > b.c.Tag
}
