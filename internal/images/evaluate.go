package images

import (
	"context"
	"errors"
	"time"
)

// evaluate runs one pass over a repository for every subscription on it and
// reports the selections that changed. Only one worker evaluates a given
// repository at a time (see queue).
func (w *Watcher) evaluate(ctx context.Context, repo string, j job) {
	rs, subs := w.snapshot(repo)
	if rs == nil {
		return // unwatched since it was scheduled
	}
	book := rs.book
	book.begin(!j.full)
	hints := w.confirm(ctx, repo, j.hints)
	for tag, d := range hints {
		book.learn(tag, d)
	}
	tags, err := w.src.Tags(ctx, repo)
	if err != nil {
		w.log.WarnContext(ctx, "listing tags failed; the next event or poll retries", "repository", repo, "error", err)
		return
	}
	tags = withHints(tags, hints)
	book.keep(tags)
	ps := &pass{src: w.src, repo: repo, book: book, log: w.log}
	for _, st := range subs {
		c, ok, err := ps.choose(ctx, st.m, tags)
		if err != nil {
			w.log.WarnContext(ctx, "evaluating a subscription failed; the next event or poll retries",
				"key", st.sub.Key, "repository", repo, "error", err)
			continue
		}
		if !ok {
			w.log.DebugContext(ctx, "no tag admitted", "key", st.sub.Key, "repository", repo)
			continue
		}
		w.report(ctx, st, c, j.since)
	}
}

// confirm asks the registry where each tag an event named points now and keeps the events it confirms,
// with the registry's digest. An event is only a claim (anyone who reaches a webhook can make one), so
// an event naming a tag the registry does not have, or a digest the tag does not point at, is refused and
// logged, and moves nothing; the pass goes on with what the registry lists.
func (w *Watcher) confirm(ctx context.Context, repo string, hints map[string]string) map[string]string {
	if len(hints) == 0 {
		return nil
	}
	confirmed := make(map[string]string, len(hints))
	for tag, claimed := range hints {
		d, err := w.src.Resolve(ctx, repo, tag)
		switch {
		case errors.Is(err, ErrNotFound):
			w.log.WarnContext(ctx, "push event refused: the registry has no such tag", "repository", repo, "tag", tag, "digest", claimed)
		case err != nil:
			w.log.WarnContext(ctx, "push event not confirmed: asking the registry failed; the next event or poll retries",
				"repository", repo, "tag", tag, "error", err)
		case claimed != "" && claimed != d:
			w.log.WarnContext(ctx, "push event refused: the registry has another digest for the tag", "repository", repo,
				"tag", tag, "digest", claimed, "registry_digest", d)
		default:
			confirmed[tag] = d
		}
	}
	return confirmed
}

// snapshot returns the repository's state and its subscriptions.
func (w *Watcher) snapshot(repo string) (*repoState, []*subState) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rs := w.repos[repo]
	if rs == nil {
		return nil, nil
	}
	var subs []*subState
	for _, st := range w.subs {
		if st.repo == repo {
			subs = append(subs, st)
		}
	}
	return rs, subs
}

// withHints adds the tags events just named to the listing: a registry that
// lists eventually consistently (ECR) may not show a fresh push yet.
func withHints(tags []string, hints map[string]string) []string {
	if len(hints) == 0 {
		return tags
	}
	listed := make(map[string]bool, len(tags))
	for _, t := range tags {
		listed[t] = true
	}
	for t, d := range hints {
		if !listed[t] && d != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

// identity is what makes two selections the same: the digest for the digest
// strategy, the tag otherwise (the other strategies take tags as immutable).
func identity(m *matcher, c Candidate) string {
	if m.strategy == StrategyDigest {
		return c.Digest
	}
	return c.Tag
}

// report calls OnUpdate when the selection differs from the last one
// reported, and only while the subscription is still the one being watched.
func (w *Watcher) report(ctx context.Context, st *subState, c Candidate, since time.Time) {
	id := identity(st.m, c)
	if id == st.last || !w.current(st) {
		return
	}
	if err := w.onUpdate(ctx, st.sub, c); err != nil {
		w.log.WarnContext(ctx, "update callback failed; the next event or poll reports it again",
			"key", st.sub.Key, "tag", c.Tag, "digest", c.Digest, "error", err)
		return
	}
	st.last = id
	w.log.InfoContext(ctx, "new image selected", "key", st.sub.Key, "repository", st.repo,
		"tag", c.Tag, "digest", c.Digest, "latency", time.Since(since))
}

func (w *Watcher) current(st *subState) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.subs[st.sub.Key] == st
}
