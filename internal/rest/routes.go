package rest

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/provision/local"
	"github.com/goldenpathidp/goldenpath/internal/request"
	"github.com/goldenpathidp/goldenpath/internal/secrets"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

func (s *Server) table() []route {
	return []route{
		{method: "GET", path: "/api/v1/openapi.json", summary: "This document.", public: true, handle: s.openapi},
		{method: "GET", path: "/api/v1/whoami", summary: "The authenticated user.", handle: s.whoami},
		{method: "GET", path: "/api/v1/platform", summary: "Domain, environments, size classes, endpoints and reconciler status.", handle: s.platform},
		{method: "GET", path: "/api/v1/schemas/{kind}", summary: "The JSON Schema of a contract kind (or of platform.yaml with kind=platform).", public: true, handle: s.schema},
		{method: "POST", path: "/api/v1/requests", summary: "File a request (a contract, YAML or JSON): opens a change request that adds or updates its file; ?file=NAME names the body in validation errors.", body: "contract", handle: s.createRequest},
		{method: "GET", path: "/api/v1/requests", summary: "List requests; filters kind, environment, owner, team, phase; all=true includes deleted and rejected.", handle: s.listRequests},
		{method: "GET", path: "/api/v1/requests/{id}", summary: "A request with its conditions, outputs, timeline and change requests.", handle: s.getRequest},
		{method: "DELETE", path: "/api/v1/requests/{id}", summary: "Propose deleting a request: opens a change request that removes its contract.", handle: s.deleteRequest},
		{method: "GET", path: "/api/v1/requests/{id}/credentials", summary: "Outputs and secret outputs (passwords, keys) of a request; owners only.", handle: s.credentials},
		{method: "GET", path: "/api/v1/changes", summary: "List change requests; filters state, author.", handle: s.listChanges},
		{method: "POST", path: "/api/v1/changes", summary: "Open a change request for a branch pushed to the platform repository.", body: "openChange", handle: s.openChange},
		{method: "GET", path: "/api/v1/changes/{number}", summary: "A change request with checks, plan, approvals, reviews, comments; diff=true adds file patches.", handle: s.getChange},
		{method: "POST", path: "/api/v1/changes/{number}/approve", summary: "Approve (approver role; not the author).", body: "review", handle: s.approve},
		{method: "POST", path: "/api/v1/changes/{number}/reject", summary: "Reject (approver role).", body: "reason", handle: s.reject},
		{method: "POST", path: "/api/v1/changes/{number}/close", summary: "Withdraw (author or admin).", body: "reason", handle: s.closeChange},
		{method: "POST", path: "/api/v1/changes/{number}/merge", summary: "Merge into main; refused with reasons while checks fail or approvals are missing.", handle: s.merge},
		{method: "POST", path: "/api/v1/changes/{number}/comments", summary: "Comment.", body: "comment", handle: s.comment},
		{method: "PUT", path: "/api/v1/secrets/{id}", summary: "Set the value of a SecretRequest's secret (owners only); body {value}.", body: "secretValue", handle: s.setSecret},
		{method: "GET", path: "/api/v1/secrets/{id}", summary: "Read a SecretRequest's value (owners and admins only).", handle: s.getSecret},
		{method: "GET", path: "/api/v1/edge", summary: "Routes, desired DNS records, problems and the dev gateway's addresses.", handle: s.edgeView},
		{method: "GET", path: "/api/v1/dns/plan", summary: "The DNS changes that would be applied; env filters to one environment.", handle: s.dnsPlan},
		{method: "POST", path: "/api/v1/dns/apply", summary: "Apply the DNS plan (admin); env limits it to one environment.", handle: s.dnsApply},
		{method: "GET", path: "/api/v1/gateway/ca.pem", summary: "The dev gateway's root certificate, to trust its HTTPS.", public: true, handle: s.caCert},
		{method: "GET", path: "/api/v1/apps", summary: "Apps (repositories with a score.yaml): per environment the pinned image, URLs and what runs.", handle: s.listApps},
		{method: "GET", path: "/api/v1/apps/{name}", summary: "One app: per environment the pinned image, URLs, local process or Kubernetes rollout.", handle: s.getApp},
		{method: "GET", path: "/api/v1/apps/{name}/logs", summary: "The tail of a locally run app's output, for the app's team and admins; env (an environment of platform.yaml) defaults to dev.", handle: s.appLogs},
		{method: "GET", path: "/api/v1/deployments", summary: "Recent deployments, newest first; app filters.", handle: s.deployments},
		{method: "GET", path: "/api/v1/audit", summary: "The audit log, newest first (admin); limit (default 100, at most 1000).", handle: s.auditLog},
		{method: "GET", path: "/api/v1/users", summary: "List users (admin).", handle: s.listUsers},
		{method: "POST", path: "/api/v1/users", summary: "Create a user (admin).", body: "user", handle: s.addUser},
		{method: "POST", path: "/api/v1/users/{name}/tokens", summary: "Issue an API token for a user (admin, or the user for themselves); the token is shown once. It never outlives the caller's own token: ttl defaults to what that has left.", body: "tokenRequest", handle: s.issueToken},
		{method: "GET", path: "/api/v1/users/{name}/tokens", summary: "A user's API tokens: id, description, created, expires, last used; never the token (the user, or admins).", handle: s.listTokens},
		{method: "DELETE", path: "/api/v1/tokens/{id}", summary: "Revoke an API token (its user, or admins): it stops working at once for the API, git, the registry and the portal.", handle: s.revokeToken},
		{method: "PATCH", path: "/api/v1/users/{name}", summary: "Replace a user's roles and/or teams (admin); effective at once for their tokens and portal sessions.", body: "userChange", handle: s.changeUser},
		{method: "DELETE", path: "/api/v1/users/{name}", summary: "Delete a user (admin): all their tokens are revoked and their portal sessions end.", handle: s.deleteUser},
	}
}

