package scaffolder

import (
	"container/list"
	"sync"

	"github.com/goldenpathidp/goldenpath/internal/scaffold/skeleton"
)

// treeCache keeps skeleton files read from the forge, keyed by repository, commit and path. A commit never
// changes, so an entry never goes stale; the cache only bounds memory (least recently used goes first).
type treeCache struct {
	mu    sync.Mutex
	max   int64
	size  int64
	order *list.List // front = most recent
	items map[string]*list.Element
}

type cacheEntry struct {
	key   string
	files []skeleton.File
	size  int64
}

func newTreeCache(maxBytes int64) *treeCache {
	return &treeCache{max: maxBytes, order: list.New(), items: map[string]*list.Element{}}
}

// get returns a copy of the cached file list (the contents are shared and must not be modified).
func (c *treeCache) get(key string) ([]skeleton.File, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	files := el.Value.(*cacheEntry).files
	return append([]skeleton.File(nil), files...), true
}

func (c *treeCache) put(key string, files []skeleton.File) {
	var size int64
	for _, f := range files {
		size += int64(len(f.Content) + len(f.Path) + 64)
	}
	if size > c.max/4 {
		return // one huge skeleton must not flush everything else
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; ok {
		return
	}
	c.items[key] = c.order.PushFront(&cacheEntry{key: key, files: append([]skeleton.File(nil), files...), size: size})
	c.size += size
	for c.size > c.max {
		last := c.order.Back()
		e := last.Value.(*cacheEntry)
		c.order.Remove(last)
		delete(c.items, e.key)
		c.size -= e.size
	}
}
