package app

import "net/http"

// catalogHandler serves Backstage's catalog API at /api/catalog/ (see catalog.Handler): every request needs
// a goldenpath token; changes need the developer role.
func (a *App) catalogHandler() http.Handler { return a.Catalog.Handler(a.Auth) }
