// Package aws provisions contract kinds in an AWS account through the AWS SDK for Go v2 (the "aws"
// backend). Each provisioner takes a narrow interface of the SDK calls it makes, so that tests point the
// real SDK client at an emulator.
package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/plan"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/reconcile"
)

// Tag keys goldenpath sets on every AWS resource it creates.
const (
	TagRequestID   = "goldenpath.io/request-id"
	TagOwner       = "goldenpath.io/owner"
	TagTeam        = "goldenpath.io/team"
	TagEnvironment = "goldenpath.io/environment"
	TagApp         = "goldenpath.io/app"
)

// Config is the aws backend's own settings for one environment.
type Config struct {
	Region  string `json:"region"`
	Account string `json:"account,omitempty"` // the account (ECR registry ID) resources go to; empty means the credentials' own
	// AssumeRole, when set, is the role goldenpath assumes (with ExternalID) on top of the SDK's default chain.
	AssumeRole AssumeRole        `json:"assumeRole,omitzero"`
	Tags       map[string]string `json:"tags,omitempty"`   // extra tags on every resource
	KMSKey     string            `json:"kmsKey,omitempty"` // encrypt with this KMS key instead of AES256
}

// AssumeRole is a role goldenpath assumes, with an optional external ID.
type AssumeRole struct {
	ARN        string `json:"arn,omitempty"`
	ExternalID string `json:"externalId,omitempty"`
}

// ECRAPI is the part of *ecr.Client the ECR provisioner calls.
type ECRAPI interface {
	DescribeRepositories(ctx context.Context, in *ecr.DescribeRepositoriesInput, optFns ...func(*ecr.Options)) (*ecr.DescribeRepositoriesOutput, error)
	ListTagsForResource(ctx context.Context, in *ecr.ListTagsForResourceInput, optFns ...func(*ecr.Options)) (*ecr.ListTagsForResourceOutput, error)
	TagResource(ctx context.Context, in *ecr.TagResourceInput, optFns ...func(*ecr.Options)) (*ecr.TagResourceOutput, error)
	CreateRepository(ctx context.Context, in *ecr.CreateRepositoryInput, optFns ...func(*ecr.Options)) (*ecr.CreateRepositoryOutput, error)
	PutImageScanningConfiguration(ctx context.Context, in *ecr.PutImageScanningConfigurationInput, optFns ...func(*ecr.Options)) (*ecr.PutImageScanningConfigurationOutput, error)
	PutImageTagMutability(ctx context.Context, in *ecr.PutImageTagMutabilityInput, optFns ...func(*ecr.Options)) (*ecr.PutImageTagMutabilityOutput, error)
	PutLifecyclePolicy(ctx context.Context, in *ecr.PutLifecyclePolicyInput, optFns ...func(*ecr.Options)) (*ecr.PutLifecyclePolicyOutput, error)
	DeleteLifecyclePolicy(ctx context.Context, in *ecr.DeleteLifecyclePolicyInput, optFns ...func(*ecr.Options)) (*ecr.DeleteLifecyclePolicyOutput, error)
	DeleteRepository(ctx context.Context, in *ecr.DeleteRepositoryInput, optFns ...func(*ecr.Options)) (*ecr.DeleteRepositoryOutput, error)
}

var _ ECRAPI = (*ecr.Client)(nil)

// ECR provisions ECRRequests as ECR repositories.
type ECR struct {
	api ECRAPI
	cfg Config
}

var _ reconcile.Provisioner = (*ECR)(nil)

// NewECR returns the ECR provisioner calling api with the backend settings cfg.
func NewECR(api ECRAPI, cfg Config) *ECR { return &ECR{api: api, cfg: cfg} }

// RepositoryName is the ECR repository of an ECRRequest: "<environment>/<name>", deterministic so that
// a create repeated after a crash finds the repository it made.
func RepositoryName(r *contract.Request) string {
	return r.Metadata.Environment + "/" + r.Metadata.Name
}

