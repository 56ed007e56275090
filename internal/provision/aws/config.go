package aws

import (
	"context"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

var (
	accountID = regexp.MustCompile(`^[0-9]{12}$`)
	roleARN   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$`)
)

// Validate checks the settings; field names are those of the backend's block in platform.yaml.
func (c Config) Validate() error {
	if c.Region == "" {
		return fmt.Errorf("region: required (e.g. eu-west-1)")
	}
	if c.Account != "" && !accountID.MatchString(c.Account) {
		return fmt.Errorf("account: %q is not an AWS account ID (12 digits)", c.Account)
	}
	if c.AssumeRole.ARN != "" && !roleARN.MatchString(c.AssumeRole.ARN) {
		return fmt.Errorf("assumeRole.arn: %q is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)", c.AssumeRole.ARN)
	}
	if c.AssumeRole.ExternalID != "" && c.AssumeRole.ARN == "" {
		return fmt.Errorf("assumeRole.externalId: set without assumeRole.arn")
	}
	return nil
}

// AWSConfig loads the SDK configuration: the default credential chain (IRSA and EKS Pod Identity in a
// cluster, profiles and environment variables on a laptop), then the configured role assumed on top of it.
// Extra options (e.g. an endpoint for tests) are applied to the loading.
func (c Config) AWSConfig(ctx context.Context, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	if err := c.Validate(); err != nil {
		return aws.Config{}, err
	}
	cfg, err := config.LoadDefaultConfig(ctx, append([]func(*config.LoadOptions) error{config.WithRegion(c.Region)}, opts...)...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if c.AssumeRole.ARN != "" {
		p := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), c.AssumeRole.ARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "goldenpath"
			if c.AssumeRole.ExternalID != "" {
				o.ExternalID = aws.String(c.AssumeRole.ExternalID)
			}
		})
		cfg.Credentials = aws.NewCredentialsCache(p)
	}
	return cfg, nil
}
