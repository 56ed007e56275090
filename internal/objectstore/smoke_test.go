package objectstore_test

import (
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/objectstore"
)

func TestSmoke(t *testing.T) {
	e := newEnv(t)
	e.createBucket("alpha", objectstore.BucketOptions{})
	e.put(e.admin(), "alpha", "hello.txt", "hello world")
	if got := e.get(e.admin(), "alpha", "hello.txt"); got != "hello world" {
		t.Fatalf("got %q", got)
	}
}