// Tags are the tags of every resource of r: the backend's extra tags, then goldenpath's own (which win).
func (c Config) tagsFor(r *contract.Request) map[string]string {
	t := make(map[string]string, len(c.Tags)+5)
	for k, v := range c.Tags {
		t[k] = v
	}
	t[TagRequestID] = string(r.ID())
	t[TagOwner] = r.Metadata.Owner
	t[TagTeam] = r.Metadata.Team
	t[TagEnvironment] = r.Metadata.Environment
	if app := r.Metadata.Labels["app"]; app != "" {
		t[TagApp] = app
	}
	return t
}

func (p *ECR) maxImages(r *contract.Request, cfg *platform.Config) int {
	return cfg.SizeClasses.ECR[r.Spec.Size].MaxImages
}

func mutability(r *contract.Request) types.ImageTagMutability {
	if r.Spec.TagImmutability {
		return types.ImageTagMutabilityImmutable
	}
	return types.ImageTagMutabilityMutable
}

func (p *ECR) encryption() *types.EncryptionConfiguration {
	if p.cfg.KMSKey != "" {
		return &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKms, KmsKey: aws.String(p.cfg.KMSKey)}
	}
	return &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeAes256}
}

// LifecyclePolicy is the ECR lifecycle policy keeping the newest max images ("" when unlimited).
func LifecyclePolicy(max int) string {
	if max <= 0 {
		return ""
	}
	type selection struct {
		TagStatus   string `json:"tagStatus"`
		CountType   string `json:"countType"`
		CountNumber int    `json:"countNumber"`
	}
	type rule struct {
		RulePriority int               `json:"rulePriority"`
		Description  string            `json:"description"`
		Selection    selection         `json:"selection"`
		Action       map[string]string `json:"action"`
	}
	b, _ := json.Marshal(struct {
		Rules []rule `json:"rules"`
	}{Rules: []rule{{RulePriority: 1, Description: "goldenpath: keep the newest " + strconv.Itoa(max) + " images (size class maxImages)",
		Selection: selection{TagStatus: "any", CountType: "imageCountMoreThan", CountNumber: max},
		Action:    map[string]string{"type": "expire"}}}})
	return string(b)
}

func (p *ECR) Describe(r *contract.Request, cfg *platform.Config) []plan.Resource {
	max := "unlimited"
	if n := p.maxImages(r, cfg); n > 0 {
		max = strconv.Itoa(n)
	}
	enc := "AES256"
	if p.cfg.KMSKey != "" {
		enc = "KMS key " + p.cfg.KMSKey
	}
	return []plan.Resource{{Type: "ECR repository", Name: RepositoryName(r), Settings: []plan.Setting{
		{Name: "region", Value: p.cfg.Region},
		{Name: "tag mutability", Value: string(mutability(r))},
		{Name: "scan on push", Value: strconv.FormatBool(r.Spec.ScanOnPush)},
		{Name: "encryption", Value: enc},
		{Name: "max images (lifecycle policy)", Value: max},
	}}}
}

func (p *ECR) ConfigKey(r *contract.Request, cfg *platform.Config) string {
	// The extra tags too: a change re-applies, which tags the repository. (fmt prints maps sorted by key.)
	return fmt.Sprintf("%s|%s|%s|%d|%v", p.cfg.Region, p.cfg.Account, p.cfg.KMSKey, p.maxImages(r, cfg), p.cfg.Tags)
}

// lookup returns the repository named name, or nil when there is none.
func (p *ECR) lookup(ctx context.Context, name string) (*types.Repository, error) {
	in := &ecr.DescribeRepositoriesInput{RepositoryNames: []string{name}}
	if p.cfg.Account != "" {
		in.RegistryId = aws.String(p.cfg.Account)
	}
	out, err := p.api.DescribeRepositories(ctx, in)
	var nf *types.RepositoryNotFoundException
	if errors.As(err, &nf) {
		return nil, nil
	}
	if err != nil {
		return nil, awsError(err, "looking up ECR repository %s", name)
	}
	for i := range out.Repositories {
		if aws.ToString(out.Repositories[i].RepositoryName) == name {
			return &out.Repositories[i], nil
		}
	}
	return nil, nil
}

