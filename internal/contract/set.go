package contract

import (
	"sort"

	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/strictyaml"
)

// File is a file of the platform repository.
type File struct {
	Path    string
	Content []byte
}

// Set is every request found at one revision of the platform repository.
type Set struct {
	Requests map[ID]*Request
	// Errors lists every problem found; requests in a file with problems are left out of Requests and the
	// file is listed in Broken, so that a broken file is never mistaken for deleted requests.
	Errors strictyaml.Errors
	Broken map[string]bool
}

// Load reads the contracts among files and validates them against cfg, and against each other (one request
// per kind, environment and name).
func Load(files []File, cfg *platform.Config) *Set {
	s := &Set{Requests: map[ID]*Request{}, Broken: map[string]bool{}}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	for _, f := range files {
		if !IsContractPath(f.Path) {
			continue
		}
		rs, err := Parse(f.Path, f.Content, true)
		if err != nil {
			s.fail(f.Path, err)
			continue
		}
		var errs strictyaml.Errors
		inFile := map[ID]bool{}
		for _, r := range rs {
			errs = append(errs, r.Validate(cfg)...)
			if prev, dup := s.Requests[r.ID()]; dup || inFile[r.ID()] {
				where := f.Path
				if dup {
					where = prev.File
				}
				errs = append(errs, r.Errorf("metadata.name", "%s %q in environment %q is already defined in %s",
					r.Kind, r.Metadata.Name, r.Metadata.Environment, where))
			}
			inFile[r.ID()] = true
		}
		if len(errs) > 0 {
			s.fail(f.Path, errs)
			continue
		}
		for _, r := range rs {
			s.Requests[r.ID()] = r
		}
	}
	return s
}

func (s *Set) fail(path string, err error) {
	s.Broken[path] = true
	if fe, ok := strictyaml.AsErrors(err); ok {
		s.Errors = append(s.Errors, fe...)
		return
	}
	s.Errors = append(s.Errors, &strictyaml.FieldError{File: path, Rule: err.Error()})
}

// Sorted returns the requests ordered by ID.
func (s *Set) Sorted() []*Request {
	out := make([]*Request, 0, len(s.Requests))
	for _, r := range s.Requests {
		out = append(out, r)
	}
	SortRequests(out)
	return out
}

// InFile returns the requests that live in path.
func (s *Set) InFile(path string) []*Request {
	var out []*Request
	for _, r := range s.Requests {
		if r.Path() == path {
			out = append(out, r)
		}
	}
	SortRequests(out)
	return out
}