func (s *Server) whoami(w http.ResponseWriter, _ *http.Request, p auth.Principal) error {
	return writeJSON(w, http.StatusOK, p)
}

func (s *Server) platform(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	cfg, err := s.Requests.Config(r.Context())
	if err != nil {
		return err
	}
	st, err := s.Status.LastStatus(r.Context())
	if err != nil {
		return err
	}
	cfg.Local.Postgres.URL = platform.Redact(cfg.Local.Postgres.URL)
	return writeJSON(w, http.StatusOK, map[string]any{"version": s.Version, "config": cfg, "endpoints": s.Endpoints, "reconciler": st})
}

func (s *Server) schema(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	k := r.PathValue("kind")
	if strings.EqualFold(k, "platform") {
		w.Header().Set("Content-Type", "application/schema+json")
		_, err := w.Write(platform.Schema())
		return err
	}
	info, err := contract.LookupKind(k)
	if err != nil {
		return problem.Field("kind", "%v (or platform)", err)
	}
	raw, err := contract.SchemaJSON(info.Kind)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/schema+json")
	_, err = w.Write(raw)
	return err
}

func (s *Server) createRequest(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	file, err := bodyFileName(r.URL.Query().Get("file"))
	if err != nil {
		return err
	}
	req, err := request.ParseBodyAs(file, body)
	if err != nil {
		return err
	}
	filed, err := s.Requests.Create(r.Context(), p, req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, filed)
}

// bodyFileName is the ?file= of a filing: the name of the client's file the body was read from, which
// validation errors then name instead of "request body" (so `request create -f orders.yaml` says orders.yaml:4).
func bodyFileName(name string) (string, error) {
	if len(name) > 256 || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return "", problem.Field("file", "must be a file name of at most 256 printable characters")
	}
	return name, nil
}

