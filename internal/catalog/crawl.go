package catalog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"path"
	"slices"
	"strings"
)

// crawlResult is what reading a location and the Location entities it leads to produced.
type crawlResult struct {
	claims []claim
	errs   EntityErrors
	keep   map[string]bool // refs of currently invalid documents: their stored version stays
	unread map[string]bool // managed-by-location values of files that could not be read or parsed in full
}

// crawler holds the state of one crawl: what has been queued, and which file provided each ref first.
type crawler struct {
	c         *Catalog
	loc       Location
	res       crawlResult
	queue     []string
	visited   map[string]bool
	firstFile map[string]string
	parents   map[string]string // file → ref of the Location entity that led to it
}

// crawl reads a url location and follows the Location entities in it (breadth first, each file once).
// Only a failure to read the root target is fatal; everything else is a per-entity error.
func (c *Catalog) crawl(ctx context.Context, loc Location) (crawlResult, error) {
	cr := &crawler{c: c, loc: loc, queue: []string{loc.Target}, visited: map[string]bool{loc.Target: true},
		firstFile: map[string]string{}, parents: map[string]string{}, res: crawlResult{keep: map[string]bool{}, unread: map[string]bool{}}}
	for len(cr.queue) > 0 {
		target := cr.queue[0]
		cr.queue = cr.queue[1:]
		data, err := c.read(ctx, target)
		if err != nil {
			if target == loc.Target {
				return cr.res, fmt.Errorf("reading %s: %w: %w", target, ErrUnreadable, err)
			}
			cr.res.unread[loc.Type+":"+target] = true
			cr.res.errs = append(cr.res.errs, &EntityError{File: target, Rule: "cannot read: " + err.Error(), Err: err})
			continue
		}
		cr.file(ctx, target, data)
	}
	return cr.res, nil
}

// file claims the entities of one file and queues the files its Location entities point at.
func (cr *crawler) file(ctx context.Context, target string, data []byte) {
	source, origin := cr.loc.Type+":"+target, cr.loc.Type+":"+cr.loc.Target
	entities, errs := ParseEntities(target, data)
	cr.res.noteErrors(source, errs)
	for _, e := range entities {
		ref := e.Ref().String()
		if first, dup := cr.firstFile[ref]; dup {
			cr.res.errs = append(cr.res.errs, &EntityError{File: target, Ref: ref, Err: ErrConflict,
				Rule: "is also defined in " + first + ", which keeps it"})
			continue
		}
		cr.firstFile[ref] = target
		if err := cr.c.resolvePlaceholders(ctx, target, e); err != nil {
			// Storing the entity with its placeholder unresolved would be wrong; its last good version stays.
			cr.res.errs = append(cr.res.errs, err)
			cr.res.keep[ref] = true
			continue
		}
		annotate(e, source, origin)
		cr.res.claims = append(cr.res.claims, claim{entity: e, file: target, parent: cr.parents[target]})
		for _, next := range cr.c.follow(target, e, &cr.res) {
			cr.enqueue(target, ref, next)
		}
	}
}

func (cr *crawler) enqueue(from, ref, next string) {
	if cr.visited[next] {
		return
	}
	// Registering a location needs the rights over its repository (see access.go); a Location entity that led
	// into another owner's repository would register that repository's files, and keep their names, without them.
	if root, owner := cr.c.opts.Owner(cr.loc.Target), cr.c.opts.Owner(next); owner != root {
		cr.res.errs = append(cr.res.errs, &EntityError{File: from, Ref: ref, Field: "spec.targets",
			Rule: fmt.Sprintf("%s is in a repository owned by %s, not by %s like the location's own; a location may lead only to files of repositories with its owner, so it is not read",
				next, ownerName(owner), ownerName(root))})
		return
	}
	if len(cr.visited) >= cr.c.opts.MaxFiles {
		cr.res.errs = append(cr.res.errs, &EntityError{File: from, Ref: ref, Field: "spec.targets",
			Rule: fmt.Sprintf("location expands to more than %d files; %s is not read", cr.c.opts.MaxFiles, next)})
		return
	}
	cr.visited[next] = true
	cr.parents[next] = ref
	cr.queue = append(cr.queue, next)
}

// ownerName words a repository owner for messages.
func ownerName(owner string) string {
	if owner == "" {
		return "no one"
	}
	return owner
}

// noteErrors records a file's errors. An invalid entity whose ref is known keeps its stored version; an
// error that cannot be tied to an entity (broken YAML) keeps the whole file's entities.
func (res *crawlResult) noteErrors(source string, errs []error) {
	for _, err := range errs {
		res.errs = append(res.errs, err)
		var ee *EntityError
		if errors.As(err, &ee) && ee.Ref != "" {
			res.keep[ee.Ref] = true
		} else {
			res.unread[source] = true
		}
	}
}

// follow returns the absolute targets of a Location entity; relative ones are resolved against the file
// the entity came from, as Backstage does.
func (c *Catalog) follow(file string, e *Entity, res *crawlResult) []string {
	if e.Kind != "Location" {
		return nil
	}
	if t, _ := e.Spec["type"].(string); t != "" && t != "url" {
		res.errs = append(res.errs, &EntityError{File: file, Ref: e.Ref().String(), Field: "spec.type",
			Rule: fmt.Sprintf("location type %q is not supported; use url", t)})
		return nil
	}
	var out []string
	targets := refValues(e.Spec["targets"])
	if t, ok := e.Spec["target"].(string); ok {
		targets = append([]string{t}, targets...)
	}
	for _, t := range targets {
		out = append(out, resolveTarget(file, t))
	}
	return out
}

// resolveTarget resolves target against base: URLs by RFC 3986, plain paths relative to base's directory.
func resolveTarget(base, target string) string {
	if b, err := url.Parse(base); err == nil && b.Scheme != "" {
		if t, err := url.Parse(target); err == nil {
			return b.ResolveReference(t).String()
		}
	}
	if strings.Contains(target, "://") || path.IsAbs(target) {
		return target
	}
	return path.Join(path.Dir(base), target)
}

// resolvePlaceholders replaces Backstage placeholders among the spec's fields ({$text: ./openapi.yaml},
// $json, $yaml, $openapi, $asyncapi) by the referenced file, read through the same Reader.
func (c *Catalog) resolvePlaceholders(ctx context.Context, file string, e *Entity) error {
	for _, k := range slices.Sorted(maps.Keys(e.Spec)) {
		if !isPlaceholder(e.Spec[k]) {
			continue
		}
		for kind, raw := range e.Spec[k].(map[string]any) {
			v, err := c.placeholder(ctx, file, kind, raw.(string))
			if err != nil {
				return &EntityError{File: file, Ref: e.Ref().String(), Field: "spec." + k, Rule: err.Error(), Err: err}
			}
			e.Spec[k] = v
		}
	}
	return nil
}

func (c *Catalog) placeholder(ctx context.Context, file, kind, target string) (any, error) {
	abs := resolveTarget(file, target)
	data, err := c.read(ctx, abs)
	if err != nil {
		return nil, fmt.Errorf("%s %s: cannot read %s: %w", kind, target, abs, err)
	}
	switch kind {
	case "$json", "$yaml":
		v, err := decodeData(data)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", kind, target, err)
		}
		return v, nil
	}
	// $text, and $openapi/$asyncapi which Backstage also inlines as text.
	return string(data), nil
}
