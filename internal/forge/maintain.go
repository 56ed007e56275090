package forge

import (
	"context"
	"sync"
)

// Loose objects make reads slow: every one is a file to open, and ReadTree reads thousands. Commit,
// Merge and small pushes all write loose objects, so after enough of them we pack them.
const (
	packThreshold      = 256 // loose objects written before we pack
	pushObjectEstimate = 100 // receive-pack keeps packs of 100+ objects (receive.unpackLimit), explodes smaller ones
)

// packer tracks, per repository, roughly how many loose objects were written since the last pack.
type packer struct {
	mu      sync.Mutex
	pending map[string]int
}

// due adds n written objects to repo's count and reports (resetting the count) whether to pack now.
func (p *packer) due(repo string, n int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending == nil {
		p.pending = map[string]int{}
	}
	p.pending[repo] += n
	if p.pending[repo] < packThreshold {
		return false
	}
	delete(p.pending, repo)
	return true
}

// wrote records that n objects were written to r and packs loose objects when enough piled up.
// `repack -d` packs only reachable loose objects and deletes only loose copies that are now packed,
// so objects of a concurrent, not yet referenced Commit are untouched. `gc --auto` then merges packs
// once there are too many. Failures are logged, not returned: the write itself succeeded.
func (r *Repo) wrote(ctx context.Context, n int) {
	if !r.f.packer.due(r.name, n) {
		return
	}
	if _, err := r.git(ctx, runOpts{}, "repack", "-d", "-l", "-q"); err != nil {
		r.f.log.WarnContext(ctx, "packing loose objects", "repo", r.name, "error", err)
		return
	}
	if _, err := r.git(ctx, runOpts{}, "-c", "gc.autoDetach=false", "gc", "--auto", "--quiet"); err != nil {
		r.f.log.WarnContext(ctx, "git gc --auto", "repo", r.name, "error", err)
	}
}
