package registry

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// page is a parsed n/last pagination request; n < 0 means no limit.
type page struct {
	n    int
	last string
}

func parsePage(q url.Values) (page, error) {
	p := page{n: -1, last: q.Get("last")}
	if s := q.Get("n"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return page{}, newAPIError(http.StatusBadRequest, codePaginationInvalid,
				"query parameter n is %q: it must be a non-negative integer", s)
		}
		p.n = n
	}
	return p, nil
}

// full reports whether a page already holds n entries.
func (p page) full(count int) bool { return p.n >= 0 && count >= p.n }

// setNextLink adds the RFC 5988 Link header clients follow for the next page.
func setNextLink(w http.ResponseWriter, path string, p page, last string) {
	q := url.Values{"n": {strconv.Itoa(p.n)}, "last": {last}}
	w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, path, q.Encode()))
}

type tagList struct {
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

// getTags serves GET /v2/<name>/tags/list, tags in lexical order.
func (r *Registry) getTags(w http.ResponseWriter, req *http.Request, c *call) error {
	p, err := parsePage(req.URL.Query())
	if err != nil {
		return err
	}
	all, err := listNames(r.tagsDir(c.name))
	if err != nil {
		return fmt.Errorf("listing tags of %s: %w", c.name, err)
	}
	tags := []string{}
	for _, tag := range all {
		if p.last != "" && tag <= p.last {
			continue
		}
		if p.full(len(tags)) {
			if p.n > 0 {
				setNextLink(w, "/v2/"+c.name+"/tags/list", p, tags[len(tags)-1])
			}
			break
		}
		tags = append(tags, tag)
	}
	return writeJSON(w, req, http.StatusOK, tagList{Name: c.name, Tags: tags})
}

type catalog struct {
	Repositories []string `json:"repositories"`
}

// getCatalog serves GET /v2/_catalog, listing only the repositories the
// subject may pull: the Authorizer is asked for each.
func (r *Registry) getCatalog(w http.ResponseWriter, req *http.Request, _ *call) error {
	p, err := parsePage(req.URL.Query())
	if err != nil {
		return err
	}
	repos := []string{}
	for _, name := range r.repoNames() {
		if p.last != "" && name <= p.last {
			continue
		}
		ok, err := r.mayPull(req, name)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if p.full(len(repos)) {
			if p.n > 0 {
				setNextLink(w, "/v2/_catalog", p, repos[len(repos)-1])
			}
			break
		}
		repos = append(repos, name)
	}
	return writeJSON(w, req, http.StatusOK, catalog{Repositories: repos})
}

// mayPull asks the Authorizer about one repository. A refusal hides the
// repository; any other failure fails the listing rather than silently
// showing a partial catalog.
func (r *Registry) mayPull(req *http.Request, name string) (bool, error) {
	_, err := r.authorizeRequest(req, name, Pull)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrDenied), errors.Is(err, ErrUnauthenticated):
		return false, nil
	default:
		return false, fmt.Errorf("authorizing pull of %s for the catalog: %w", name, err)
	}
}