// tags returns the tags of repo.
func (p *ECR) tags(ctx context.Context, repo *types.Repository) (map[string]string, error) {
	out, err := p.api.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: repo.RepositoryArn})
	if err != nil {
		return nil, awsError(err, "reading the tags of ECR repository %s", aws.ToString(repo.RepositoryName))
	}
	m := make(map[string]string, len(out.Tags))
	for _, t := range out.Tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m, nil
}

func (p *ECR) Apply(ctx context.Context, r *contract.Request, cfg *platform.Config, rec reconcile.Recorder) (reconcile.Outputs, error) {
	name := RepositoryName(r)
	repo, err := p.lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	if repo != nil {
		tags, err := p.tags(ctx, repo)
		if err != nil {
			return nil, err
		}
		if owner := tags[TagRequestID]; owner != string(r.ID()) {
			return nil, nameTaken("ECR repository", name, r, owner)
		}
		if err := p.update(ctx, r, repo, tags, rec); err != nil {
			return nil, err
		}
	} else {
		if err := rec.Step(ctx, "create ECR repository "+name); err != nil {
			return nil, err
		}
		in := &ecr.CreateRepositoryInput{
			RepositoryName:             aws.String(name),
			ImageTagMutability:         mutability(r),
			ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: r.Spec.ScanOnPush},
			EncryptionConfiguration:    p.encryption(),
			Tags:                       sdkTags(p.cfg.tagsFor(r)),
		}
		if p.cfg.Account != "" {
			in.RegistryId = aws.String(p.cfg.Account)
		}
		out, err := p.api.CreateRepository(ctx, in)
		var exists *types.RepositoryAlreadyExistsException
		if errors.As(err, &exists) {
			// Created by someone else between the lookup and now: look again on the next attempt.
			return nil, reconcile.Transient("AWSConflict", err, "ECR repository %s appeared while goldenpath was creating it", name)
		}
		if err != nil {
			return nil, awsError(err, "creating ECR repository %s", name)
		}
		repo = out.Repository
	}
	if err := rec.Step(ctx, "set lifecycle policy of ECR repository "+name); err != nil {
		return nil, err
	}
	if err := p.lifecycle(ctx, name, p.maxImages(r, cfg)); err != nil {
		return nil, err
	}
	return reconcile.Outputs{
		"repository":    name,
		"repositoryUri": aws.ToString(repo.RepositoryUri),
		"repositoryArn": aws.ToString(repo.RepositoryArn),
		"registryId":    aws.ToString(repo.RegistryId),
	}, nil
}

// update makes an adopted repository match the settings that can change after creation. Tags are added or
// changed, never removed: a tag someone else added stays.
func (p *ECR) update(ctx context.Context, r *contract.Request, repo *types.Repository, have map[string]string, rec reconcile.Recorder) error {
	name := aws.ToString(repo.RepositoryName)
	changed := map[string]string{}
	for k, v := range p.cfg.tagsFor(r) {
		if cur, ok := have[k]; !ok || cur != v {
			changed[k] = v
		}
	}
	if len(changed) > 0 {
		if err := rec.Step(ctx, "tag ECR repository "+name); err != nil {
			return err
		}
		if _, err := p.api.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: repo.RepositoryArn, Tags: sdkTags(changed)}); err != nil {
			return awsError(err, "tagging ECR repository %s", name)
		}
	}
	if repo.ImageTagMutability != mutability(r) {
		if err := rec.Step(ctx, "set tag mutability of ECR repository "+name); err != nil {
			return err
		}
		if _, err := p.api.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{RepositoryName: repo.RepositoryName,
			RegistryId: repo.RegistryId, ImageTagMutability: mutability(r)}); err != nil {
			return awsError(err, "setting the tag mutability of ECR repository %s", name)
		}
	}
	if repo.ImageScanningConfiguration == nil || repo.ImageScanningConfiguration.ScanOnPush != r.Spec.ScanOnPush {
		if err := rec.Step(ctx, "set scan on push of ECR repository "+name); err != nil {
			return err
		}
		if _, err := p.api.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{RepositoryName: repo.RepositoryName,
			RegistryId: repo.RegistryId, ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: r.Spec.ScanOnPush}}); err != nil {
			return awsError(err, "setting scan on push of ECR repository %s", name)
		}
	}
	// Encryption cannot change after creation: say so rather than pretend.
	want := p.encryption()
	if got := repo.EncryptionConfiguration; got != nil && (got.EncryptionType != want.EncryptionType || aws.ToString(got.KmsKey) != aws.ToString(want.KmsKey)) {
		rec.Event(ctx, "EncryptionUnchanged", fmt.Sprintf("ECR repository %s is encrypted with %s; AWS cannot change a repository's encryption after creation, so it stays",
			name, got.EncryptionType))
	}
	return nil
}

