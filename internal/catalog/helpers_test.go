package catalog

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// files is a tiny file server standing in for the forge: the catalog reads it over real HTTP, the way
// goldenpath's Reader reads the embedded forge.
type files struct {
	mu    sync.Mutex
	data  map[string]string // path -> content
	reads map[string]int
	srv   *httptest.Server
}

func newFiles(t *testing.T) *files {
	t.Helper()
	f := &files{data: map[string]string{}, reads: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		body, ok := f.data[r.URL.Path]
		f.reads[r.URL.Path]++
		f.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *files) set(path, content string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data[path] = content
}

func (f *files) remove(path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.data, path)
}

func (f *files) url(path string) string { return f.srv.URL + path }

// read is the Reader: a plain HTTP GET.
func (f *files) read(ctx context.Context, target string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", target, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// clock is a settable time source for orphan grace tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func openCatalog(t *testing.T, read Reader, opts Options) (*Catalog, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "catalog.db")
	c, err := OpenWith(context.Background(), path, read, nil, opts)
	if err != nil {
		t.Fatalf("OpenWith: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, path
}

func mustGet(t *testing.T, c *Catalog, ref string) *Entity {
	t.Helper()
	r, err := ParseRef(ref, "", "")
	if err != nil {
		t.Fatal(err)
	}
	e, err := c.Get(context.Background(), r)
	if err != nil {
		t.Fatalf("Get(%s): %v", ref, err)
	}
	return e
}

func hasRelation(e *Entity, typ, target string) bool {
	for _, r := range e.Relations {
		if r.Type == typ && r.TargetRef == target {
			return true
		}
	}
	return false
}

func component(name, owner string) string {
	return fmt.Sprintf(`apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: %s
spec:
  type: service
  lifecycle: production
  owner: %s
`, name, owner)
}
