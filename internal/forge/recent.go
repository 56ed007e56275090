package forge

import "sync"

// recentCommits remembers the files of the last few repositories CreateRepoWithCommit made, so the reads
// that follow at once (a scaffolded service's catalog-info.yaml being registered) need no git process.
// A commit never changes, so a remembered file is always right.
type recentCommits struct {
	mu    sync.Mutex
	order []string                     // keys, oldest first
	files map[string]map[string][]byte // "<repo path>\x00<commit>" → path → content
}

const recentMax = 32

func (c *recentCommits) remember(repoPath, commit string, changes []Change) {
	files := make(map[string][]byte, len(changes))
	for _, ch := range changes {
		if !ch.Delete && ch.Mode != "120000" {
			files[ch.Path] = ch.Content
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.files == nil {
		c.files = map[string]map[string][]byte{}
	}
	key := repoPath + "\x00" + commit
	c.files[key] = files
	c.order = append(c.order, key)
	if len(c.order) > recentMax {
		delete(c.files, c.order[0])
		c.order = c.order[1:]
	}
}

func (c *recentCommits) file(repoPath, commit, path string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.files[repoPath+"\x00"+commit][path]
	return b, ok
}
