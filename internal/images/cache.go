package images

import (
	"container/list"
	"sync"
)

// DefaultCacheSize is how many manifests' platform images Registry remembers.
const DefaultCacheSize = 4096

// imageCache remembers the platform images of manifests by digest. A digest
// names immutable content, so entries never go stale; the cache is bounded and
// evicts the least recently used entry.
type imageCache struct {
	max int

	mu      sync.Mutex
	order   *list.List // front: most recently used; values are *cacheEntry
	entries map[string]*list.Element
}

type cacheEntry struct {
	digest string
	images []PlatformImage
}

func newImageCache(size int) *imageCache {
	return &imageCache{max: size, order: list.New(), entries: map[string]*list.Element{}}
}

func (c *imageCache) get(digest string) ([]PlatformImage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[digest]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry).images, true
}

func (c *imageCache) add(digest string, images []PlatformImage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[digest]; ok {
		c.order.MoveToFront(el)
		return
	}
	c.entries[digest] = c.order.PushFront(&cacheEntry{digest: digest, images: images})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.entries, last.Value.(*cacheEntry).digest)
	}
}

func (c *imageCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
