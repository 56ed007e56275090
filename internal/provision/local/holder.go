package local

import (
	"context"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/reconcile"
	"github.com/goldenpathidp/goldenpath/internal/secrets"
)

// A request's generated credentials (an S3 access key, a database password) are issued to its owner and
// team. When its contract names another owner or team (a transfer, which its current owners consented to
// on the change request), the old credentials are revoked and new ones issued, so the previous holders
// keep nothing that still works. The holder is recorded beside the credentials, outside the request's
// secret outputs.

func holderName(id contract.ID) string { return "holder/" + string(id) }

func holderOf(r *contract.Request) string { return r.Metadata.Owner + " of team " + r.Metadata.Team }

// transferredFrom returns whom r's credentials were issued to, if that is not r's owner and team now.
// Credentials issued before holders were recorded count as issued to the current owners.
func transferredFrom(ctx context.Context, v Vault, r *contract.Request) (string, bool, error) {
	held, _, err := v.Get(ctx, holderName(r.ID()))
	if isNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, reconcile.Transient("VaultError", err, "reading whom the credentials of %s were issued to", r.ID())
	}
	if held.Reveal() == holderOf(r) {
		return "", false, nil
	}
	return held.Reveal(), true, nil
}

// revokeOnTransfer deletes the vault entries named when r changed hands, so they are issued again; it
// reports whether it did. A crash after it and before recordHolder repeats the rotation, which is safe.
func revokeOnTransfer(ctx context.Context, v Vault, r *contract.Request, rec reconcile.Recorder, names ...string) (bool, error) {
	from, moved, err := transferredFrom(ctx, v, r)
	if err != nil || !moved {
		return false, err
	}
	if err := rec.Step(ctx, "rotate credentials: transferred from "+from+" to "+holderOf(r)); err != nil {
		return false, err
	}
	for _, n := range names {
		if err := v.Delete(ctx, n); err != nil {
			return false, reconcile.Transient("VaultError", err, "revoking %s", n)
		}
	}
	return true, nil
}

// recordHolder notes that r's credentials are now issued to its owner and team.
func recordHolder(ctx context.Context, v Vault, r *contract.Request) error {
	if err := v.Put(ctx, holderName(r.ID()), secrets.Value(holderOf(r)), "goldenpath"); err != nil {
		return reconcile.Transient("VaultError", err, "recording whom the credentials of %s were issued to", r.ID())
	}
	return nil
}
