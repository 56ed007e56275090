package aws

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/plan"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/reconcile"
)

// Provisioners returns the aws backend's provisioner of every contract kind, for
// reconcile.Backends[platform.BackendAWS]. Each reads the request's environment settings (the aws block of
// platform.yaml) on every call; ECRRequests are provisioned, the other kinds fail with a permanent error.
func Provisioners() map[contract.Kind]reconcile.Provisioner {
	ps := map[contract.Kind]reconcile.Provisioner{}
	for _, k := range contract.Kinds() {
		ps[k.Kind] = Unsupported{Kind: k.Kind}
	}
	ps[contract.ECR] = &ECRBackend{}
	return ps
}

// settings are an environment's aws block as the provisioners use it.
type settings struct {
	cfg      Config
	endpoint string
}

// envSettings resolves the aws settings of r's environment from platform.yaml.
func envSettings(r *contract.Request, pc *platform.Config) (settings, error) {
	env, ok := pc.Environment(r.Metadata.Environment)
	if !ok {
		return settings{}, reconcile.Permanent("UnknownEnvironment", "environment %q of %s is not defined in platform.yaml", r.Metadata.Environment, r.ID())
	}
	if env.AWS == nil {
		return settings{}, reconcile.Permanent("AWSNotConfigured", "environment %q has no aws block in platform.yaml (aws.region is required with backend aws)", env.Name)
	}
	a := env.AWS
	s := settings{endpoint: a.Endpoint, cfg: Config{Region: a.Region, Account: a.Account,
		AssumeRole: AssumeRole{ARN: a.AssumeRoleARN, ExternalID: a.ExternalID}, Tags: a.Tags, KMSKey: a.KMSKeyID}}
	if err := s.cfg.Validate(); err != nil {
		return settings{}, reconcile.Permanent("AWSNotConfigured", "environment %q: aws.%v", env.Name, err)
	}
	return s, nil
}

// key identifies the settings that shape an SDK client (fmt prints maps sorted by key).
func (s settings) key() string {
	return fmt.Sprintf("%s|%s|%s|%s|%s", s.cfg.Region, s.cfg.Account, s.cfg.AssumeRole.ARN, s.cfg.AssumeRole.ExternalID, s.endpoint)
}

// ECRBackend provisions ECRRequests with the settings of the request's environment. It builds one ECR
// client per distinct region/account/role/endpoint and keeps it, so that credentials (and an assumed
// role's session) are reused across requests.
type ECRBackend struct {
	mu      sync.Mutex
	clients map[string]*ecr.Client
}

var _ reconcile.Provisioner = (*ECRBackend)(nil)

// client returns the cached ECR client for s, building it on first use.
func (b *ECRBackend) client(ctx context.Context, s settings) (*ecr.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c, ok := b.clients[s.key()]; ok {
		return c, nil
	}
	awsCfg, err := s.cfg.AWSConfig(ctx)
	if err != nil {
		return nil, reconcile.Permanent("AWSNotConfigured", "%v", err)
	}
	c := ecr.NewFromConfig(awsCfg, func(o *ecr.Options) {
		if s.endpoint != "" {
			o.BaseEndpoint = aws.String(s.endpoint)
		}
	})
	if b.clients == nil {
		b.clients = map[string]*ecr.Client{}
	}
	b.clients[s.key()] = c
	return c, nil
}

// ecr returns the ECR provisioner for r's environment.
func (b *ECRBackend) ecr(ctx context.Context, r *contract.Request, pc *platform.Config) (*ECR, error) {
	s, err := envSettings(r, pc)
	if err != nil {
		return nil, err
	}
	c, err := b.client(ctx, s)
	if err != nil {
		return nil, err
	}
	return NewECR(c, s.cfg), nil
}

func (b *ECRBackend) Describe(r *contract.Request, pc *platform.Config) []plan.Resource {
	s, err := envSettings(r, pc)
	if err != nil {
		return []plan.Resource{{Type: "ECR repository", Name: RepositoryName(r), Settings: []plan.Setting{{Name: "aws backend", Value: err.Error()}}}}
	}
	return NewECR(nil, s.cfg).Describe(r, pc) // Describe makes no calls
}

func (b *ECRBackend) ConfigKey(r *contract.Request, pc *platform.Config) string {
	s, err := envSettings(r, pc)
	if err != nil {
		return "invalid: " + err.Error()
	}
	return NewECR(nil, s.cfg).ConfigKey(r, pc) + "|" + s.key() // and what shapes the client: role, external ID, endpoint
}

func (b *ECRBackend) Apply(ctx context.Context, r *contract.Request, pc *platform.Config, rec reconcile.Recorder) (reconcile.Outputs, error) {
	p, err := b.ecr(ctx, r, pc)
	if err != nil {
		return nil, err
	}
	return p.Apply(ctx, r, pc, rec)
}

func (b *ECRBackend) Delete(ctx context.Context, r *contract.Request, pc *platform.Config, rec reconcile.Recorder) error {
	p, err := b.ecr(ctx, r, pc)
	if err != nil {
		return err
	}
	return p.Delete(ctx, r, pc, rec)
}

// Unsupported stands for a kind the aws backend cannot provision yet: the request is validated and
// recorded, and Apply fails with a permanent error saying so (as local.EKS does for clusters).
type Unsupported struct{ Kind contract.Kind }

var _ reconcile.Provisioner = Unsupported{}

func (u Unsupported) Describe(r *contract.Request, _ *platform.Config) []plan.Resource {
	return []plan.Resource{{Type: string(u.Kind), Name: r.Metadata.Name, Settings: []plan.Setting{
		{Name: "aws backend", Value: "not yet provisionable with backend aws; use backend local for this environment"},
	}}}
}

func (Unsupported) ConfigKey(*contract.Request, *platform.Config) string { return "" }

func (u Unsupported) Apply(_ context.Context, r *contract.Request, _ *platform.Config, _ reconcile.Recorder) (reconcile.Outputs, error) {
	return nil, reconcile.Permanent("NotProvisionableWithAWS",
		"%s is not yet provisionable with backend aws; use backend local for this environment (%s, environment %q)",
		u.Kind, r.ID(), r.Metadata.Environment)
}

func (Unsupported) Delete(context.Context, *contract.Request, *platform.Config, reconcile.Recorder) error {
	return nil // nothing was ever created
}
