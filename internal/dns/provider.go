package dns

import (
	"context"
	"fmt"
)

// Provider keeps a zone's records somewhere: the embedded server, Route53, or Terraform files. It is the seam
// between planning (pure) and applying.
type Provider interface {
	// Records returns every record set in the zone, ownership records and the apex SOA and NS included.
	Records(ctx context.Context, zone string) ([]Record, error)
	// ApplyChanges carries out a plan made by Calculate against what Records returned.
	ApplyChanges(ctx context.Context, zone string, plan Plan) error
}

// Sync reads the zone from p, plans desired against it and applies the plan; it returns the plan, applied
// unless err is set. The preview on a change request is Calculate against the same Records.
func Sync(ctx context.Context, p Provider, desired []Record, opts Options) (Plan, error) {
	current, err := p.Records(ctx, opts.Zone)
	if err != nil {
		return Plan{}, fmt.Errorf("reading zone %s: %w", opts.Zone, err)
	}
	plan, err := Calculate(desired, current, opts)
	if err != nil {
		return Plan{}, err
	}
	if !plan.HasChanges() {
		return plan, nil
	}
	if err := p.ApplyChanges(ctx, opts.Zone, plan); err != nil {
		return plan, fmt.Errorf("applying DNS plan to %s: %w", opts.Zone, err)
	}
	return plan, nil
}
