package forge

import (
	"bytes"
	"container/list"
	"sync"
)

// readCache keeps the contents of recently read files by repository, commit and path, so the reads that
// repeat at the same commit (platform.yaml, an app's kustomization before its write-back) need no git
// process. A commit never changes, so an entry is never stale; the cache is bounded by bytes, least
// recently used first out. Callers get copies.
type readCache struct {
	mu    sync.Mutex
	max   int // bytes
	size  int
	order *list.List // of *readEntry, most recent first
	index map[string]*list.Element
}

type readEntry struct {
	key     string
	content []byte
}

const (
	readCacheBytes   = 8 << 20
	readCacheMaxFile = 256 << 10
)

func readKey(repoPath, commit, path string) string {
	return repoPath + "\x00" + commit + "\x00" + path
}

func (c *readCache) get(repoPath, commit, path string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.index[readKey(repoPath, commit, path)]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return bytes.Clone(el.Value.(*readEntry).content), true
}

func (c *readCache) put(repoPath, commit, path string, content []byte) {
	if len(content) > readCacheMaxFile {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.index == nil {
		c.index, c.order, c.max = map[string]*list.Element{}, list.New(), readCacheBytes
	}
	key := readKey(repoPath, commit, path)
	if _, ok := c.index[key]; ok {
		return
	}
	c.index[key] = c.order.PushFront(&readEntry{key: key, content: bytes.Clone(content)})
	c.size += len(content)
	for c.size > c.max {
		last := c.order.Back()
		e := last.Value.(*readEntry)
		c.order.Remove(last)
		delete(c.index, e.key)
		c.size -= len(e.content)
	}
}
