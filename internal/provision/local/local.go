// Package local provisions contracts with goldenpath's embedded backends: ECRRequests become repositories in
// the embedded OCI registry, S3Requests buckets in the embedded object store, SecretRequests encrypted
// secrets, RDSRequests a database and role on the configured PostgreSQL server; EKSRequests are validated
// but cannot be provisioned locally. Every resource carries the request's ID so that a repeated step finds
// what an interrupted one created.
package local

import (
	"context"
	"errors"
	"fmt"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/reconcile"
	"github.com/goldenpathidp/goldenpath/internal/secrets"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// Labels and tags goldenpath puts on what it creates.
const (
	LabelRequestID = "goldenpath.io/request-id"
	LabelOwner     = "goldenpath.io/owner"
	LabelTeam      = "goldenpath.io/team"
)

// Vault is where provisioners keep generated credentials.
type Vault interface {
	Put(ctx context.Context, name string, value secrets.Value, actor string) error
	Get(ctx context.Context, name string) (secrets.Value, store.Secret, error)
	Delete(ctx context.Context, name string) error
}

// SecretPrefix is where the secret outputs of a request live in the vault; only its owners may read them.
func SecretPrefix(id contract.ID) string { return "request/" + string(id) + "/" }

// getOrCreate returns the secret called name, generating and storing it first if it does not exist yet, so
// an interrupted provisioning reuses the same credential.
func getOrCreate(ctx context.Context, v Vault, name string, gen func() secrets.Value) (secrets.Value, error) {
	val, _, err := v.Get(ctx, name)
	if err == nil {
		return val, nil
	}
	if !isNotFound(err) {
		return nil, reconcile.Transient("VaultError", err, "reading %s", name)
	}
	val = gen()
	if err := v.Put(ctx, name, val, "goldenpath"); err != nil {
		return nil, reconcile.Transient("VaultError", err, "storing %s", name)
	}
	return val, nil
}

func labels(r *contract.Request) map[string]string {
	return map[string]string{LabelRequestID: string(r.ID()), LabelOwner: r.Metadata.Owner, LabelTeam: r.Metadata.Team}
}

// notManaged is the error for a name that exists but was not created for this request.
func notManaged(what, name string, r *contract.Request, owner string) error {
	if owner == "" {
		owner = "nobody (it was not created by goldenpath)"
	}
	return reconcile.Permanent("NameTaken", "%s %q already exists and belongs to %s, not %s; goldenpath will not take it over — rename the request",
		what, name, owner, r.ID())
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func quota(gb int, unit string) string {
	if gb == 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%d %s", gb, unit)
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
