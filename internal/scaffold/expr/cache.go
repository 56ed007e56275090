package expr

import "sync"

// parseCache keeps parsed templates, because the same step inputs and skeleton paths are
// evaluated again for every task run from a template. Parsed templates are immutable, so
// one can serve concurrent renders. The cache is bounded: small sources only, and it is
// emptied when full (simpler than LRU, and templates in use refill it at once).
type parseCache struct {
	mu      sync.Mutex
	entries map[cacheKey]cached
}

type cacheKey struct {
	src string
	o   RenderOptions
}

type cached struct {
	body []stmt
	err  error
}

const (
	cacheEntries  = 4096
	cacheMaxBytes = 16 << 10
)

func newParseCache() *parseCache { return &parseCache{entries: map[cacheKey]cached{}} }

func (c *parseCache) parse(src string, o RenderOptions) ([]stmt, error) {
	if len(src) > cacheMaxBytes {
		return parse(src, o.syntax(), o.Cookiecutter)
	}
	k := cacheKey{src: src, o: o}
	c.mu.Lock()
	hit, ok := c.entries[k]
	c.mu.Unlock()
	if ok {
		return hit.body, hit.err
	}
	body, err := parse(src, o.syntax(), o.Cookiecutter)
	c.mu.Lock()
	if len(c.entries) >= cacheEntries {
		clear(c.entries)
	}
	c.entries[k] = cached{body: body, err: err}
	c.mu.Unlock()
	return body, err
}