func (s *Server) listRequests(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	q := r.URL.Query()
	f := store.RequestFilter{Environment: q.Get("environment"), Owner: q.Get("owner"), Team: q.Get("team"), Phase: q.Get("phase"),
		Active: q.Get("all") != "true"}
	if k := q.Get("kind"); k != "" {
		info, err := contract.LookupKind(k)
		if err != nil {
			return problem.Field("kind", "%v", err)
		}
		f.Kind = string(info.Kind)
	}
	list, err := s.Store.ListRequests(r.Context(), f)
	if err != nil {
		return err
	}
	if list == nil {
		list = []store.Request{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": list})
}

// RequestView is a request with its timeline and change requests.
type RequestView struct {
	store.Request
	Events  []store.Event  `json:"events"`
	Changes []store.Change `json:"changes"`
}

func (s *Server) lookupRequest(r *http.Request) (store.Request, error) {
	id := r.PathValue("id")
	if _, _, _, err := contract.ParseID(id); err != nil {
		return store.Request{}, problem.Field("id", "%v", err)
	}
	rec, err := s.Store.GetRequest(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return rec, problem.New(problem.NotFound, "request %s does not exist", id)
	}
	return rec, err
}

func (s *Server) getRequest(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	rec, err := s.lookupRequest(r)
	if err != nil {
		return err
	}
	v := RequestView{Request: rec}
	if v.Events, err = s.Store.Events(r.Context(), rec.ID, 500); err != nil {
		return err
	}
	if v.Changes, err = s.Changes.List(r.Context(), store.ChangeFilter{RequestID: rec.ID}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) deleteRequest(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	filed, err := s.Requests.Delete(r.Context(), p, contract.ID(r.PathValue("id")))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, filed)
}

func (s *Server) credentials(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rec, err := s.lookupRequest(r)
	if err != nil {
		return err
	}
	if !p.Owns(rec.Owner, rec.Team) {
		return problem.New(problem.Forbidden, "only the owner (%s), members of team %s and admins can read the credentials of %s", rec.Owner, rec.Team, rec.ID)
	}
	prefix := local.SecretPrefix(contract.ID(rec.ID))
	names, err := s.Vault.List(r.Context(), prefix)
	if err != nil {
		return err
	}
	sec := map[string]string{}
	for _, n := range names {
		key := strings.TrimPrefix(n, prefix)
		if n == local.SecretValueName(contract.ID(rec.ID)) || rec.Outputs[key] != "" {
			continue // a SecretRequest's value is read through /secrets; outputs are shown once
		}
		v, _, err := s.Vault.Get(r.Context(), n)
		if err != nil {
			return err
		}
		sec[key] = v.Reveal()
	}
	s.audit(r, p, "request.credentials", rec.ID)
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, map[string]any{"id": rec.ID, "phase": rec.Phase, "outputs": rec.Outputs, "secrets": sec})
}

func (s *Server) audit(r *http.Request, p auth.Principal, action, target string) {
	_ = s.Store.Audit(r.Context(), store.AuditEntry{Time: time.Now().UTC(), Actor: p.Name, Action: action, Target: target})
}

func changeNumber(r *http.Request) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimPrefix(r.PathValue("number"), "#"), 10, 64)
	if err != nil || n <= 0 {
		return 0, problem.Field("number", "must be a positive change request number, got %q", r.PathValue("number"))
	}
	return n, nil
}

