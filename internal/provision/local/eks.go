package local

import (
	"context"
	"strconv"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/plan"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/reconcile"
)

// EKS accepts EKSRequests in the local backend but cannot run a cluster: it says so clearly.
type EKS struct{}

var _ reconcile.Provisioner = (*EKS)(nil)

func (EKS) Describe(r *contract.Request, cfg *platform.Config) []plan.Resource {
	size := cfg.SizeClasses.EKS[r.Spec.Size]
	return []plan.Resource{{Type: "Kubernetes cluster", Name: r.Metadata.Name + "-" + r.Metadata.Environment, Settings: []plan.Setting{
		{Name: "kubernetes version", Value: r.Spec.KubernetesVersion},
		{Name: "nodes", Value: strconv.Itoa(size.NodeCount) + " × " + size.NodeInstanceType},
		{Name: "ttl", Value: r.Spec.TTL},
		{Name: "local backend", Value: "not provisionable locally; the request is validated and recorded"},
	}}}
}

func (EKS) ConfigKey(*contract.Request, *platform.Config) string { return "" }

func (EKS) Apply(ctx context.Context, r *contract.Request, _ *platform.Config, rec reconcile.Recorder) (reconcile.Outputs, error) {
	return nil, reconcile.Permanent("NotProvisionableLocally",
		"EKSRequest %s is valid and recorded, but the local backend cannot run Kubernetes clusters; set the backend of environment %q to aws or terraform once those backends are available",
		r.ID(), r.Metadata.Environment)
}

func (EKS) Delete(context.Context, *contract.Request, *platform.Config, reconcile.Recorder) error {
	return nil // nothing was ever created
}
