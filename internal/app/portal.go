package app

import "net/http"

// portalHandler serves the web portal at /. (Being built: see internal/portal.)
func (a *App) portalHandler() http.Handler { return http.NotFoundHandler() }