func (s *Server) listChanges(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	q := r.URL.Query()
	state := q.Get("state")
	if state != "" && !slices.Contains([]string{store.ChangeOpen, store.ChangeMerged, store.ChangeRejected, store.ChangeClosed}, state) {
		return problem.Field("state", "must be open, merged, rejected or closed, got %q", state)
	}
	list, err := s.Changes.List(r.Context(), store.ChangeFilter{Repo: q.Get("repo"), State: state, Author: q.Get("author"), Limit: 200})
	if err != nil {
		return err
	}
	if list == nil {
		list = []store.Change{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": list})
}

type openChangeBody struct {
	Repo   string `json:"repo"` // default: the platform repository
	Branch string `json:"branch"`
	Title  string `json:"title"`
	Body   string `json:"body"`
}

func (s *Server) openChange(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var in openChangeBody
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := s.Changes.OpenBranch(r.Context(), p, in.Repo, in.Branch, in.Title, in.Body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, c)
}

func (s *Server) getChange(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	n, err := changeNumber(r)
	if err != nil {
		return err
	}
	v, err := s.Changes.View(r.Context(), n, r.URL.Query().Get("diff") == "true")
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

type reviewBody struct {
	Comment string `json:"comment"`
}

type reasonBody struct {
	Reason string `json:"reason"`
}

// optionalJSON decodes a body that may be empty.
func optionalJSON(r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return decode(r, v)
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	n, err := changeNumber(r)
	if err != nil {
		return err
	}
	var in reviewBody
	if err := optionalJSON(r, &in); err != nil {
		return err
	}
	rev, err := s.Changes.Approve(r.Context(), p, n, in.Comment)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rev)
}

func (s *Server) reject(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return s.closeWith(w, r, p, s.Changes.Reject)
}

func (s *Server) closeChange(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return s.closeWith(w, r, p, s.Changes.Close)
}

func (s *Server) closeWith(w http.ResponseWriter, r *http.Request, p auth.Principal,
	fn func(ctx context.Context, p auth.Principal, n int64, reason string) (store.Change, error)) error {
	n, err := changeNumber(r)
	if err != nil {
		return err
	}
	var in reasonBody
	if err := optionalJSON(r, &in); err != nil {
		return err
	}
	c, err := fn(r.Context(), p, n, in.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

func (s *Server) merge(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	n, err := changeNumber(r)
	if err != nil {
		return err
	}
	c, err := s.Changes.Merge(r.Context(), p, n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

type commentBody struct {
	Body string `json:"body"`
}

func (s *Server) comment(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	n, err := changeNumber(r)
	if err != nil {
		return err
	}
	var in commentBody
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := s.Changes.Comment(r.Context(), p, n, in.Body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, c)
}

type secretBody struct {
	Value string `json:"value"`
}

// secretRequest finds a provisioned SecretRequest the caller owns.
func (s *Server) secretRequest(r *http.Request, p auth.Principal) (store.Request, error) {
	rec, err := s.lookupRequest(r)
	if err != nil {
		return rec, err
	}
	if rec.Kind != string(contract.Secret) {
		return rec, problem.Field("id", "%s is a %s, not a SecretRequest", rec.ID, rec.Kind)
	}
	if !p.Owns(rec.Owner, rec.Team) {
		return rec, problem.New(problem.Forbidden, "only the owner (%s), members of team %s and admins can use secret %s", rec.Owner, rec.Team, rec.ID)
	}
	if rec.Phase != store.PhaseReady {
		return rec, problem.New(problem.Precondition, "secret %s is %s, not Ready: its change request must be approved and merged first", rec.ID, rec.Phase)
	}
	return rec, nil
}

func (s *Server) setSecret(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rec, err := s.secretRequest(r, p)
	if err != nil {
		return err
	}
	var in secretBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Value == "" {
		return problem.Field("value", "is required and must not be empty")
	}
	if len(in.Value) > secrets.MaxValueBytes {
		return problem.Field("value", "is longer than %d bytes", secrets.MaxValueBytes)
	}
	if err := s.Vault.Put(r.Context(), local.SecretValueName(contract.ID(rec.ID)), secrets.Value(in.Value), p.Name); err != nil {
		return err
	}
	_, _ = s.Store.UpdateRequest(r.Context(), rec.ID, func(*store.Request) ([]store.Event, error) {
		return []store.Event{{Reason: "SecretValueSet", Message: "value set by " + p.Name, Actor: p.Name}}, nil
	})
	s.audit(r, p, "secret.set", rec.ID)
	_, meta, err := s.Vault.Get(r.Context(), local.SecretValueName(contract.ID(rec.ID)))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"id": rec.ID, "version": meta.Version, "updatedAt": meta.UpdatedAt})
}

func (s *Server) getSecret(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rec, err := s.secretRequest(r, p)
	if err != nil {
		return err
	}
	v, meta, err := s.Vault.Get(r.Context(), local.SecretValueName(contract.ID(rec.ID)))
	if errors.Is(err, store.ErrNotFound) {
		return problem.New(problem.NotFound, "secret %s has no value yet: set it with `goldenpath secret set %s`", rec.ID, rec.ID)
	}
	if err != nil {
		return err
	}
	s.audit(r, p, "secret.read", rec.ID)
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, map[string]any{"id": rec.ID, "value": v.Reveal(), "version": meta.Version, "updatedAt": meta.UpdatedAt, "updatedBy": meta.UpdatedBy})
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Is(store.RoleAdmin) {
		return problem.New(problem.Forbidden, "listing users needs the admin role")
	}
	users, err := s.Store.ListUsers(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": users})
}

type userBody struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"displayName"`
	Email       string   `json:"email"`
	Roles       []string `json:"roles"`
	Teams       []string `json:"teams"`
}

func (s *Server) addUser(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Is(store.RoleAdmin) {
		return problem.New(problem.Forbidden, "creating users needs the admin role")
	}
	var in userBody
	if err := decode(r, &in); err != nil {
		return err
	}
	u := store.User{Name: in.Name, DisplayName: in.DisplayName, Email: in.Email, Roles: in.Roles, Teams: in.Teams}
	if err := auth.ValidateUser(u); err != nil {
		return problem.New(problem.Invalid, "%v", err)
	}
	u, err := s.Users.AddUser(r.Context(), u)
	if errors.Is(err, store.ErrExists) {
		return problem.New(problem.Conflict, "user %q already exists", in.Name)
	}
	if err != nil {
		return err
	}
	s.audit(r, p, "user.add", "user/"+u.Name)
	return writeJSON(w, http.StatusCreated, u)
}

type tokenBody struct {
	Description string `json:"description"`
	TTL         string `json:"ttl"` // e.g. "720h"; empty = no expiry, or as long as the caller's own token
}

func (s *Server) issueToken(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	name := r.PathValue("name")
	if name != p.Name && !p.Is(store.RoleAdmin) {
		return problem.New(problem.Forbidden, "only admins can issue tokens for other users")
	}
	var in tokenBody
	if err := optionalJSON(r, &in); err != nil {
		return err
	}
	var ttl time.Duration
	if in.TTL != "" {
		d, err := time.ParseDuration(in.TTL)
		if err != nil || d <= 0 {
			return problem.Field("ttl", "must be a positive duration such as 720h, got %q", in.TTL)
		}
		ttl = d
	}
	tok, t, err := s.Users.Mint(r.Context(), p, name, in.Description, ttl) // checks, limits and audits
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, map[string]any{"token": tok, "id": t.ID, "user": t.User, "expiresAt": t.ExpiresAt})
}

func (s *Server) edgeView(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	v, err := s.Edge.View(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) dnsPlan(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	p, err := s.Edge.Plan(r.Context(), r.URL.Query().Get("env"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"plan": p, "text": p.String(), "changes": p.HasChanges()})
}

func (s *Server) dnsApply(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Is(store.RoleAdmin) {
		return problem.New(problem.Forbidden, "applying DNS changes needs the admin role")
	}
	plan, err := s.Edge.Apply(r.Context(), r.URL.Query().Get("env"))
	if err != nil {
		return err
	}
	s.audit(r, p, "dns.apply", r.URL.Query().Get("env"))
	return writeJSON(w, http.StatusOK, map[string]any{"plan": plan, "text": plan.String(), "changes": plan.HasChanges()})
}

func (s *Server) listApps(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	v, err := s.Apps.List(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) getApp(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	v, err := s.Apps.Get(r.Context(), p, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) appLogs(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	b, err := s.Apps.Logs(r.Context(), p, r.PathValue("name"), r.URL.Query().Get("env"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err = w.Write(b)
	return err
}

func (s *Server) deployments(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	v, err := s.Apps.Deployments(r.Context(), p, r.URL.Query().Get("app"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) caCert(w http.ResponseWriter, _ *http.Request, _ auth.Principal) error {
	pem := s.Edge.CACert()
	if pem == nil {
		return problem.New(problem.NotFound, "the dev gateway is off")
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, err := w.Write(pem)
	return err
}

func (s *Server) auditLog(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Is(store.RoleAdmin) {
		return problem.New(problem.Forbidden, "reading the audit log needs the admin role")
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 1000 {
			return problem.Field("limit", "must be a number from 1 to 1000, got %q", v)
		}
		limit = n
	}
	entries, err := s.Store.AuditLog(r.Context(), limit)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []store.AuditEntry{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": entries})
}
