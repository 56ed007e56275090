package local

import (
	"context"
	"fmt"
	"strconv"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/plan"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/reconcile"
	"github.com/goldenpathidp/goldenpath/internal/registry"
)

// Registry is what the ECR provisioner needs of the embedded registry.
type Registry interface {
	CreateRepository(ctx context.Context, name string, s registry.RepoSettings) (bool, error)
	Repository(ctx context.Context, name string) (registry.RepoInfo, bool, error)
	DeleteRepository(ctx context.Context, name string) error
	GarbageCollect(ctx context.Context) (registry.GCResult, error)
}

// ECR provisions ECRRequests as repositories of the embedded OCI registry.
type ECR struct {
	Registry Registry
	Host     string // host:port clients push to, e.g. 127.0.0.1:7070
}

var _ reconcile.Provisioner = (*ECR)(nil)

// RepositoryName is the registry path of an ECRRequest: "<environment>/<name>".
func RepositoryName(r *contract.Request) string {
	return r.Metadata.Environment + "/" + r.Metadata.Name
}

func (p *ECR) settings(r *contract.Request, cfg *platform.Config) registry.RepoSettings {
	return registry.RepoSettings{TagImmutability: r.Spec.TagImmutability, ScanOnPush: r.Spec.ScanOnPush,
		MaxImages: cfg.SizeClasses.ECR[r.Spec.Size].MaxImages, Labels: labels(r)}
}

func (p *ECR) Describe(r *contract.Request, cfg *platform.Config) []plan.Resource {
	s := p.settings(r, cfg)
	max := "unlimited"
	if s.MaxImages > 0 {
		max = strconv.Itoa(s.MaxImages)
	}
	return []plan.Resource{{Type: "OCI repository", Name: p.Host + "/" + RepositoryName(r), Settings: []plan.Setting{
		{Name: "tag immutability", Value: yesNo(s.TagImmutability)},
		{Name: "scan on push", Value: yesNo(s.ScanOnPush) + " (recorded; no scanner in the local backend)"},
		{Name: "max images", Value: max},
		{Name: "push access", Value: "owner " + r.Metadata.Owner + " and team " + r.Metadata.Team},
	}}}
}

func (p *ECR) ConfigKey(r *contract.Request, cfg *platform.Config) string {
	return strconv.Itoa(cfg.SizeClasses.ECR[r.Spec.Size].MaxImages)
}

func (p *ECR) Apply(ctx context.Context, r *contract.Request, cfg *platform.Config, rec reconcile.Recorder) (reconcile.Outputs, error) {
	name := RepositoryName(r)
	info, exists, err := p.Registry.Repository(ctx, name)
	if err != nil {
		return nil, reconcile.Transient("RegistryError", err, "looking up repository %s", name)
	}
	if exists && info.Settings.Labels[LabelRequestID] != string(r.ID()) {
		return nil, notManaged("repository", name, r, info.Settings.Labels[LabelRequestID])
	}
	if err := rec.Step(ctx, "create repository "+name); err != nil {
		return nil, err
	}
	if _, err := p.Registry.CreateRepository(ctx, name, p.settings(r, cfg)); err != nil {
		return nil, reconcile.Transient("RegistryError", err, "creating repository %s", name)
	}
	return reconcile.Outputs{
		"registry":      p.Host,
		"repository":    name,
		"repositoryUrl": p.Host + "/" + name,
		"login":         "user: your goldenpath user name; password: a goldenpath API token",
	}, nil
}

func (p *ECR) Delete(ctx context.Context, r *contract.Request, _ *platform.Config, rec reconcile.Recorder) error {
	name := RepositoryName(r)
	info, exists, err := p.Registry.Repository(ctx, name)
	if err != nil {
		return reconcile.Transient("RegistryError", err, "looking up repository %s", name)
	}
	if !exists || info.Settings.Labels[LabelRequestID] != string(r.ID()) {
		return nil
	}
	if err := rec.Step(ctx, "delete repository "+name); err != nil {
		return err
	}
	if err := p.Registry.DeleteRepository(ctx, name); err != nil {
		return reconcile.Transient("RegistryError", err, "deleting repository %s", name)
	}
	// Free the layers no other repository uses; a failure here leaves garbage, not a broken registry.
	if gc, err := p.Registry.GarbageCollect(ctx); err == nil {
		rec.Event(ctx, "GarbageCollected", fmt.Sprintf("freed %d blobs (%d bytes) no other repository uses", gc.Blobs, gc.Bytes))
	}
	return nil
}
