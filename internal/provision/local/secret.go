package local

import (
	"context"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/plan"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/reconcile"
)

// SecretValueName is the vault name of a SecretRequest's value.
func SecretValueName(id contract.ID) string { return SecretPrefix(id) + "value" }

// Secret provisions SecretRequests as encrypted secrets in goldenpath's vault. The value never passes through
// git: the owner sets it with `goldenpath secret set` once the request is ready.
type Secret struct {
	Vault Vault
}

var _ reconcile.Provisioner = (*Secret)(nil)

func (p *Secret) Describe(r *contract.Request, _ *platform.Config) []plan.Resource {
	return []plan.Resource{{Type: "secret", Name: string(r.ID()), Settings: []plan.Setting{
		{Name: "encryption", Value: "AES-256-GCM at rest"},
		{Name: "readable by", Value: "owner " + r.Metadata.Owner + ", team " + r.Metadata.Team + " and admins"},
		{Name: "value", Value: "set with `goldenpath secret set " + string(r.ID()) + "` (never in git)"},
	}}}
}

func (p *Secret) ConfigKey(*contract.Request, *platform.Config) string { return "" }

func (p *Secret) Apply(ctx context.Context, r *contract.Request, _ *platform.Config, rec reconcile.Recorder) (reconcile.Outputs, error) {
	if err := rec.Step(ctx, "prepare secret "+string(r.ID())); err != nil {
		return nil, err
	}
	_, _, err := p.Vault.Get(ctx, SecretValueName(r.ID()))
	if err != nil && !isNotFound(err) {
		return nil, reconcile.Transient("VaultError", err, "reading the secret")
	}
	// The value is the owners' own (an API key, say), which goldenpath cannot mint anew: after a transfer
	// only the new owners can read it, and they are told to replace what the previous owners knew.
	if from, moved, terr := transferredFrom(ctx, p.Vault, r); terr != nil {
		return nil, terr
	} else if moved && err == nil {
		rec.Event(ctx, "RotateValue", "transferred from "+from+", who knew the value: set a new one with `goldenpath secret set "+string(r.ID())+"`")
	}
	if err := recordHolder(ctx, p.Vault, r); err != nil {
		return nil, err
	}
	return reconcile.Outputs{"secret": string(r.ID()), "setWith": "goldenpath secret set " + string(r.ID()),
		"readWith": "goldenpath secret get " + string(r.ID())}, nil
}

func (p *Secret) Delete(ctx context.Context, r *contract.Request, _ *platform.Config, rec reconcile.Recorder) error {
	if err := rec.Step(ctx, "destroy secret "+string(r.ID())); err != nil {
		return err
	}
	for _, n := range []string{SecretValueName(r.ID()), holderName(r.ID())} {
		if err := p.Vault.Delete(ctx, n); err != nil {
			return reconcile.Transient("VaultError", err, "deleting %s", n)
		}
	}
	return nil
}