func (p *ECR) lifecycle(ctx context.Context, name string, max int) error {
	var registry *string
	if p.cfg.Account != "" {
		registry = aws.String(p.cfg.Account)
	}
	policy := LifecyclePolicy(max)
	if policy == "" {
		_, err := p.api.DeleteLifecyclePolicy(ctx, &ecr.DeleteLifecyclePolicyInput{RepositoryName: aws.String(name), RegistryId: registry})
		var nf *types.LifecyclePolicyNotFoundException
		if err != nil && !errors.As(err, &nf) {
			return awsError(err, "removing the lifecycle policy of ECR repository %s", name)
		}
		return nil
	}
	if _, err := p.api.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String(name), RegistryId: registry,
		LifecyclePolicyText: aws.String(policy)}); err != nil {
		return awsError(err, "setting the lifecycle policy of ECR repository %s", name)
	}
	return nil
}

func (p *ECR) Delete(ctx context.Context, r *contract.Request, _ *platform.Config, rec reconcile.Recorder) error {
	name := RepositoryName(r)
	repo, err := p.lookup(ctx, name)
	if err != nil || repo == nil {
		return err
	}
	tags, err := p.tags(ctx, repo)
	if err != nil {
		return err
	}
	if owner := tags[TagRequestID]; owner != string(r.ID()) {
		rec.Event(ctx, "NotDeleted", fmt.Sprintf("ECR repository %s belongs to %s, not this request; goldenpath left it alone", name, ownerOrNobody(owner)))
		return nil
	}
	if err := rec.Step(ctx, "delete ECR repository "+name); err != nil {
		return err
	}
	_, err = p.api.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String(name), RegistryId: repo.RegistryId, Force: true})
	var nf *types.RepositoryNotFoundException
	if err != nil && !errors.As(err, &nf) {
		return awsError(err, "deleting ECR repository %s", name)
	}
	return nil
}

func sdkTags(m map[string]string) []types.Tag {
	out := make([]types.Tag, 0, len(m))
	for k, v := range m {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out
}

func ownerOrNobody(owner string) string {
	if owner == "" {
		return "nobody (it has no " + TagRequestID + " tag: goldenpath did not create it)"
	}
	return owner
}

// nameTaken is the permanent error for a name that exists but was not created for this request.
func nameTaken(what, name string, r *contract.Request, owner string) error {
	return reconcile.Permanent("NameTaken", "%s %q already exists and belongs to %s, not %s; goldenpath will not take it over — rename the request",
		what, name, ownerOrNobody(owner), r.ID())
}

// awsError classifies an SDK error: client faults that a retry cannot fix (access denied, invalid
// parameters, limits) are permanent; everything else (throttling, server faults, the network) is transient.
func awsError(err error, format string, args ...any) error {
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorFault() == smithy.FaultClient {
		switch api.ErrorCode() {
		case "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException":
		default:
			return reconcile.Permanent("AWS"+api.ErrorCode(), format+": %s: %s", append(args, api.ErrorCode(), api.ErrorMessage())...)
		}
	}
	return reconcile.Transient("AWSError", err, format, args...)
}
