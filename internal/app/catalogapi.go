package app

import (
	"net/http"
	"strings"
)

// catalogHandler serves Backstage's catalog API at /api/catalog/ (see catalog.Handler): every request needs
// a goldenpath token; changes need the rights catalog/access.go describes.
func (a *App) catalogHandler() http.Handler { return a.Catalog.Handler(a.Auth) }

// catalogOwner names who owns the repository a catalog location points at, as for pushing to it
// (authorizeGit): the owner part of an owner/name repository of the forge, a team or a user. Single-name
// repositories (the platform repository) and targets outside the forge have no owner: "".
func (a *App) catalogOwner(target string) string {
	fu, err := a.parseForgeURL(target)
	if err != nil {
		return ""
	}
	owner, _, ok := strings.Cut(fu.repo, "/")
	if !ok {
		return ""
	}
	return owner
}
