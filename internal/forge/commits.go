package forge

import (
	"context"
	"fmt"
	"strings"
)

// Commits lists the commits reachable from head but not from base, newest first: what a branch adds.
func (r *Repo) Commits(ctx context.Context, base, head string) ([]string, error) {
	out, err := r.git(ctx, runOpts{}, "rev-list", head, "^"+base, "--")
	if err != nil {
		return nil, fmt.Errorf("listing the commits %s adds to %s in %s: %w", short(head), short(base), r.name, err)
	}
	return strings.Fields(string(out)), nil
}

// introduced lists the commits a push made reachable that no ref outside the push reached before it: the
// new tips' history minus every other ref and minus the pushed refs' old values. Called after git updated
// the refs.
func (r *Repo) introduced(ctx context.Context, updates []RefUpdate) ([]string, error) {
	var args []string
	for _, u := range updates {
		if u.New != ZeroSHA {
			args = append(args, u.New)
		}
	}
	if len(args) == 0 {
		return nil, nil
	}
	args = append([]string{"rev-list"}, args...)
	args = append(args, "--not")
	for _, u := range updates {
		args = append(args, "--exclude="+u.Ref)
	}
	args = append(args, "--glob=refs/*") // every ref; --all would add HEAD, which follows a pushed branch
	for _, u := range updates {
		if u.Old != ZeroSHA {
			args = append(args, u.Old)
		}
	}
	out, err := r.git(ctx, runOpts{}, append(args, "--")...)
	if err != nil {
		return nil, fmt.Errorf("listing the commits a push introduced in %s: %w", r.name, err)
	}
	return strings.Fields(string(out)), nil
}

func short(sha string) string {
	if len(sha) > 10 {
		return sha[:10]
	}
	return sha
}
