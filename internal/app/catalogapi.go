package app

import "net/http"

// catalogHandler serves Backstage's catalog API at /api/catalog/. (Being built in internal/catalog.)
func (a *App) catalogHandler() http.Handler { return http.NotFoundHandler() }
